# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Quantized recurrent layers: ``QSimpleRNN``, ``QLSTM``, ``QGRU`` (and their
cells) and ``QBidirectional``, on Keras 3's RNN machinery.

Every cell quantizes its kernel, recurrent kernel and bias from float shadow
weights in each step (``kernel_quantizer``, ``recurrent_quantizer``,
``bias_quantizer``) and the previous state(s) with ``state_quantizer``; the
activations default to QKeras's ``quantized_tanh()`` and (LSTM/GRU gates)
QKeras's ``hard_sigmoid`` (slope 0.5). Masks, ``return_sequences``,
``return_state``, ``go_backwards``, ``stateful`` and dropout come from
``keras.layers.RNN``.
"""

import warnings

import keras
from keras import ops

from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import apply_quantizer
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import quantization_config
from qkeras.qlayers import register_layer
from qkeras.qlayers import serialize_activation

__all__ = [
    "QSimpleRNNCell", "QSimpleRNN", "QLSTMCell", "QLSTM", "QGRUCell", "QGRU",
    "QBidirectional",
]

class _QCellMixin(QLayerMixin):
  """Quantizers of a recurrent cell: kernel, recurrent, bias and state."""

  _quantizer_names = ("kernel_quantizer", "recurrent_quantizer",
                      "bias_quantizer", "state_quantizer")
  _weight_quantizers = ("kernel_quantizer", "recurrent_quantizer")
  _constrained_weights = {"kernel": None, "recurrent": None,
                          "bias": "use_bias"}
  _activation_names = ("activation",)

  def _prepare_arguments(self, owner, arguments):
    """``implementation=0`` (deprecated) is ``implementation=1``."""
    super()._prepare_arguments(owner, arguments)
    if arguments.get("implementation") == 0:
      arguments["implementation"] = 1

  def _weights(self, training):
    """The quantized kernel, recurrent kernel and bias (None without).

    Inside a ``QSimpleRNN``/``QLSTM``/``QGRU`` call they are quantized once
    per sequence (``_sequence_weights``), not in every time step.
    """
    cached = getattr(self, "_sequence_weights", None)
    if cached is not None:
      return cached
    kernel = self._quantize("kernel_quantizer", self.kernel, training)
    recurrent = self._quantize("recurrent_quantizer", self.recurrent_kernel,
                               training)
    bias = None
    if self.use_bias:
      bias = self._quantize("bias_quantizer", self.bias, training)
    return kernel, recurrent, bias

  def _blocks(self, training):
    """The quantized weights as lists of per-gate column blocks.

    ``_split_gates`` of ``_weights``; inside a ``QLSTM``/``QGRU`` call the
    blocks are cut once per sequence (``_sequence_blocks``), so that the
    time steps neither slice the weights nor scatter their gradients back.
    """
    cached = getattr(self, "_sequence_blocks", None)
    if cached is not None:
      return cached
    return self._split_gates(self._weights(training))

  def _split_gates(self, weights):
    """``weights`` cut into the column blocks ``call`` uses (none here)."""
    return weights

  def _columns(self, w, blocks):
    """``w[..., a*units:b*units]`` for each ``(a, b)`` in ``blocks`` (None:
    to the end)."""
    u = self.units
    return [w[..., a * u:None if b is None else b * u] for a, b in blocks]

  def _state(self, state, training):
    return self._quantize("state_quantizer", state, training)

  def _dropout(self, inputs, states, training):
    """The input and recurrent dropout masks in training (else None)."""
    if not training:
      return None, None
    dp_mask = self.get_dropout_mask(inputs) if 0.0 < self.dropout < 1.0 else (
        None)
    rec_mask = (self.get_recurrent_dropout_mask(states)
                if 0.0 < self.recurrent_dropout < 1.0 else None)
    return dp_mask, rec_mask

  def _act(self, name, x, training):
    fn = getattr(self, name)
    return x if fn is None else apply_quantizer(fn, x, training)

  def get_config(self):
    config = super().get_config()
    for name in self._activation_names:
      config[name] = serialize_activation(getattr(self, name))
    return config


# ==========================================================================
# Cells.
# ==========================================================================
@register_layer
class QSimpleRNNCell(_QCellMixin, keras.layers.SimpleRNNCell):
  """Quantized ``SimpleRNNCell``.

  ``h = activation(x @ q_k(kernel) + q_b(bias) + q_s(h_prev) @ q_r(rec))``.
  """

  def __init__(self, units, activation="quantized_tanh", use_bias=True,
               kernel_initializer="glorot_uniform",
               recurrent_initializer="orthogonal", bias_initializer="zeros",
               kernel_regularizer=None, recurrent_regularizer=None,
               bias_regularizer=None, kernel_constraint=None,
               recurrent_constraint=None, bias_constraint=None,
               kernel_quantizer=None, recurrent_quantizer=None,
               bias_quantizer=None, state_quantizer=None, dropout=0.0,
               recurrent_dropout=0.0, **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def call(self, sequence, states, training=False):
    prev_output = states[0] if isinstance(states, (list, tuple)) else states
    dp_mask, rec_mask = self._dropout(sequence, prev_output, training)
    prev_output = self._state(prev_output, training)
    kernel, recurrent, bias = self._weights(training)
    if dp_mask is not None:
      sequence = sequence * dp_mask
    h = ops.matmul(sequence, kernel)
    if bias is not None:
      h = ops.add(h, bias)
    if rec_mask is not None:
      prev_output = prev_output * rec_mask
    output = self._act("activation", h + ops.matmul(prev_output, recurrent),
                       training)
    new_state = [output] if isinstance(states, (list, tuple)) else output
    return output, new_state


@register_layer
class QLSTMCell(_QCellMixin, keras.layers.LSTMCell):
  """Quantized ``LSTMCell``; ``state_quantizer`` quantizes both ``h`` and
  ``c`` of the previous step. ``unit_forget_bias`` is honoured (QKeras
  always used True)."""

  _activation_names = ("activation", "recurrent_activation")
  _own_names = ("implementation",)

  def __init__(self, units, activation="quantized_tanh",
               recurrent_activation="hard_sigmoid", use_bias=True,
               kernel_initializer="glorot_uniform",
               recurrent_initializer="orthogonal", bias_initializer="zeros",
               unit_forget_bias=True, kernel_regularizer=None,
               recurrent_regularizer=None, bias_regularizer=None,
               kernel_constraint=None, recurrent_constraint=None,
               bias_constraint=None, kernel_quantizer=None,
               recurrent_quantizer=None, bias_quantizer=None,
               state_quantizer=None, dropout=0.0, recurrent_dropout=0.0,
               implementation=1, **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def _split_gates(self, weights):
    if self.implementation != 1:  # the fused products take whole weights
      return weights
    kernel, recurrent, bias = weights
    gates = [(i, i + 1) for i in range(4)]
    return (self._columns(kernel, gates), self._columns(recurrent, gates),
            None if bias is None else self._columns(bias, gates))

  def call(self, inputs, states, training=False):
    h_tm1 = self._state(states[0], training)
    c_tm1 = self._state(states[1], training)
    dp_mask, rec_mask = self._dropout(inputs, h_tm1, training)
    if dp_mask is not None:
      inputs = inputs * dp_mask
    if rec_mask is not None:
      h_tm1 = h_tm1 * rec_mask
    if self.implementation == 1:
      # Per-gate products, as QKeras's implementation 1.
      kernel, recurrent, bias = self._blocks(training)
      x = [ops.matmul(inputs, kernel[i]) for i in range(4)]
      if bias is not None:
        x = [x[i] + bias[i] for i in range(4)]
      rec = [ops.matmul(h_tm1, recurrent[i]) for i in range(4)]
      z = [x[i] + rec[i] for i in range(4)]
    else:
      kernel, recurrent, bias = self._weights(training)
      fused = ops.matmul(inputs, kernel) + ops.matmul(h_tm1, recurrent)
      if bias is not None:
        fused = fused + bias
      z = ops.split(fused, 4, axis=1)
    i = self._act("recurrent_activation", z[0], training)
    f = self._act("recurrent_activation", z[1], training)
    c = f * c_tm1 + i * self._act("activation", z[2], training)
    o = self._act("recurrent_activation", z[3], training)
    h = o * self._act("activation", c, training)
    return h, [h, c]


@register_layer
class QGRUCell(_QCellMixin, keras.layers.GRUCell):
  """Quantized ``GRUCell`` (``reset_after=False`` by default, as QKeras).

  Without a ``recurrent_quantizer`` the float recurrent kernel is used
  (QKeras used the input kernel there).
  """

  _activation_names = ("activation", "recurrent_activation")
  _own_names = ("implementation",)

  def __init__(self, units, activation="quantized_tanh",
               recurrent_activation="hard_sigmoid", use_bias=True,
               kernel_initializer="glorot_uniform",
               recurrent_initializer="orthogonal", bias_initializer="zeros",
               kernel_regularizer=None, recurrent_regularizer=None,
               bias_regularizer=None, kernel_constraint=None,
               recurrent_constraint=None, bias_constraint=None,
               kernel_quantizer=None, recurrent_quantizer=None,
               bias_quantizer=None, state_quantizer=None, dropout=0.0,
               recurrent_dropout=0.0, implementation=1, reset_after=False,
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def _split_gates(self, weights):
    """Kernel, recurrent kernel, input bias and recurrent bias blocks (the
    recurrent ones: z, r and the candidate's columns to the end)."""
    kernel, recurrent, bias = weights
    gates = [(0, 1), (1, 2), (2, 3)]
    rec_gates = [(0, 1), (1, 2), (2, None)]
    if bias is None:
      input_bias = recurrent_bias = None
    elif self.reset_after:
      input_bias = self._columns(bias[0], gates)
      recurrent_bias = self._columns(bias[1], rec_gates)
    else:
      input_bias, recurrent_bias = self._columns(bias, gates), None
    return (self._columns(kernel, gates), self._columns(recurrent, rec_gates),
            input_bias, recurrent_bias)

  def call(self, inputs, states, training=False):
    h_prev = states[0] if isinstance(states, (list, tuple)) else states
    dp_mask, rec_mask = self._dropout(inputs, h_prev, training)
    h_tm1 = self._state(h_prev, training)
    kernel, recurrent, input_bias, recurrent_bias = self._blocks(training)
    if dp_mask is not None:
      inputs = inputs * dp_mask
    h_in = h_tm1 if rec_mask is None else h_tm1 * rec_mask
    x = [ops.matmul(inputs, kernel[i]) for i in range(3)]
    if input_bias is not None:
      x = [x[i] + input_bias[i] for i in range(3)]
    rec = [ops.matmul(h_in, recurrent[i]) for i in range(2)]
    if recurrent_bias is not None:
      rec = [rec[i] + recurrent_bias[i] for i in range(2)]
    z = self._act("recurrent_activation", x[0] + rec[0], training)
    r = self._act("recurrent_activation", x[1] + rec[1], training)
    if self.reset_after:
      recurrent_h = ops.matmul(h_in, recurrent[2])
      if recurrent_bias is not None:
        recurrent_h = recurrent_h + recurrent_bias[2]
      recurrent_h = r * recurrent_h
    else:
      recurrent_h = ops.matmul(r * h_in, recurrent[2])
    hh = self._act("activation", x[2] + recurrent_h, training)
    h = z * h_tm1 + (1 - z) * hh
    new_state = [h] if isinstance(states, (list, tuple)) else h
    return h, new_state


# ==========================================================================
# Layers.
# ==========================================================================
_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful",
             "unroll")
