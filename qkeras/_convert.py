# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Converting models: quantizing, batch-norm folding, cloning.

``model_quantize`` makes a quantized copy of a float Keras model;
``convert_to_folded_model`` / ``unfold_model`` remove batch norms for
folding and turn folded layers back into plain Q-layers; ``clone_model`` and
``clone_model_and_freeze_auto_po2_scale`` copy quantized models. Each
returns a new model and leaves the one it is given unchanged. A model
reader: imports only foundations, quantizers, layers and the other readers
(``_graph``, ``_export``, ``_io``).

``model_quantize``: the model is cloned layer by layer; each Keras layer that has a Q
counterpart and a matching entry in ``quantizer_config`` is rebuilt as that
Q-layer from its own config plus the quantizers, every other layer is copied
as it is. Entries are looked up by layer name first, then by the Q class
name (``"QDense"``), then by the Keras class name (``"Dense"``), then (for
layers with weights) under ``"default"``.
"""

import copy
import inspect
import re
import warnings

import keras
import numpy as np

from qkeras import _export
from qkeras import _graph
from qkeras import _io
from qkeras import _qmath
from qkeras import quantizers
from qkeras.qconv2d_batchnorm import QConv2DBatchnorm
from qkeras.qconvolutional import (
  QConv1D,
  QConv2D,
  QConv2DTranspose,
  QDepthwiseConv2D,
  QSeparableConv1D,
  QSeparableConv2D,
)
from qkeras.qdense_batchnorm import QDenseBatchnorm
from qkeras.qdepthwiseconv2d_batchnorm import QDepthwiseConv2DBatchnorm
from qkeras.qlayers import QActivation, QAdaptiveActivation, QDense
from qkeras.qlayers import serialize_quantizer
from qkeras.qnormalization import QBatchNormalization
from qkeras.qpooling import QAveragePooling2D, QGlobalAveragePooling2D
from qkeras.qrecurrent import QGRU, QLSTM, QBidirectional, QSimpleRNN

L = keras.layers

# Keras class -> (Q class, its weight quantizer arguments). A layer is
# converted only when the first argument (for separable convolutions: one of
# the first two) gets a quantizer, as in QKeras.
_WEIGHT_LAYERS = {
    L.Dense: (QDense, ("kernel_quantizer", "bias_quantizer")),
    L.Conv1D: (QConv1D, ("kernel_quantizer", "bias_quantizer")),
    L.Conv2D: (QConv2D, ("kernel_quantizer", "bias_quantizer")),
    L.Conv2DTranspose: (QConv2DTranspose,
                        ("kernel_quantizer", "bias_quantizer")),
    L.DepthwiseConv2D: (QDepthwiseConv2D,
                        ("depthwise_quantizer", "bias_quantizer")),
    L.SeparableConv1D: (QSeparableConv1D, ("depthwise_quantizer",
                                           "pointwise_quantizer",
                                           "bias_quantizer")),
    L.SeparableConv2D: (QSeparableConv2D, ("depthwise_quantizer",
                                           "pointwise_quantizer",
                                           "bias_quantizer")),
}
_FOLDED = {L.Conv2D: QConv2DBatchnorm,
           L.DepthwiseConv2D: QDepthwiseConv2DBatchnorm}
_RNN = {L.SimpleRNN: QSimpleRNN, L.LSTM: QLSTM, L.GRU: QGRU}
_POOLING = {L.AveragePooling2D: QAveragePooling2D,
            L.GlobalAveragePooling2D: QGlobalAveragePooling2D}
_RNN_QUANTIZERS = ("kernel_quantizer", "recurrent_quantizer",
                   "bias_quantizer", "state_quantizer")
_BN_QUANTIZERS = ("gamma_quantizer", "beta_quantizer", "mean_quantizer",
                  "variance_quantizer", "inverse_quantizer")

# Config keys naming a class: the Q class and the Keras class of every
# convertible layer.
_CLASS_KEYS = {cls.__name__: q.__name__ for cls, (q, _) in
               _WEIGHT_LAYERS.items()}
_CLASS_KEYS.update({cls.__name__: q.__name__ for cls, q in _RNN.items()})
_CLASS_KEYS.update({cls.__name__: q.__name__ for cls, q in _POOLING.items()})
_CLASS_KEYS.update({"Bidirectional": "QBidirectional",
                    "BatchNormalization": "QBatchNormalization"})
_ACTIVATION_KEYS = ("QActivation", "QAdaptiveActivation")
ALLOWED_CLASS_KEYS = frozenset(
    set(_CLASS_KEYS) | set(_CLASS_KEYS.values()) | set(_ACTIVATION_KEYS) |
    {"QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm", "default"})

# Entry fields (besides quantizers) and the short names QKeras's docstring
# uses; "kernel" also serves depthwise and pointwise kernels.
_NON_QUANTIZER_FIELDS = ("folding_mode", "ema_freeze_delay")
_ALIASES = {
    "kernel_quantizer": ("kernel_quantizer", "kernel"),
    "depthwise_quantizer": ("depthwise_quantizer", "depthwise",
                            "kernel_quantizer", "kernel"),
    "pointwise_quantizer": ("pointwise_quantizer", "pointwise",
                            "kernel_quantizer", "kernel"),
    "bias_quantizer": ("bias_quantizer", "bias"),
    "recurrent_quantizer": ("recurrent_quantizer", "recurrent"),
    "state_quantizer": ("state_quantizer", "state"),
    "activation_quantizer": ("activation_quantizer", "activation"),
    "recurrent_activation_quantizer": ("recurrent_activation_quantizer",
                                       "recurrent_activation"),
    "average_quantizer": ("average_quantizer", "average"),
}
_FIELDS = frozenset(
    {alias for names in _ALIASES.values() for alias in names} |
    set(_BN_QUANTIZERS) | set(_NON_QUANTIZER_FIELDS))

_QUANTIZED_ACTIVATIONS = {"relu": "quantized_relu", "tanh": "quantized_tanh",
                          "sigmoid": "quantized_sigmoid"}


def quantize_activation(layer_config, activation_bits):
  """Replaces a float activation in ``layer_config`` (in place) by its
  quantized version: relu -> ``quantized_relu(bits)``, tanh ->
  ``quantized_tanh(bits)``, sigmoid -> ``quantized_sigmoid(bits)``; others
  (linear, softmax, ...) stay."""
  activation = layer_config.get("activation")
  if activation is None:
    return
  if isinstance(activation, str):
    name = activation
  else:
    name = getattr(activation, "__name__", type(activation).__name__)
  if name in _QUANTIZED_ACTIVATIONS:
    layer_config["activation"] = (
        f"{_QUANTIZED_ACTIVATIONS[name]}({activation_bits})")


class _Conversion:
  """One ``model_quantize`` call: the config, lookups and bookkeeping."""

  def __init__(self, quantizer_config, activation_bits,
               prefer_qadaptiveactivation, fold_pairs):
    self.config = quantizer_config
    self.bits = activation_bits
    self.prefer_adaptive = prefer_qadaptiveactivation
    self.fold_pairs = fold_pairs        # conv name -> removed BN layer
    self.converted = []                 # (old layer, new layer)
    self.unsupported = []               # "name (Class)"

  # -- lookups ---------------------------------------------------------------

  def entry(self, name, *class_keys, default=False):
    for key in (name,) + class_keys:
      if key in self.config:
        return self.config[key]
    return self.config.get("default") if default else None

  @staticmethod
  def field(entry, name):
    if not isinstance(entry, dict):
      return None
    for alias in _ALIASES.get(name, (name,)):
      if alias in entry:
        value = entry[alias]
        return copy.deepcopy(value) if not isinstance(value, str) else value
    return None

  def activation(self, entry, config):
    quantizer = self.field(entry, "activation_quantizer")
    if quantizer:
      config["activation"] = quantizer
    else:
      quantize_activation(config, self.bits)

  # -- per layer kind --------------------------------------------------------

  def weight_layer(self, layer):
    q_class, fields = _WEIGHT_LAYERS[type(layer)]
    keras_name = type(layer).__name__
    bn = self.fold_pairs.get(layer.name)
    entry = self.entry(layer.name, q_class.__name__, keras_name,
                       default=True)
    config = layer.get_config()
    if bn is not None:
      folded = _FOLDED[type(layer)]
      folded_entry = self.entry(layer.name, folded.__name__)
      values = {f: self.field(folded_entry, f) for f in fields}
      if values[fields[0]] is None:
        values = {f: self.field(entry, f) for f in fields}
      config.update(_folding_config(bn, folded_entry, self.field))
      config["use_bias"] = True
      entry = folded_entry if folded_entry is not None else entry
      q_class = folded
    else:
      values = {f: self.field(entry, f) for f in fields}
    if not config.get("use_bias", True):
      values["bias_quantizer"] = None
    if all(values[f] is None for f in fields[:-1]):
      return None
    config.update(values)
    self.activation(entry, config)
    return q_class.from_config(config)

  def rnn_layer(self, layer, entry=None):
    q_class = _RNN[type(layer)]
    if entry is None:
      entry = self.entry(layer.name, q_class.__name__,
                         type(layer).__name__, default=True)
    values = {f: self.field(entry, f) for f in _RNN_QUANTIZERS}
    if values["kernel_quantizer"] is None:
      return None
    config = layer.get_config()
    if not config.get("use_bias", True):
      values["bias_quantizer"] = None
    config.update(values)
    self.activation(entry, config)
    recurrent = self.field(entry, "recurrent_activation_quantizer")
    if recurrent and "recurrent_activation" in config:
      config["recurrent_activation"] = recurrent
    return q_class.from_config(config)

  def bidirectional(self, layer):
    if type(layer.forward_layer) not in _RNN:
      return None
    entry = self.entry(layer.name, "QBidirectional", "Bidirectional",
                       default=True)
    forward = self.rnn_layer(layer.forward_layer, entry)
    if forward is None:
      return None
    backward = self.rnn_layer(layer.backward_layer, entry)
    config = layer.get_config()
    return QBidirectional(forward, merge_mode=config["merge_mode"],
                          backward_layer=backward, name=layer.name,
                          trainable=layer.trainable, dtype=config["dtype"])

  def _activation_quantizer(self, name):
    keys = (["QAdaptiveActivation", "QActivation"] if self.prefer_adaptive
            else ["QActivation", "QAdaptiveActivation"])
    for key in keys:
      quantizer = self.entry(name, key)
      if quantizer is not None:
        return quantizer, key == "QAdaptiveActivation"
    return None, False

  def activation_layer(self, layer):
    config = layer.get_config()
    activation = config["activation"]
    quantizer, adaptive = self._activation_quantizer(layer.name)
    if quantizer is None:
      return None
    if isinstance(quantizer, dict):
      if not isinstance(activation, str) or not quantizer.get(activation):
        return None
      quantizer = quantizer[activation]
    base = _base_config(config)
    if not quantizer:
      quantize_activation(config, self.bits)
      return QActivation(activation=config["activation"], **base)
    if adaptive:
      return _adaptive_activation(layer.name, quantizer, base)
    return QActivation(activation=quantizer, **base)

  def relu_layer(self, layer):
    quantizer = self.entry(layer.name, "QActivation")
    if quantizer is None:
      return None
    slope = float(layer.get_config().get("negative_slope", 0.0))
    key = "leakyrelu" if slope > 0 else "relu"
    if isinstance(quantizer, dict):
      if not quantizer.get(key):
        return None
      quantizer = quantizer[key]
    if not quantizer:
      quantizer = (f"quantized_relu({self.bits},0,0,{slope!r})" if slope > 0
                   else f"quantized_relu({self.bits})")
    return QActivation(activation=quantizer,
                       **_base_config(layer.get_config()))

  def batchnorm_layer(self, layer):
    entry = self.entry(layer.name, "QBatchNormalization",
                       "BatchNormalization")
    if entry is None:
      return None
    config = layer.get_config()
    for name in _BN_QUANTIZERS:
      config[name] = self.field(entry, name)
    return QBatchNormalization.from_config(config)

  def pooling_layer(self, layer):
    q_class = _POOLING[type(layer)]
    entry = self.entry(layer.name, q_class.__name__, type(layer).__name__)
    average = self.field(entry, "average_quantizer")
    if average is None:
      return None
    config = layer.get_config()
    config["average_quantizer"] = average
    config["activation"] = self.field(entry, "activation_quantizer")
    return q_class.from_config(config)

  def convert(self, layer):
    """The Q-layer for ``layer``, or None to copy it unchanged."""
    kind = type(layer)
    if kind in _WEIGHT_LAYERS:
      return self.weight_layer(layer)
    if kind in _RNN:
      return self.rnn_layer(layer)
    if kind is L.Bidirectional:
      return self.bidirectional(layer)
    if kind is L.Activation:
      return self.activation_layer(layer)
    if kind in (L.ReLU, L.LeakyReLU):
      return self.relu_layer(layer)
    if kind is L.BatchNormalization:
      return self.batchnorm_layer(layer)
    if kind in _POOLING:
      return self.pooling_layer(layer)
    return None

  def clone(self, layer):
    """``keras.models.clone_model``'s clone function."""
    if isinstance(layer, keras.Model):
      new = _quantize_model(layer, self)
      self.converted.append((layer, new))
      return new
    try:
      new = self.convert(layer)
    except ValueError as e:
      raise ValueError(f"model_quantize: layer {layer.name!r} "
                       f"({type(layer).__name__}): {e}") from None
    if new is None:
      if _is_unsupported(layer, type(layer) in _HANDLED):
        self.unsupported.append(f"{layer.name} ({type(layer).__name__})")
      new = layer.__class__.from_config(layer.get_config())
    self.converted.append((layer, new))
    return new


