# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Energy of a quantized model (QKeras's ``qtools.qenergy``), in pJ.

Costs follow Horowitz (ISSCC 2014, 45 nm) through the polynomials of
``settings.cfg``. Per layer, four components are estimated:

* ``inputs``: reading each input tensor, ``memory_read_energy``;
* ``outputs``: writing the output tensor, ``memory_write_energy``;
* ``parameters``: reading weights/bias (or the BN statistics),
  ``parameter_read_energy``;
* ``op_cost``: the arithmetic, ``operation_count`` times the cost of one
  operation (see ``layer_op_energy``).

A tensor of ``n`` values of ``b`` bits holds ``T = n * b`` bits. With
``L = log2(max(T, min_sram_size))`` and SRAM accessed in 64-bit words:

  sram access = ceil(T / 64) * sram_rd(L)
  dram access = dram_rd(T) = 20.3125 * T

``OP`` always reflects the *current* ``settings.cfg``: every lookup reads the
settings object (also after ``cfg.update(...)`` or after ``settings.cfg`` is
replaced). QKeras built its table once at import, so its polynomials followed
the settings but its ``mul_factor`` entries did not.
"""

import collections.abc
import math

import keras
import numpy as np

from qkeras.qtools import settings

ACTIVATION_LAYERS = ("QActivation", "QAdaptiveActivation", "Activation")
BN_LAYERS = ("QBatchNormalization", "BatchNormalization")
MERGE_LAYERS = ("Add", "Multiply", "Subtract")
SEPARABLE_LAYERS = ("QSeparableConv1D", "QSeparableConv2D", "SeparableConv1D",
                    "SeparableConv2D")
RNN_LAYERS = ("QSimpleRNN", "QLSTM", "QGRU", "SimpleRNN", "LSTM", "GRU",
              "QBidirectional", "Bidirectional")
AVERAGE_POOLING_LAYERS = ("AveragePooling2D", "AvgPool2D", "GlobalAvgPool2D",
                          "GlobalAveragePooling2D", "QAveragePooling2D",
                          "QGlobalAveragePooling2D")
# QKeras priced the folded layers, QAveragePooling2D/QGlobalAveragePooling2D
# and transposed convolutions at 0 (they were missing from its lists); here
# they cost what their data-type map entries describe.
FOLDED_LAYERS = ("QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm")
MAC_LAYERS = ("QConv2D", "QConv1D", "QDepthwiseConv2D", "QDense", "Conv2D",
              "Conv1D", "DepthwiseConv2D", "Dense", "QConv2DTranspose",
              "Conv2DTranspose") + FOLDED_LAYERS
# Layers whose weights/bias are read as parameters (QKeras's QKERAS_LAYERS +
# KERAS_LAYERS, and the folded layers).
WEIGHT_LAYERS = ("QDense", "QConv1D", "QConv2D", "QDepthwiseConv2D",
                 "QConv2DTranspose", "Dense", "Conv1D", "Conv2D",
                 "DepthwiseConv2D", "Conv2DTranspose") + FOLDED_LAYERS

# Bit-level operations of fixed-point hardware, all priced as an adder.
_FPM_ADDER_LIKE = ("add", "mux", "xor", "and", "or", "shifter")


def _clamped(config, name):
  """``x -> max(config.<name>(x), 0)``, reading the polynomial per call."""
  def cost(x):
    return max(float(getattr(config, name)(x)), 0.0)
  return cost


def make_op_table(config):
  """The operation/memory cost table for a ``settings.ConfigClass``.

  ``table[kind][op](bits)`` in pJ, kind in ``fp32``, ``fp16``, ``fpm``
  (fixed point), ``sram``, ``dram``; every cost is clamped at >= 0.
  ``fpm`` prices ``add, mux, xor, and, or, shifter`` as ``fpm_add`` and
  ``mul`` as ``fpm_mul``; memories have ``rd`` = ``wr`` and ``mul_factor``
  (bits -> accesses).
  """
  table = {
      "fp32": {"add": _clamped(config, "fp32_add"),
               "mul": _clamped(config, "fp32_mul")},
      "fp16": {"add": _clamped(config, "fp16_add"),
               "mul": _clamped(config, "fp16_mul")},
      "fpm": {op: _clamped(config, "fpm_add") for op in _FPM_ADDER_LIKE},
      "sram": {"rd": _clamped(config, "sram_rd"),
               "wr": _clamped(config, "sram_rd"),
               "mul_factor": config.sram_mul_factor},
      "dram": {"rd": _clamped(config, "dram_rd"),
               "wr": _clamped(config, "dram_rd"),
               "mul_factor": config.dram_mul_factor},
  }
  table["fpm"]["mul"] = _clamped(config, "fpm_mul")
  return table


class _CurrentOpTable(collections.abc.Mapping):
  """``OP[kind]`` built from ``settings.cfg`` at the time of the lookup."""

  def _table(self):
    return make_op_table(settings.cfg)

  def __getitem__(self, kind):
    return self._table()[kind]

  def __iter__(self):
    return iter(self._table())

  def __len__(self):
    return len(self._table())

  def __repr__(self):
    return f"OP({sorted(self._table())})"


OP = _CurrentOpTable()


def get_op_type(quantizer):
  """``"fp<bits>"`` for a floating-point quantizer, else ``"fpm"``."""
  if quantizer.is_floating_point:
    return "fp" + str(quantizer.bits)
  return "fpm"


def _op_cost(quantizer, op, bits):
  """``OP[get_op_type(quantizer)][op](bits)``, with a clear error."""
  kind = get_op_type(quantizer)
  table = make_op_table(settings.cfg)
  if kind not in table or op not in table[kind]:
    raise ValueError(
        f"QTools energy: no cost for operation {op!r} on {kind!r} data "
        f"(quantizer {quantizer!r}).")
  return table[kind][op](bits)


def _num_elements(shape, owner="shape"):
  """Number of values of a shape (a tuple/list of ints, or one int)."""
  dims = [shape] if np.isscalar(shape) else list(shape)
  if any(d is None for d in dims):
    raise ValueError(
        f"QTools energy: {owner} must be fully known, got {tuple(dims)}.")
  return math.prod(int(d) for d in dims)


def _sram_access(total_bits, min_sram_size):
  """``ceil(T * sram_mul_factor) * sram_rd(log2(max(T, min_sram_size)))``."""
  if total_bits <= 0:
    return 0.0
  words = math.ceil(total_bits * OP["sram"]["mul_factor"])
  return words * OP["sram"]["rd"](np.log2(max(total_bits, min_sram_size)))


def _total_bits(tensor_shape, quantizer_bits, is_tensor):
  """``prod(shape[1:]) * bits`` for a tensor (batch dropped), else
  ``prod(shape) * bits``."""
  if is_tensor:
    tensor_shape = tuple(tensor_shape)[1:]
  return _num_elements(tensor_shape) * quantizer_bits


def _memory_energy(access, is_io_layer, total_bits, mode, min_sram_size,
                   rd_wr_on_io):
  """``total_bits`` read (``access="rd"``) or written (``"wr"``) in
  ``mode`` memory; a model input/output layer uses DRAM when
  ``rd_wr_on_io``, else SRAM. DRAM with ``rd_wr_on_io`` also moves the
  data through SRAM (one 64-bit-word access each)."""
  if is_io_layer:
    mode = "dram" if rd_wr_on_io else "sram"
  if mode == "dram":
    energy = OP["dram"][access](total_bits)
    if rd_wr_on_io:
      energy += _sram_access(total_bits, min_sram_size)
    return energy
  if mode == "sram":
    return _sram_access(total_bits, min_sram_size)
  return 0.0


def memory_read_energy(is_input_layer, tensor_shape, mode, min_sram_size,
                       rd_wr_on_io, quantizer_bits, is_tensor=True):
  """Energy to read a tensor (or, ``is_tensor=False``, a parameter array).

  ``mode`` is where it lives: ``"dram"`` costs ``dram_rd(T)`` plus, with
  ``rd_wr_on_io``, the SRAM write ``ceil(T/64) * sram_wr(L)``; ``"sram"``
  costs ``ceil(T/64) * sram_rd(L)``; anything else (``"fixed"``) costs 0.
  The input of a model input layer comes from DRAM when ``rd_wr_on_io``,
  else from SRAM, whatever ``mode`` says.
  """
  return _memory_energy(
      "rd", is_input_layer, _total_bits(tensor_shape, quantizer_bits,
                                        is_tensor),
      mode, min_sram_size, rd_wr_on_io)


def memory_write_energy(is_output_layer, tensor_shape, mode, min_sram_size,
                        rd_wr_on_io, quantizer_bits):
  """Energy to write an output tensor; the mirror of ``memory_read_energy``.

  ``"dram"``: ``dram_wr(T)`` plus, with ``rd_wr_on_io``, the SRAM read
  ``ceil(T/64) * sram_rd(L)``; ``"sram"``: ``ceil(T/64) * sram_wr(L)``; else
  0. A model output layer writes to DRAM when ``rd_wr_on_io``, else to SRAM.
  """
  return _memory_energy(
      "wr", is_output_layer, _total_bits(tensor_shape, quantizer_bits, True),
      mode, min_sram_size, rd_wr_on_io)


def _get(layer_item, key):
  """``layer_item[key]`` (dict entry) or ``layer_item.key`` (namedtuple);
  None when absent."""
  if isinstance(layer_item, dict):
    return layer_item.get(key)
  return getattr(layer_item, key, None)


def parameter_read_energy(layer, layer_item, weights_on_memory, min_sram_size,
                          rd_wr_on_io):
  """Energy to read a layer's parameters from ``weights_on_memory``.

  Batch normalization: one array of ``C = len(layer.get_weights()[0])``
  values per present gamma/beta/mean/variance quantizer. Weight layers
  (``WEIGHT_LAYERS``): the kernel, ``prod(w_shapes) * w_bits`` bits, plus
  the bias, ``b_shapes * b_bits`` bits, when there is a bias quantizer.
  Other layers: 0.
  """
  name = layer.__class__.__name__
  energy = 0.0

  def read(shape, quantizer):
    return memory_read_energy(False, shape, weights_on_memory, min_sram_size,
                              rd_wr_on_io, quantizer.bits, is_tensor=False)

  if name in BN_LAYERS:
    weights = layer.get_weights()
    if not weights:
      return energy
    channels = len(weights[0])
    for key in ("gamma_quantizer", "beta_quantizer", "mean_quantizer",
                "variance_quantizer"):
      quantizer = _get(layer_item, key)
      if quantizer is not None:
        energy += read(channels, quantizer)
  elif name in RNN_LAYERS:
    for key, shape_key in (("weight_quantizer", "w_shapes"),
                           ("recurrent_quantizer", "recurrent_shapes"),
                           ("bias_quantizer", "b_shapes")):
      quantizer = _get(layer_item, key)
      if quantizer is not None and _get(layer_item, shape_key):
        energy += read(_get(layer_item, shape_key), quantizer)
  elif name in SEPARABLE_LAYERS:
    for key in ("depthwise", "pointwise"):
      quantizer = _get(layer_item, key + "_quantizer")
      if quantizer is not None:
        energy += read(_get(layer_item, key + "_shapes"), quantizer)
    bias_quantizer = _get(layer_item, "bias_quantizer")
    if bias_quantizer is not None:
      energy += read(_get(layer_item, "b_shapes"), bias_quantizer)
  elif name in WEIGHT_LAYERS:
    weight_quantizer = _get(layer_item, "weight_quantizer")
    if weight_quantizer is not None:
      energy += read(_get(layer_item, "w_shapes"), weight_quantizer)
    bias_quantizer = _get(layer_item, "bias_quantizer")
    if bias_quantizer is not None:
      energy += read(_get(layer_item, "b_shapes"), bias_quantizer)
  return energy


def _gate_energy(operator):
  """``gate_factor * OP[type(output)][implemented_as()](gate_bits)`` for a
  multiplier/divider/merge operator."""
  return operator.gate_factor * _op_cost(
      operator.output, operator.implemented_as(), operator.gate_bits)


def _add_energy(accumulator):
  """One addition at the accumulator's output width."""
  return _op_cost(accumulator.output, "add", accumulator.output.bits)