# Keras-2 RNN config keys without a Keras 3 equivalent (no effect).
_LEGACY_RNN_KEYS = ("time_major",)


class _QRNNBase(keras.layers.RNN):
  """A Keras RNN around a Q cell, with QKeras's flat configuration."""

  _cell_class = None

  def __init__(self, args, kwargs):
    owner = f"{type(self).__name__}(name={kwargs.get('name')!r})"
    for key in _LEGACY_RNN_KEYS:
      kwargs.pop(key, None)
    if "implementation" in args and args["implementation"] == 0:
      warnings.warn(f"{owner}: `implementation=0` has been deprecated, and "
                    "now defaults to `implementation=1`.", DeprecationWarning,
                    stacklevel=3)
      args["implementation"] = 1
    rnn_args = {k: args.pop(k) for k in _RNN_ARGS}
    activity_regularizer = args.pop("activity_regularizer")
    cell_kwargs = {k: kwargs[k] for k in ("dtype", "seed") if k in kwargs}
    kwargs.pop("seed", None)
    cell = self._cell_class(**args, **cell_kwargs)
    super().__init__(cell, activity_regularizer=activity_regularizer,
                     **rnn_args, **kwargs)
    self.input_spec = keras.layers.InputSpec(ndim=3)

  def call(self, sequences, initial_state=None, mask=None, training=False):
    # The weights do not change within a sequence: quantize them once, unless
    # a stochastic quantizer should draw anew in every step of training.
    stochastic = training and any(
        getattr(q, "_may_be_stochastic", lambda: False)()
        for q in self.cell.get_quantizers()[:3] if q is not None)
    weights = None if stochastic else self.cell._weights(training)
    self.cell._sequence_weights = weights
    self.cell._sequence_blocks = (None if weights is None else
                                  self.cell._split_gates(weights))
    try:
      return super().call(sequences, initial_state=initial_state, mask=mask,
                          training=training)
    finally:
      self.cell._sequence_weights = None
      self.cell._sequence_blocks = None

  def get_quantizers(self):
    return self.cell.get_quantizers()

  def get_prunable_weights(self):
    return [self.cell.kernel, self.cell.recurrent_kernel]

  def get_quantization_config(self):
    cell = self.cell
    return quantization_config(cell, cell._quantizer_names +
                               cell._activation_names)

  def get_config(self):
    config = super().get_config()
    del config["cell"]
    cell_config = self.cell.get_config()
    for key in ("name", "trainable", "dtype", "seed"):
      cell_config.pop(key, None)
    config.update(cell_config)
    config["activity_regularizer"] = keras.regularizers.serialize(
        self.activity_regularizer)
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    for key in _LEGACY_RNN_KEYS:
      config.pop(key, None)
    return cls(**config)