_HANDLED = (set(_WEIGHT_LAYERS) | set(_RNN) | set(_POOLING) |
            {L.Bidirectional, L.Activation, L.ReLU, L.LeakyReLU,
             L.BatchNormalization})


def _base_config(config):
  """What a layer replaced by a ``QActivation`` keeps of its config."""
  return {k: config[k] for k in ("name", "trainable", "dtype")}


def _is_unsupported(layer, handled):
  """A float layer with weights that has no Q counterpart."""
  return (not handled and not hasattr(layer, "get_quantizers") and
          bool(layer.weights))


def _folding_config(bn, entry, field):
  bn_config = bn.get_config()
  config = {k: bn_config[k] for k in (
      "axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
      "gamma_initializer", "moving_mean_initializer",
      "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
      "beta_constraint", "gamma_constraint") if k in bn_config}
  config["folding_mode"] = field(entry, "folding_mode") or "ema_stats_folding"
  config["ema_freeze_delay"] = field(entry, "ema_freeze_delay") or None
  return config


def _adaptive_activation(name, quantizer, base):
  """QAdaptiveActivation from ``"quantized_relu(4)"``: bits from its
  digits, the activation from its name (QKeras's rule)."""
  if not isinstance(quantizer, str) or "," in quantizer:
    raise ValueError(
        f"model_quantize: QAdaptiveActivation entry for layer {name!r} must "
        "be a quantizer with only its number of bits, such as "
        f"'quantized_relu(4)', got {quantizer!r}.")
  total_bits = int(re.sub(r"[^\d]", "", quantizer))
  activation = re.sub(r"\(.*", "", quantizer).strip()
  return QAdaptiveActivation(activation=activation, total_bits=total_bits,
                             **base)


