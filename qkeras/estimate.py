# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QKeras's legacy statistics of quantized models (``qkeras.estimate``).

``print_qstats(model)`` prints, for every ``QDense`` / ``QConv1D`` /
``QConv2D`` / ``QDepthwiseConv2D`` / ``QSeparableConv1D`` /
``QSeparableConv2D``, the number of multiply-accumulate operations and their
kind (e.g. ``smult_4_8``: signed multiplier, 4-bit weights times 8-bit
inputs), the number of weights and their bits, the weight sparsity and
(not in QKeras) how much of each weight its quantizer zeroes or clips.
The kind of an operation comes from the weight quantizer and the quantizer
that produced the layer's input (``get_operation_type``). Model inputs count
as ``quantized_relu(8, 0)``.

``check_quantizer_collapse(model)`` returns those fractions per layer and
weight and warns (``qkeras.QuantizerCollapseWarning``) where more than 90%
of a weight tensor quantizes to zero or to the clip limits.

``analyze_accumulator`` / ``analyze_accumulator_from_sample`` estimate the
accumulator bits of each dense/convolution layer from its weights and the
range of its inputs.

Nothing here changes the model. Batch-norm-folded layers
(``QConv2DBatchnorm``, ``QDepthwiseConv2DBatchnorm``, ``QDenseBatchnorm``)
count as the plain layer ``unfold_model`` makes of them: their folded
weights, with a bias. Layers of nested models are counted too.
"""

import collections
import logging

import keras
import numpy as np

from qkeras import _graph
from qkeras import _validate as V
from qkeras._convert import is_folded
from qkeras._export import get_model_sparsity
from qkeras import quantizers as qz
from qkeras.qconvolutional import QConv1D, QConv2D, QDepthwiseConv2D
from qkeras import qlayers
from qkeras.qlayers import QActivation, QAdaptiveActivation, QDense

logger = logging.getLogger(__name__)

__all__ = [
  "analyze_accumulator",
  "analyze_accumulator_from_sample",
  "check_quantizer_collapse",
  "create_activation_cache",
  "extract_model_operations",
  "get_model_sparsity",
  "get_operation_type",
  "get_quant_mode",
  "print_qstats",
]

# ---------------------------------------------------------------------------
# Quantizer modes and operation types.
# ---------------------------------------------------------------------------

# Modes: 0 fixed point, 1 power of two, 2 ternary, 3 binary (-1, +1),
# 4 binary (0, 1) -- each quantizer's ``format.mode`` -- and 5 float.
_FLOAT_MODE = (5, 32, 1)

# The hardware operation of weight mode (row) times input mode (column).
_OPERATION_TABLE = (
    ("mult", "barrel", "mux", "mux", "mux", "fmult"),
    ("barrel", "adder", "mux", "xor", "mux", "fmult"),
    ("mux", "mux", "mux", "mux", "xor", "fmult"),
    ("mux", "xor", "mux", "xor", "xor", "fmult"),
    ("mux", "mux", "xor", "xor", "xor", "fmult"),
    ("fmult", "fmult", "fmult", "fmult", "fmult", "fmult"),
)


def get_quant_mode(quant):
  """``(mode, bits, sign)`` of a quantizer.

  Modes: 0 fixed point (``quantized_bits``, ``quantized_relu``,
  ``quantized_ulaw``, ``quantized_tanh``), 1 power of two
  (``quantized_po2``, ``quantized_relu_po2``), 2 ternary (``ternary``,
  ``stochastic_ternary``, and a 2-bit fixed-point quantizer with
  ``integer == 1``), 3 binary -1/+1 (``binary``, ``stochastic_binary``;
  ``use_01`` is not looked at), 4 binary 0/1 (``bernoulli``, and
  ``quantized_relu`` with ``bits == integer == 1``), 5 float (None or the
  ``linear`` activation: ``(5, 32, 1)``). ``sign`` is 0 for
  ``bernoulli``, ``quantized_relu`` and ``quantized_relu_po2``, else 1.

  ``quant`` is a quantizer object or a quantizer string
  (``"quantized_bits(4,0,1)"``). Anything else raises
  ``ValueError("Quantizer ... Not Found")``.
  """
  if isinstance(quant, str) and quant:
    quant = qz.get_quantizer(quant)
  if not quant or getattr(quant, "__name__", None) == "linear":
    return _FLOAT_MODE
  fmt = quant.format if isinstance(quant, qz.BaseQuantizer) else None
  if fmt is None or fmt.mode is None:
    raise ValueError(f"Quantizer {quant} Not Found")
  return fmt.mode, fmt.bits, int(fmt.signed)


def _operation_type(layer, x_quantizer):
  """``get_operation_type`` for a layer whose input comes from
  ``x_quantizer`` (None: unknown)."""
  w_mode, w_bits, w_sign = get_quant_mode(layer.get_quantizers()[0])
  if x_quantizer is None:
    logger.warning("cannot determine presently model for %s", layer.name)
    return "null", (w_mode, -1), (w_bits, -1), (w_sign, -1)
  x_mode, x_bits, x_sign = get_quant_mode(x_quantizer)
  return (_OPERATION_TABLE[w_mode][x_mode], (w_mode, x_mode),
          (w_bits, x_bits), (w_sign, x_sign))


def get_operation_type(layer, output_cache):
  """The hardware operation of a Q-layer's weights times its input.

  Returns ``(op, (w_mode, x_mode), (w_bits, x_bits), (w_sign, x_sign))``
  where ``op`` is ``_OPERATION_TABLE[w_mode][x_mode]``: "mult" (fixed-point
  multiplier), "fmult" (float multiplier), "barrel" (shifter), "adder",
  "mux" or "xor". The weight quantizer is ``layer.get_quantizers()[0]``,
  the input quantizer ``output_cache[id(layer.input)]`` (see
  ``create_activation_cache``); when the input is not in the cache this
  prints ``cannot determine presently model for <name>`` and returns
  ``("null", (w_mode, -1), (w_bits, -1), (w_sign, -1))``.
  """
  if not hasattr(layer, "get_quantizers"):
    raise ValueError(
        f"Cannot find suitable quantization candidates for {layer.name}")
  x = keras.tree.flatten(layer.input)[0]
  return _operation_type(layer, output_cache.get(id(x)))


# ---------------------------------------------------------------------------
# Walking the model graph.
# ---------------------------------------------------------------------------

# Folded batch-norm layers count as the layers unfold_model makes of them.
_UNFOLDED_NAME = {
    "QConv2DBatchnorm": "QConv2D",
    "QDepthwiseConv2DBatchnorm": "QDepthwiseConv2D",
    "QDenseBatchnorm": "QDense",
}
# Layers whose output is their ``activation``'s (QKeras's list; other
# layers pass their first input's quantizer on).
_ACTIVATED = ("QDense", "QConv2D", "QConv1D", "QDepthwiseConv2D")


def _kind(layer):
  """The layer's class name (the plain layer's name for folded layers)."""
  name = type(layer).__name__
  return _UNFOLDED_NAME.get(name, name)


def _graph_of(model, caller):
  """The functional view of a functional or Sequential ``model``."""
  if not _graph.is_graph_model(model):
    raise ValueError(
        f"{caller}: argument 'model' must be a functional or Sequential "
        f"Keras model, got {type(model).__name__}.")
  try:
    return _graph.functional(model)
  except (AttributeError, ValueError) as error:
    raise ValueError(
        f"{caller}: the model must be built (give it an Input or call it) "
        f"first: {error}") from None


def _output_quantizer(layer, call, cache):
  """The quantizer that produces ``layer``'s output in this call."""
  if isinstance(layer, (QActivation, QAdaptiveActivation)):
    return layer.quantizer
  if _kind(layer) in _ACTIVATED:
    activation = layer.activation
    return keras.activations.linear if activation is None else activation
  inputs = call.inputs
  quantizer = cache.get(id(inputs[0])) if inputs else None
  if quantizer is None:
    raise ValueError(f"Unknown operation in {layer.name}")
  return quantizer