def _delegate(cls, names):
  """Read-only properties that return the cell's attribute of that name."""
  for name in names:
    setattr(cls, name, property(lambda self, n=name: getattr(self.cell, n)))
  return cls


_CELL_PROPERTIES = (
    "units", "activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
) + _QCellMixin._quantizer_names + tuple(
    n + "_internal" for n in _QCellMixin._quantizer_names)


@register_layer
class QSimpleRNN(_QRNNBase):
  """Quantized ``SimpleRNN`` (a ``keras.layers.RNN`` of ``QSimpleRNNCell``)."""

  _cell_class = QSimpleRNNCell

  def __init__(self, units, activation="quantized_tanh", use_bias=True,
               kernel_initializer="glorot_uniform",
               recurrent_initializer="orthogonal", bias_initializer="zeros",
               kernel_regularizer=None, recurrent_regularizer=None,
               bias_regularizer=None, activity_regularizer=None,
               kernel_constraint=None, recurrent_constraint=None,
               bias_constraint=None, kernel_quantizer=None,
               recurrent_quantizer=None, bias_quantizer=None,
               state_quantizer=None, dropout=0.0, recurrent_dropout=0.0,
               return_sequences=False, return_state=False, go_backwards=False,
               stateful=False, unroll=False, **kwargs):
    kwargs.pop("implementation", None)  # Keras-2 configs carry it
    args = constructor_arguments(locals())
    super().__init__(args, kwargs)