def _quantize_model(model, conversion):
  return keras.models.clone_model(model, clone_function=conversion.clone)


def _transfer(old, new, fold_pairs):
  """Copies ``old``'s weights into its quantized copy ``new``."""
  if isinstance(old, keras.Model) or not old.weights or not new.weights:
    return
  bn = fold_pairs.get(old.name)
  if bn is None:
    new.set_weights(old.get_weights())
    return
  source = {v.name: v for v in old.weights + bn.weights}
  for variable in new.weights:
    if variable.name in source:
      # A copy: on JAX, assigning the variable itself would share its buffer
      # with the float model, and a train step (which donates it) would
      # delete the float model's weight.
      variable.assign(_qmath.to_numpy(source[variable.name]))
    elif variable.name == "bias":
      variable.assign(np.zeros(variable.shape, variable.dtype))


def _check_config(quantizer_config, model):
  """Every key names a layer or a class, every quantizer string parses."""
  if not isinstance(quantizer_config, dict):
    raise ValueError("model_quantize: argument 'quantizer_config' must be a "
                     f"dict, got {type(quantizer_config).__name__}.")
  names = _layer_names(model)
  for key, entry in quantizer_config.items():
    if key not in names and key not in ALLOWED_CLASS_KEYS:
      raise ValueError(
          f"model_quantize: quantizer_config key {key!r} names no layer of "
          f"model {model.name!r} and no class model_quantize converts "
          f"(classes: {', '.join(sorted(ALLOWED_CLASS_KEYS))}).")
    activation_entry = key in _ACTIVATION_KEYS or isinstance(
        names.get(key), (L.Activation, L.ReLU, L.LeakyReLU))
    _check_entry(key, entry, activation_entry)