def _input_cache(graph):
  """Model inputs are taken as 8-bit unsigned values."""
  input_quantizer = qz.quantized_relu(8, 0)
  return {id(tensor): input_quantizer for tensor in graph.inputs}


def create_activation_cache(model):
  """``{id(tensor): quantizer}`` for every symbolic tensor of ``model``.

  Each tensor maps to the quantizer that produced it: model inputs to
  ``quantized_relu(8, 0)``; outputs of ``QActivation`` /
  ``QAdaptiveActivation`` to their quantizer; outputs of ``QDense``,
  ``QConv1D``, ``QConv2D``, ``QDepthwiseConv2D`` to their ``activation``
  (``linear`` when None); outputs of any other layer to the quantizer of
  its first input (``ValueError("Unknown operation in <name>")`` when that
  is unknown). Keys are ``id()`` of the Keras tensors (``layer.input``,
  ``layer.output``; tensors of nested models included); Keras 3 tensors
  have no ``experimental_ref()``.
  """
  graph = _graph_of(model, "create_activation_cache")
  cache = _input_cache(graph)

  def visit(layer, call, cache):
    return [_output_quantizer(layer, call, cache)] * len(call.outputs)

  _graph.walk(graph, visit, cache)
  return cache


# ---------------------------------------------------------------------------
# Operation counts.
# ---------------------------------------------------------------------------