@register_layer
class QLSTM(_QRNNBase):
  """Quantized ``LSTM`` (a ``keras.layers.RNN`` of ``QLSTMCell``)."""

  _cell_class = QLSTMCell

  def __init__(self, units, activation="quantized_tanh",
               recurrent_activation="hard_sigmoid", use_bias=True,
               kernel_initializer="glorot_uniform",
               recurrent_initializer="orthogonal", bias_initializer="zeros",
               unit_forget_bias=True, kernel_regularizer=None,
               recurrent_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               recurrent_constraint=None, bias_constraint=None,
               kernel_quantizer=None, recurrent_quantizer=None,
               bias_quantizer=None, state_quantizer=None, dropout=0.0,
               recurrent_dropout=0.0, implementation=1,
               return_sequences=False, return_state=False, go_backwards=False,
               stateful=False, unroll=False, **kwargs):
    args = constructor_arguments(locals())
    super().__init__(args, kwargs)


@register_layer
class QGRU(_QRNNBase):
  """Quantized ``GRU`` (``reset_after=False`` by default, as QKeras)."""

  _cell_class = QGRUCell

  def __init__(self, units, activation="quantized_tanh",
               recurrent_activation="hard_sigmoid", use_bias=True,
               kernel_initializer="glorot_uniform",
               recurrent_initializer="orthogonal", bias_initializer="zeros",
               kernel_regularizer=None, recurrent_regularizer=None,
               bias_regularizer=None, activity_regularizer=None,
               kernel_constraint=None, recurrent_constraint=None,
               bias_constraint=None, kernel_quantizer=None,
               recurrent_quantizer=None, bias_quantizer=None,
               state_quantizer=None, dropout=0.0, recurrent_dropout=0.0,
               implementation=1, return_sequences=False, return_state=False,
               go_backwards=False, stateful=False, unroll=False,
               reset_after=False, **kwargs):
    args = constructor_arguments(locals())
    super().__init__(args, kwargs)