def _check_entry(key, entry, activation_entry):
  if entry is None:
    return
  if isinstance(entry, str):
    if entry == "" and activation_entry:
      return  # the activation_bits default
    if not activation_entry:
      raise ValueError(
          f"model_quantize: quantizer_config[{key!r}] must be a dict of "
          f"quantizers (e.g. {{'kernel_quantizer': ...}}), got {entry!r}.")
    _check_quantizer(f"quantizer_config[{key!r}]", entry)
    return
  if not isinstance(entry, dict):
    raise ValueError(f"model_quantize: quantizer_config[{key!r}] must be a "
                     f"dict or a quantizer string, got {entry!r}.")
  for field, value in entry.items():
    where = f"quantizer_config[{key!r}][{field!r}]"
    if not activation_entry and field not in _FIELDS:
      raise ValueError(f"model_quantize: {where}: unknown field; allowed: "
                       f"{', '.join(sorted(_FIELDS))}.")
    if field not in _NON_QUANTIZER_FIELDS and value:
      _check_quantizer(where, value)


def _check_quantizer(where, value):
  try:
    quantizers.get_quantizer(value)
  except ValueError as e:
    raise ValueError(f"model_quantize: {where} = {value!r} is not a valid "
                     f"quantizer: {e}") from None


def _layer_names(model):
  names = {}
  for layer in model.layers:
    names[layer.name] = layer
    if isinstance(layer, keras.Model):
      names.update(_layer_names(layer))
  return names