def _size(variable):
  return int(np.prod(variable.shape))


def _spatial_and_channels(layer, shape):
  """``(spatial dims, channels)`` of a batched conv tensor shape."""
  dims = tuple(shape[1:])
  if getattr(layer, "data_format", "channels_last") == "channels_first":
    return dims[1:], dims[0]
  return dims[:-1], dims[-1]


def _conv_counts(layer, in_shape, out_shape):
  """QConv1D/QConv2D: ``ops = prod(out spatial) * Co * prod(kernel) * Ci``
  (``To*Co*k*Ci``, ``Ho*Wo*Co*kh*kw*Ci``); weights: the kernel's size."""
  _, ci = _spatial_and_channels(layer, in_shape)
  spatial, co = _spatial_and_channels(layer, out_shape)
  ops = int(np.prod(spatial)) * co * int(np.prod(layer.kernel_size)) * ci
  return ops, _size(layer.kernel)


def _depthwise_counts(layer, in_shape, out_shape):
  """QDepthwiseConv2D: ``ops = kh*kw*Ho*Wo*Ci``; weights: the kernel's size
  ``kh*kw*Ci*depth_multiplier``."""
  _, ci = _spatial_and_channels(layer, in_shape)
  spatial, _ = _spatial_and_channels(layer, out_shape)
  ops = int(np.prod(layer.kernel_size)) * int(np.prod(spatial)) * ci
  return ops, _size(layer.depthwise_kernel)


def _separable_counts(layer, in_shape, out_shape):
  """QSeparableConv1D/2D: ``ops = prod(kernel)*prod(out spatial)*Ci +
  prod(out spatial)*Co`` (``k*To*Ci + To*Co``); weights: the sizes of the
  depthwise and the pointwise kernel (``[k*Ci, Ci*Co]``)."""
  _, ci = _spatial_and_channels(layer, in_shape)
  spatial, co = _spatial_and_channels(layer, out_shape)
  positions = int(np.prod(spatial))
  ops = int(np.prod(layer.kernel_size)) * positions * ci + positions * co
  return ops, [_size(layer.depthwise_kernel), _size(layer.pointwise_kernel)]


def _dense_counts(layer, in_shape, out_shape):
  """QDense: ``ops = size_i * size_o`` per input vector (times the
  positions of inputs with more than one non-batch axis); weights
  ``size_i * size_o``."""
  size_i, size_o = in_shape[-1], out_shape[-1]
  positions = int(np.prod(out_shape[1:-1]))
  return positions * size_i * size_o, size_i * size_o


_COUNTS = {
    "QConv1D": _conv_counts,
    "QConv2D": _conv_counts,
    "QDepthwiseConv2D": _depthwise_counts,
    "QSeparableConv1D": _separable_counts,
    "QSeparableConv2D": _separable_counts,
    "QDense": _dense_counts,
}


def _known_shape(layer, shape, what):
  shape = tuple(shape)
  if any(d is None for d in shape[1:]):
    raise ValueError(
        f"extract_model_operations: layer '{layer.name}' has an unknown "
        f"dimension in its {what} shape {shape}; give the model's Input a "
        "complete shape.")
  return shape