def layer_op_energy(layer, layer_item):
  """Arithmetic energy of one layer (``operation_count`` = N):

  * activations: 0;
  * batch normalization: ``N * (divider + multiplier)`` gate energies;
  * Add/Multiply/Subtract: ``(n_inputs - 1) * N * merge gate energy``;
  * (Global)AveragePooling2D: ``N * add(accumulator bits)``;
  * Conv1D/Conv2D/DepthwiseConv2D/Dense (and Q versions):
    ``N * (multiplier gate energy + add(accumulator bits))``;
  * separable convolutions: that for the depthwise and the pointwise step,
    each with its own operation count;
  * recurrent layers: the input and the recurrent products (each with its
    multiplier) and one addition per product;
  * every other layer: 0.
  """
  name = layer.__class__.__name__
  count = _get(layer_item, "operation_count") or 0
  if name in BN_LAYERS:
    energy = 0.0
    for key in ("internal_divide_quantizer", "internal_multiplier"):
      operator = _get(layer_item, key)
      if operator is not None:
        energy += _gate_energy(operator)
    return count * energy
  if name in MERGE_LAYERS:
    merger = _get(layer_item, "multiplier")
    if merger is None:
      return 0.0
    inputs = len(_get(layer_item, "input_quantizer_list") or [])
    return max(inputs - 1, 0) * count * _gate_energy(merger)
  if name in AVERAGE_POOLING_LAYERS:
    accumulator = _get(layer_item, "pool_sum_accumulator")
    if accumulator is None:
      accumulator = _get(layer_item, "accumulator")
    if accumulator is None:
      return 0.0
    energy = count * _add_energy(accumulator)
    multiplier = _get(layer_item, "pool_avg_multiplier")
    shapes = _get(layer_item, "output_shapes")
    if multiplier is not None and shapes is not None:
      # One multiplication by average_quantizer(1/A) per output value.
      energy += _num_elements(tuple(shapes)[1:]) * _gate_energy(multiplier)
    return energy
  if name in RNN_LAYERS:
    if _get(layer_item, "recurrent_multiplier") is None:
      return 0.0
    inputs = _get(layer_item, "input_operation_count")
    recurrent = _get(layer_item, "recurrent_operation_count")
    return (inputs * _gate_energy(_get(layer_item, "multiplier")) +
            recurrent * _gate_energy(_get(layer_item, "recurrent_multiplier"))
            + (inputs + recurrent) * _add_energy(
                _get(layer_item, "accumulator")))
  if name in SEPARABLE_LAYERS:
    if _get(layer_item, "depthwise_multiplier") is None:
      return 0.0
    return (_get(layer_item, "depthwise_operation_count") * (
        _gate_energy(_get(layer_item, "depthwise_multiplier")) +
        _add_energy(_get(layer_item, "depthwise_accumulator"))) +
            _get(layer_item, "pointwise_operation_count") * (
                _gate_energy(_get(layer_item, "multiplier")) +
                _add_energy(_get(layer_item, "accumulator"))))
  if name in MAC_LAYERS:
    multiplier = _get(layer_item, "multiplier")
    accumulator = _get(layer_item, "accumulator")
    if multiplier is None or accumulator is None:
      return 0.0
    return count * (_gate_energy(multiplier) + _add_energy(accumulator))
  return 0.0