def model_quantize(model, quantizer_config, activation_bits,
                   custom_objects=None, transfer_weights=False,
                   prefer_qadaptiveactivation=False,
                   enable_bn_folding=False):
  """A quantized copy of ``model``.

  ``quantizer_config`` maps layer names, Q class names (``"QDense"``,
  ``"QConv2D"``, ``"QActivation"``, ...), Keras class names (``"Dense"``)
  or ``"default"`` to the quantizers of the layers they match (in that
  order of priority)::

      {"conv2d_1": {"kernel_quantizer": "stochastic_binary",
                    "bias_quantizer": "quantized_po2(4)"},
       "QDense": {"kernel_quantizer": "quantized_bits(4,0,1)",
                  "bias_quantizer": "quantized_bits(4)"},
       "QActivation": {"relu": "binary"},
       "act_2": "quantized_relu(3)",
       "QBatchNormalization": {}}

  * Dense, Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D,
    SeparableConv1D/2D become Q-layers when their entry gives the kernel
    quantizer (``depthwise_quantizer`` / ``pointwise_quantizer`` for
    separable ones; a ``kernel_quantizer`` entry serves both); the
    activation becomes ``activation_quantizer`` or, without one, the
    ``activation_bits`` version of relu/tanh/sigmoid.
  * SimpleRNN, LSTM, GRU (and Bidirectional, whose entry serves both
    directions) likewise with ``kernel``/``recurrent``/``bias``/``state``
    quantizers and ``recurrent_activation_quantizer``.
  * Activation, ReLU and LeakyReLU layers become ``QActivation`` (or
    ``QAdaptiveActivation``, preferred with ``prefer_qadaptiveactivation``)
    when an entry exists: a quantizer string, or a dict keyed by activation
    name (``"relu"``, ``"leakyrelu"``, ``"tanh"``, ...) so that only those
    activations change; an empty string means the ``activation_bits``
    default.
  * BatchNormalization becomes ``QBatchNormalization`` when its name or
    ``"QBatchNormalization"`` is a key; missing quantizers are None.
  * AveragePooling2D / GlobalAveragePooling2D when ``average_quantizer`` is
    given.
  * ``"default"``: a dict of weight quantizers for every layer with weights
    that has no entry of its own (short names ``"kernel"``, ``"bias"``,
    ... are accepted).

  Other layers are copied; layers with weights that have no Q counterpart
  are listed in one warning. Nested models are converted too. With
  ``transfer_weights`` the new model gets the model's weights; with
  ``enable_bn_folding`` a Conv2D/DepthwiseConv2D followed only by a
  BatchNormalization becomes ``QConv2DBatchnorm`` /
  ``QDepthwiseConv2DBatchnorm`` (``folding_mode``, ``ema_freeze_delay``
  from its entry) taking the batch norm's parameters. The model itself is
  not changed.
  """
  del custom_objects  # classes are registered with Keras
  if not isinstance(model, keras.Model):
    raise ValueError("model_quantize: argument 'model' must be a Keras "
                     f"model, got {type(model).__name__}.")
  _check_config(quantizer_config, model)
  pairs = {}
  if enable_bn_folding:
    pairs = fold_pairs(model)
    if pairs:
      model, _ = convert_to_folded_model(model)
  conversion = _Conversion(quantizer_config, activation_bits,
                           prefer_qadaptiveactivation, pairs)
  qmodel = _quantize_model(model, conversion)
  if conversion.unsupported:
    warnings.warn(
        "model_quantize: these layers have no quantized counterpart and are "
        "copied unquantized: " + ", ".join(conversion.unsupported) + ".",
        stacklevel=2)
  if transfer_weights:
    for old, new in conversion.converted:
      _transfer(old, new, pairs)
  return qmodel