def _layer_operations(layer, call, x_quantizer):
  """The ``extract_model_operations`` entry of one call of ``layer``."""
  in_shape = _known_shape(layer, call.inputs[0].shape, "input")
  out_shape = _known_shape(layer, call.outputs[0].shape, "output")
  ops, weights = _COUNTS[_kind(layer)](layer, in_shape, out_shape)
  quantizers = layer.get_quantizers()
  if isinstance(weights, list):
    weight_type = [get_quant_mode(q) for q in quantizers[:2]]
  else:
    weight_type = get_quant_mode(quantizers[0])
  if is_folded(layer):  # unfolded: a bias per output channel
    biases = _spatial_and_channels(layer, out_shape)[1]
  else:
    biases = _size(layer.bias) if layer.use_bias else 0
  return {
      "type": _operation_type(layer, x_quantizer),
      "number_of_operations": ops,
      "number_of_weights": weights,
      "number_of_bias": biases,
      "type_of_weights": weight_type,
      "type_of_bias": get_quant_mode(quantizers[-1]),
  }


def extract_model_operations(in_model):
  """``{layer_name: stats}`` for every ``QDense``, ``QConv1D``, ``QConv2D``,
  ``QDepthwiseConv2D``, ``QSeparableConv1D``, ``QSeparableConv2D`` (folded
  layers as their plain layer).

  ``stats``: ``"type"`` (``get_operation_type``), ``"number_of_operations"``
  (multiplications: ``Ho*Wo*Co*kh*kw*Ci`` for QConv2D, ``To*Co*k*Ci`` for
  QConv1D, ``kh*kw*Ho*Wo*Ci`` for QDepthwiseConv2D,
  ``kh*kw*Ho*Wo*Ci + Ho*Wo*Co`` for QSeparableConv2D (1D alike),
  ``size_i*size_o`` for QDense), ``"number_of_weights"`` (the kernel's size;
  a list ``[depthwise, pointwise]`` for separable layers),
  ``"number_of_bias"``, ``"type_of_weights"`` (``get_quant_mode``; a list for
  separable layers) and ``"type_of_bias"``. A layer called several times
  adds up the operations of its calls. Shapes must be fully known.
  """
  graph = _graph_of(in_model, "extract_model_operations")
  cache = _input_cache(graph)
  operations = {}

  def visit(layer, call, cache):
    if _kind(layer) in _COUNTS:
      x = call.inputs[0] if call.inputs else None
      entry = _layer_operations(layer, call, cache.get(id(x)))
      if layer.name in operations:
        operations[layer.name]["number_of_operations"] += (
            entry["number_of_operations"])
      else:
        operations[layer.name] = entry
    return [_output_quantizer(layer, call, cache)] * len(call.outputs)

  _graph.walk(graph, visit, cache)
  return operations


# ---------------------------------------------------------------------------
# print_qstats.
# ---------------------------------------------------------------------------


def _op_name(op_type):
  """``"s"`` or ``"u"`` (any signed side) + op + ``_<w_bits>_<x_bits>``."""
  mode, _, bits, signs = op_type
  sign = "s" if sum(signs) > 0 else "u"
  return f"{sign}{mode}_{bits[0]}_{bits[1]}"


def _weight_rows(name, stats):
  """``[(row name, count, bits)]`` of a layer's weights and bias."""
  weight_type = stats["type_of_weights"]
  counts = stats["number_of_weights"]
  if isinstance(weight_type, list):
    rows = [(f"{name}_weights_{i}", n, t[1])
            for i, (t, n) in enumerate(zip(weight_type, counts))]
  else:
    rows = [(f"{name}_weights", counts, weight_type[1])]
  rows.append((f"{name}_bias", stats["number_of_bias"],
               stats["type_of_bias"][1]))
  return rows