for _cls in (QSimpleRNN, QLSTM, QGRU):
  _delegate(_cls, _CELL_PROPERTIES)
_delegate(QLSTM, ("recurrent_activation", "unit_forget_bias",
                  "implementation"))
_delegate(QGRU, ("recurrent_activation", "reset_after", "implementation"))


@register_layer
class QBidirectional(keras.layers.Bidirectional):
  """``Bidirectional`` with QKeras's quantizer accessors.

  ``layer`` (Keras 2's attribute, which QKeras code reads) is the forward
  layer: Keras 3 keeps no other copy of the wrapped layer (Keras 2's was the
  unbuilt layer as given, the forward layer a copy of it).
  """

  @property
  def layer(self):
    """The wrapped (forward) layer; read-only, the same object as
    ``forward_layer``, so it adds no weights and nothing to saved files."""
    return self.forward_layer

  def __setattr__(self, name, value):
    # Checked before Keras tracks ``value`` as a sublayer.
    if name == "layer":
      raise AttributeError(
          f"QBidirectional(name={self.name!r}): 'layer' is read-only (it is "
          "forward_layer).")
    super().__setattr__(name, value)

  def get_quantizers(self):
    return (self.forward_layer.get_quantizers() +
            self.backward_layer.get_quantizers())

  @property
  def activation(self):
    return self.forward_layer.activation

  def get_quantization_config(self):
    return {"layer": self.forward_layer.get_quantization_config(),
            "backward_layer": self.backward_layer.get_quantization_config()}