# ---------------------------------------------------------------------------
# Batch-norm folding and unfolding.
# ---------------------------------------------------------------------------


_FOLDABLE = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def fold_pairs(model):
  """``{conv_name: bn_layer}``: every float ``Conv2D`` / ``DepthwiseConv2D``
  (exactly those classes) whose output goes to a single
  ``BatchNormalization``."""
  return _graph.single_successor_pairs(model, _FOLDABLE,
                                       keras.layers.BatchNormalization)


def convert_to_folded_model(model):
  """Removes the batch norms that follow a convolution, for folding.

  Finds every float ``Conv2D`` / ``DepthwiseConv2D`` (exactly those classes)
  whose output goes to a single ``BatchNormalization`` and returns
  ``(new_model, layers_to_fold)``: a copy of the model without those batch
  norms (the convolution feeds the batch norm's consumers directly) and the
  names of the convolutions. ``model_quantize(..., enable_bn_folding=True)``
  turns them into ``QConv2DBatchnorm`` / ``QDepthwiseConv2DBatchnorm``. The
  original model is not changed.
  """
  model = _graph.functional(model)
  pairs = fold_pairs(model)
  skipped_bn = {bn.name for bn in pairs.values()}

  def call(layer, *args, **kwargs):
    if layer.name in skipped_bn:
      return args[0]
    return layer(*args, **kwargs)

  new_model = keras.models.clone_model(
      model, clone_function=lambda l: l.__class__.from_config(l.get_config()),
      call_function=call)
  for layer in model.layers:
    if layer.name not in skipped_bn and layer.weights:
      new_model.get_layer(layer.name).set_weights(layer.get_weights())
  return new_model, list(pairs)