def print_qstats(model):
  """Prints QKeras's statistics of ``model``.

  Sections: "Number of operations in model" (``<layer>: <count> (<op>)``,
  ``<op>`` as in ``smult_4_8``: ``s``/``u`` for a signed/unsigned operand
  pair, the operation, weight bits, input bits), "Number of operation types
  in model" (totals per ``<op>``), "Weight profiling" (weights and biases
  per layer with their bits; Total Bits = sum of count * bits) and "Weight
  sparsity" (``get_model_sparsity``; QKeras's ``... quantizing model`` line
  there is logged, not printed) and, not in QKeras, "Weight quantization"
  (``<layer path>/<weight>: <zeros> <clipped>``, the fractions of
  ``check_quantizer_collapse``, without its warnings; ``-`` where the
  quantizer has no fixed clip limits).
  Layers are sorted by name except in the sparsity section (model order).
  The model's weights are not changed.
  """
  model_ops = extract_model_operations(model)
  totals = collections.defaultdict(int)

  print()
  print("Number of operations in model:")
  for name in sorted(model_ops):
    op_name = _op_name(model_ops[name]["type"])
    number = model_ops[name]["number_of_operations"]
    totals[op_name] += number
    # Counts are formatted as text (left-aligned), as in QKeras.
    print(f"    {name:30}: {number!s:5} ({op_name})")

  print()
  print("Number of operation types in model:")
  for op_name in sorted(totals):
    if totals[op_name] > 0:
      print(f"    {op_name:30}: {totals[op_name]}")

  print()
  print("Weight profiling:")
  total_bits = 0
  for name in sorted(model_ops):
    for row, count, bits in _weight_rows(name, model_ops[name]):
      total_bits += count * bits
      print(f"    {row:30} : {count!s:5} ({bits}-bit unit)")
  print("    " + "-" * 40)
  print("    {:30} : {:5}".format("Total Bits", total_bits))

  print()
  print("Weight sparsity:")
  total_sparsity, per_layer = get_model_sparsity(model, per_layer=True)
  for name, sparsity in per_layer:
    print(f"    {name:30} : {sparsity:.4f}")
  print("    " + "-" * 40)
  print("    {:30} : {:.4f}".format("Total Sparsity", total_sparsity))

  print()
  print("Weight quantization (zeros, clipped):")
  report = check_quantizer_collapse(model, warn=False)
  for layer_path, weights in report.items():
    for weight, fractions in weights.items():
      clipped = ("-" if fractions.clipped is None
                 else f"{fractions.clipped:.4f}")
      print(f"    {layer_path + '/' + weight:30} : {fractions.zeros:.4f}  "
            f"{clipped}")


# ---------------------------------------------------------------------------
# Collapsing quantizers.
# ---------------------------------------------------------------------------


def _weight_holders(layer):
  """The Q-layers that hold ``layer``'s quantized weights: the layer
  itself, an RNN's cell (or cells), both directions of a Bidirectional, a
  wrapper's layer (``TimeDistributed(QDense(...))``)."""
  if isinstance(layer, keras.layers.Bidirectional):
    return (_weight_holders(layer.forward_layer) +
            _weight_holders(layer.backward_layer))
  if isinstance(layer, keras.layers.RNN):
    cells = getattr(layer.cell, "cells", [layer.cell])
    return [h for cell in cells for h in _weight_holders(cell)]
  if isinstance(layer, keras.layers.Wrapper):
    return _weight_holders(layer.layer)
  if isinstance(layer, keras.Model):
    return [h for inner in _graph.flat_layers(layer)
            for h in _weight_holders(inner)]
  return [layer] if isinstance(layer, qlayers.QLayerMixin) else []


def check_quantizer_collapse(model, threshold=qlayers.COLLAPSE_THRESHOLD,
                             warn=True, when="current"):
  """How much of each quantized weight tensor its quantizer loses.

  For every weight that a Q-layer of ``model`` quantizes in ``call``
  (nested models, RNN cells, Bidirectional and wrapped layers included;
  the folded kernel and bias of batch-norm-folded layers), computes

  * ``zeros``: the fraction of the non-zero float weights that quantize to
    exactly 0;
  * ``clipped``: the fraction of the weights at or beyond the quantizer's
    clip limits (its outputs for +-2**40; for an unsigned quantizer only
    the top one); None where the limits are not
    fixed: a data-fitted scale (``alpha="auto"``/``"auto_po2"``), or a
    binary or ternary grid (also ``quantized_bits(2,0,1)``), whose every
    non-zero value is a limit.

  Constant tensors (e.g. a zero bias before training) and empty ones are
  left out. With ``warn``, each weight with a fraction above ``threshold``
  (default 0.9) gives one ``qkeras.QuantizerCollapseWarning`` naming the
  layer, the weight, the quantizer and the fraction, with a remedy.
  Q-layers run the same check on their initial weights when they are
  built; ``qkeras.callbacks.QuantizerCollapseCheck`` runs this after
  ``fit`` (``when="trained"``: the word used in the messages). The check
  quantizes each weight once, outside any training step; the model is not
  changed.

  Args:
    model: a Keras model (or a single layer).
    threshold: the fraction above which a weight is reported.
    warn: whether to issue the warnings.
    when: which values the messages say were checked.

  Returns:
    ``{layer_path: {weight_name: CollapseFractions(quantizer, zeros,
    clipped, size)}}`` in model order; ``layer_path`` is the Q-layer's path
    relative to ``model`` (its name for a layer of the model, also in a
    Sequential model; e.g. ``"rnn/q_simple_rnn_cell"`` for an RNN's cell);
    layers without quantized weights are left out.
  """
  threshold = float(V.check_number("check_quantizer_collapse", "threshold",
                                   threshold, lo=0, hi=1))
  layers = (_graph.flat_layers(model) if isinstance(model, keras.Model)
            else [model])
  report = {}
  for holder in (h for layer in layers for h in _weight_holders(layer)):
    if warn:
      fractions = qlayers.warn_collapse(holder, when, threshold)
    else:
      fractions = qlayers.layer_collapse(holder)
    if fractions:
      report[_path_in(model, holder)] = fractions
  return report