def _input_shapes(layer):
  """Shapes of the tensors of the layer's first call."""
  try:
    inputs = layer.input
  except (AttributeError, ValueError, RuntimeError):
    return []
  return [tuple(t.shape) for t in keras.tree.flatten(inputs)]


def _walk_layers(model):
  """The model's layers in ``model.layers`` order, nested models expanded
  (the nested model itself is listed too, before its layers)."""
  for layer in model.layers:
    yield layer
    if isinstance(layer, keras.Model):
      yield from _walk_layers(layer)


def _layers_in_order(model, layer_data_type_map):
  """The layers of the map: in model order, then any others in map order."""
  ordered = [l for l in _walk_layers(model) if l in layer_data_type_map]
  seen = set(id(l) for l in ordered)
  ordered += [l for l in layer_data_type_map if id(l) not in seen]
  return ordered


def _round2(value):
  return round(float(value), 2)


def energy_estimate(model, layer_map, weights_on_memory, activations_on_memory,
                    min_sram_size, rd_wr_on_io):
  """Energy per layer of ``layer_map`` (``generate_layer_data_type_map``).

  Returns ``{layer_name: {"class_name": ..., "energy": {"inputs",
  "outputs", "parameters", "op_cost"}}, ..., "total_cost": int}``; each
  component is rounded to 2 decimals and ``total_cost`` is ``int`` of the
  unrounded sum over all layers and components. Activations (input and
  output tensors) live in ``activations_on_memory``, parameters in
  ``weights_on_memory`` (``"dram"``, ``"sram"`` or ``"fixed"``).
  """
  input_layers = layer_map["input_layers"]
  output_layers = layer_map["output_layers"]
  layer_data_type_map = layer_map["layer_data_type_map"]

  result = {}
  total = 0.0
  for layer in _layers_in_order(model, layer_data_type_map):
    layer_item = layer_data_type_map[layer]
    is_input_layer = any(layer is l for l in input_layers)
    is_output_layer = any(layer is l for l in output_layers)

    inputs = 0.0
    quantizers = _get(layer_item, "input_quantizer_list") or []
    for shape, quantizer in zip(_input_shapes(layer), quantizers):
      inputs += memory_read_energy(is_input_layer, shape, activations_on_memory,
                                   min_sram_size, rd_wr_on_io, quantizer.bits)

    output_quantizer = _get(layer_item, "output_quantizer")
    output_shapes = _get(layer_item, "output_shapes")
    outputs = 0.0
    if output_quantizer is not None and output_shapes is not None:
      outputs = memory_write_energy(is_output_layer, output_shapes,
                                    activations_on_memory, min_sram_size,
                                    rd_wr_on_io, output_quantizer.bits)

    parameters = parameter_read_energy(layer, layer_item, weights_on_memory,
                                       min_sram_size, rd_wr_on_io)
    op_cost = layer_op_energy(layer, layer_item)

    result[layer.name] = {
        "class_name": layer.__class__.__name__,
        "energy": {"inputs": _round2(inputs), "outputs": _round2(outputs),
                   "parameters": _round2(parameters),
                   "op_cost": _round2(op_cost)},
    }
    total += inputs + outputs + parameters + op_cost

  result["total_cost"] = int(total)
  return result