_UNFOLDED = {
    QConv2DBatchnorm: QConv2D,
    QDepthwiseConv2DBatchnorm: QDepthwiseConv2D,
    QDenseBatchnorm: QDense,
}
_BASE_LAYER_KEYS = ("name", "trainable", "dtype")


def is_folded(layer):
  """Whether ``layer`` is a batch-norm-folded layer (``QConv2DBatchnorm``,
  ``QDepthwiseConv2DBatchnorm`` or ``QDenseBatchnorm``)."""
  return type(layer) in _UNFOLDED


def convert_folded_layer_to_unfolded(layer):
  """The plain Q-layer (with a bias) that a folded layer becomes."""
  cls = _UNFOLDED[type(layer)]
  accepted = set(inspect.signature(cls.__init__).parameters)
  accepted.update(_BASE_LAYER_KEYS)
  config = {k: v for k, v in layer.get_config().items() if k in accepted}
  config["use_bias"] = True
  return cls.from_config(config)


def unfolded_layer(layer, input_shape):
  """The plain Q-layer (same name) a folded layer becomes, built for
  ``input_shape`` and carrying its ``get_folded_weights()``: what
  ``unfold_model`` puts in its place (in inference, the same outputs bit for
  bit). For the exporters, which hand one layer at a time to other tools."""
  plain = convert_folded_layer_to_unfolded(layer)
  plain.build(tuple(input_shape))
  plain.set_weights([keras.ops.convert_to_numpy(w)
                     for w in layer.get_folded_weights()])
  return plain


def unfold_model(model):
  """A copy of ``model`` with every folded layer replaced by its plain
  Q-layer carrying ``get_folded_weights()``; other layers are copied with
  their weights. Works on functional and Sequential models."""

  def clone(layer):
    if is_folded(layer):
      return convert_folded_layer_to_unfolded(layer)
    return layer.__class__.from_config(layer.get_config())

  new_model = keras.models.clone_model(model, clone_function=clone)
  for old, new in zip(model.layers, new_model.layers):
    weights = old.get_folded_weights() if is_folded(old) else old.weights
    new.set_weights([keras.ops.convert_to_numpy(w) for w in weights])
  return new_model


# ---------------------------------------------------------------------------
# Quantizer-config lookup and cloning.
# ---------------------------------------------------------------------------


def get_config(quantizer_config, layer, layer_class, parameter=None):
  """QKeras's lookup: the entry of ``quantizer_config`` for the layer
  description ``layer`` (a ``{"config": {"name": ...}}`` dict, as in a
  model's JSON, or a layer) -- by layer name, else by ``layer_class`` --
  and, with ``parameter``, that field of it (None when missing)."""
  if isinstance(layer, dict):
    name = layer.get("config", {}).get("name", layer.get("name"))
  else:
    name = layer.name
  quantizer = quantizer_config.get(name, quantizer_config.get(layer_class))
  if quantizer is not None and parameter is not None:
    quantizer = quantizer.get(parameter) if isinstance(quantizer, dict) else None
  return quantizer