def _path_in(model, layer):
  """``layer``'s path relative to ``model``: a Sequential model's layers
  live under the model's name (``"mlp/d0"``), a functional model's under
  none; both give ``"d0"``, as the other sections of ``print_qstats`` name
  them. A nested model's layer or an RNN's cell keeps its outer part
  (``"inner_model/d0"``, ``"rnn/q_simple_rnn_cell"``)."""
  path = getattr(layer, "path", None) or layer.name
  prefix = getattr(model, "path", None) if model is not layer else None
  if prefix and path.startswith(prefix + "/"):
    return path[len(prefix) + 1:]
  return path


# ---------------------------------------------------------------------------
# Accumulator sizes.
# ---------------------------------------------------------------------------

_ACCUMULATING = (QDepthwiseConv2D, QConv2D, QConv1D, QDense)


def _accumulating_layers(model):
  return [layer for layer in _graph.flat_layers(model)
          if isinstance(layer, _ACCUMULATING)]


def _kernel_and_bias(layer):
  """The float kernel as ``(fan_in, output channels)`` and the bias (zeros
  without one). Depthwise kernels ``(kh, kw, Ci, m)`` have ``Ci * m``
  output channels, channel ``c * m + j``; folded layers give their folded
  weights."""
  if is_folded(layer):
    kernel, bias = (keras.ops.convert_to_numpy(w)
                    for w in layer.get_folded_weights())
  else:
    kernel = keras.ops.convert_to_numpy(
        layer.depthwise_kernel if isinstance(layer, QDepthwiseConv2D)
        else layer.kernel)
    bias = keras.ops.convert_to_numpy(layer.bias) if layer.use_bias else None
  kernel = np.asarray(kernel)
  channels = kernel.shape[-1]
  if isinstance(layer, QDepthwiseConv2D):
    channels *= kernel.shape[-2]
  kernel = kernel.reshape(-1, channels)
  if bias is None:
    bias = np.zeros((channels,), dtype=np.float32)
  return kernel, np.broadcast_to(np.asarray(bias), (channels,))


def _accumulator_sums(kernel, bias, x_min, x_max):
  """Per output channel ``c``, with ``P_c`` / ``N_c`` the sums of the
  positive / negative weights and bias:
  ``n1_c = P_c * max(x_max, 0) + N_c * min(x_min, 0)`` (the largest sum)
  and ``n0_c = -(N_c * max(x_max, 0) + P_c * min(x_min, 0))`` (minus the
  smallest)."""
  n1, n0 = [], []
  for c in range(kernel.shape[1]):
    w, b = kernel[:, c], bias[c]
    positive = np.sum(w * (w > 0)) + (b > 0) * b
    negative = np.sum(w * (w < 0)) + (b < 0) * b
    n1.append(positive * (x_max > 0) * x_max + negative * (x_min < 0) * x_min)
    n0.append(-(negative * (x_max > 0) * x_max + positive * (x_min < 0) *
                x_min))
  return np.asarray(n1), np.asarray(n0)


def _bits_for(value):
  """``ceil(log2(value))``; 0 for ``value <= 0``."""
  return int(np.ceil(np.log2(value))) if value > 0 else 0


def analyze_accumulator(in_model, x, verbose=False):
  """Accumulator bits of each ``QDense`` / ``QConv1D`` / ``QConv2D`` /
  ``QDepthwiseConv2D`` (folded layers: their folded weights).

  ``x`` is ``{layer_name: (x_min, x_max)}``, the range of each layer's
  input. With the float weights, per output channel ``c``
  (``_accumulator_sums``) the accumulator reaches ``n1_c`` and ``-n0_c``;
  the layer needs ``ceil(log2(max_c max(n1_c, n0_c)))`` bits (0 when that
  maximum is 0). Returns ``{layer_name: bits}``. ``verbose`` prints each
  layer's input range, largest/smallest weight, most positive/negative sum
  and bits.
  """
  acc_sizes = {}
  for layer in _accumulating_layers(in_model):
    if layer.name not in x:
      raise ValueError(
          f"analyze_accumulator: argument 'x' must give the input range "
          f"(min, max) of layer '{layer.name}'.")
    x_min, x_max = x[layer.name]
    kernel, bias = _kernel_and_bias(layer)
    n1, n0 = _accumulator_sums(kernel, bias, x_min, x_max)
    bits = _bits_for(np.max(np.maximum(n1, n0)))
    acc_sizes[layer.name] = bits
    if verbose:
      print()
      print(layer.name, "- input range:", x[layer.name])
      print("  max value:", np.amax(kernel))
      print("  min value:", np.amin(kernel))
      print("  most positive sum:", np.amax(n1))
      print("  most negative sum:", -np.amax(n0))
      print("  number of bits:", bits)
  if verbose:
    print()
  return acc_sizes


def _sample_inputs(graph, x_sample):
  """``x_sample`` as one array per model input."""
  if isinstance(x_sample, dict):
    return [np.asarray(x_sample[t.name]) for t in graph.inputs]
  if isinstance(x_sample, (list, tuple)) and len(graph.inputs) > 1:
    return [np.asarray(v) for v in x_sample]
  return [np.asarray(x_sample)]


def _sample_ranges(graph, x_sample, targets, batch_size=1024):
  """``{layer_name: [in_min, in_max, max|out|]}`` of the ``targets``
  layers over ``x_sample`` (inference, batches of ``batch_size``)."""
  inputs = _sample_inputs(graph, x_sample)
  ranges = {}

  def visit(layer, call, values):
    outputs = call.run(values)
    if layer.name in targets:
      x_in = keras.ops.convert_to_numpy(values[id(call.inputs[0])])
      x_out = keras.ops.convert_to_numpy(outputs[0])
      low, high, peak = ranges.get(layer.name, (np.inf, -np.inf, 0.0))
      ranges[layer.name] = (min(low, np.amin(x_in)), max(high, np.amax(x_in)),
                            max(peak, np.amax(np.abs(x_out))))
    return outputs

  for start in range(0, len(inputs[0]), batch_size):
    values = {id(t): keras.ops.convert_to_tensor(v[start:start + batch_size])
              for t, v in zip(graph.inputs, inputs)}
    _graph.walk(graph, visit, values)
  return ranges


def analyze_accumulator_from_sample(in_model, x_sample, mode="conservative",
                                    verbose=False):
  """Accumulator bits of each ``QDense`` / ``QConv1D`` / ``QConv2D`` /
  ``QDepthwiseConv2D`` measured on ``x_sample`` (inference).

  ``mode="sampled"``: ``ceil(log2(max |layer output|))`` (0 when all
  outputs are 0). ``mode="conservative"``: ``analyze_accumulator`` with
  each layer's input range on the sample. Returns ``{layer_name: bits}``.
  """
  if mode not in ("conservative", "sampled"):
    raise ValueError(
        "analyze_accumulator_from_sample: argument 'mode' must be "
        f"'conservative' or 'sampled', got {mode!r}.")
  graph = _graph_of(in_model, "analyze_accumulator_from_sample")
  targets = {layer.name for layer in _accumulating_layers(graph)}
  ranges = _sample_ranges(graph, x_sample, targets)
  if mode == "sampled":
    return {name: _bits_for(ranges[name][2]) for name in ranges}
  x_dict = {name: (float(low), float(high))
            for name, (low, high, _) in ranges.items()}
  return analyze_accumulator(graph, x_dict, verbose)