def clone_model(model, custom_objects=None):
  """A copy of ``model`` (same layers, configs and weights, new variables),
  through its JSON description as in QKeras."""
  clone = _io.quantized_model_from_json(model.to_json(), custom_objects)
  clone.set_weights(model.get_weights())
  return clone


_FREEZE_LAYERS = ("QConv2D", "QDepthwiseConv2D", "QDense",
                  "QBatchNormalization")


def _is_auto_po2(quantizer):
  return (isinstance(quantizer, quantizers.quantized_bits) and
          isinstance(quantizer.alpha, str) and quantizer.alpha == "auto_po2")


def _auto_po2_arguments(layer):
  return [name for name in getattr(layer, "_quantizer_names", ())
          if _is_auto_po2(getattr(layer, name + "_internal"))]


def _computed_scale(layer, argument):
  """The scale ``layer``'s auto_po2 quantizer ``argument`` gives its
  weight (BatchNormalization: gamma / sqrt(variance + eps))."""
  quantizer = getattr(layer, argument + "_internal")
  if argument == "inverse_quantizer":
    _export.bn_inverse(layer)
  else:
    for _, weight, q in _export.weights_and_quantizers(layer):
      if q is quantizer:
        _export.quantize_weight(q, weight)
  return np.asarray(keras.ops.convert_to_numpy(quantizer.scale)).tolist()


def clone_model_and_freeze_auto_po2_scale(orig_model=None,
                                          orig_model_path=None,
                                          quantize_model_weights=False):
  """A copy of the model whose ``auto_po2`` scales are frozen.

  In every ``QConv2D``, ``QDepthwiseConv2D``, ``QDense`` and
  ``QBatchNormalization`` the (at most one) ``quantized_bits`` with
  ``alpha="auto_po2"`` is replaced by the same quantizer with
  ``post_training_scale`` set to the scale its current weights give, so the
  model computes the same outputs with fixed scales. Give exactly one of
  ``orig_model`` and ``orig_model_path`` (loaded with ``load_qmodel``).
  Returns ``(new_model, hardware weights or None)``: with
  ``quantize_model_weights`` the new model's
  ``model_save_quantized_weights`` result, checked to equal the original's.
  """
  if (orig_model is None) == (orig_model_path is None):
    raise ValueError("clone_model_and_freeze_auto_po2_scale: give exactly one "
                     "of 'orig_model' and 'orig_model_path'.")
  if orig_model is None:
    orig_model = _io.load_qmodel(orig_model_path, compile=False)

  def clone(layer):
    config = layer.get_config()
    if type(layer).__name__ in _FREEZE_LAYERS:
      arguments = _auto_po2_arguments(layer)
      if len(arguments) > 1:
        raise ValueError(f"{layer.name} has more than one auto_po2 quantizer "
                         f"({', '.join(arguments)}).")
      for argument in arguments:
        quantizer = serialize_quantizer(
            getattr(layer, argument + "_internal"))
        quantizer["config"]["post_training_scale"] = _computed_scale(
            layer, argument)
        config[argument] = quantizer
    return layer.__class__.from_config(config)

  new_model = keras.models.clone_model(orig_model, clone_function=clone)
  new_model.set_weights(orig_model.get_weights())
  for layer in _graph.flat_layers(new_model):
    if type(layer).__name__ in _FREEZE_LAYERS:
      for argument in _auto_po2_arguments(layer):
        if getattr(layer, argument + "_internal").post_training_scale is None:
          raise ValueError(f"{layer.name}: {argument} is still auto_po2 "
                           "without a frozen scale.")
  if not quantize_model_weights:
    return new_model, None
  before = _export.model_save_quantized_weights(orig_model)
  after = _export.model_save_quantized_weights(new_model)
  for name, entry in before.items():
    for key in ("weights", "scales"):
      for a, b in zip(entry.get(key, []), after[name].get(key, [])):
        if not np.array_equal(np.asarray(a), np.asarray(b)):
          raise ValueError(f"No Match: {name} {key} differ after freezing.")
  return new_model, after
