# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The data-type map: per layer, the types of its inputs, weights, bias,
multiplier, accumulator and output (QKeras's
``qtools.generate_layer_data_type_map``).

The graph is walked in topological order; each layer's input types come from
its incoming edges and its output type is written on its outgoing edges: the
layer's activation quantizer when it has one QTools models, else the type
its arithmetic produces (accumulator, merge, pooling average, ...).
"""

import collections
import copy
import logging

import numpy as np

from qkeras.qtools import qgraph
from qkeras.qtools import qtools_util
from qkeras.qtools.quantized_operators import accumulator_factory
from qkeras.qtools.quantized_operators import adder_factory
from qkeras.qtools.quantized_operators import fused_bn_factory
from qkeras.qtools.quantized_operators import merge_factory
from qkeras.qtools.quantized_operators import multiplier_factory
from qkeras.qtools.quantized_operators import qbn_factory
from qkeras.qtools.quantized_operators import quantizer_factory as qf_module
from qkeras.qtools.quantized_operators.quantizer_factory import TagMissingError
from qkeras.qtools.settings import cfg

logger = logging.getLogger(__name__)

LayerDataType = collections.namedtuple(
    "LayerDataType",
    ["input_quantizer_list", "multiplier", "accumulator", "weight_quantizer",
     "w_shapes", "bias_quantizer", "b_shapes", "output_quantizer",
     "output_shapes", "operation_count"])

QKERAS_LAYERS = ["QDense", "QConv1D", "QConv2D", "QDepthwiseConv2D",
                 "QConv2DTranspose"]
KERAS_LAYERS = ["Dense", "Conv1D", "Conv2D", "DepthwiseConv2D",
                "Conv2DTranspose"]
FOLDED_LAYERS = ["QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm"]
SEPARABLE_LAYERS = ["QSeparableConv1D", "QSeparableConv2D",
                    "SeparableConv1D", "SeparableConv2D"]
RNN_LAYERS = {"QSimpleRNN": 1, "SimpleRNN": 1, "QLSTM": 4, "LSTM": 4,
              "QGRU": 3, "GRU": 3}
BIDIRECTIONAL_LAYERS = ["QBidirectional", "Bidirectional"]
POOLING_LAYERS = ["AveragePooling2D", "AvgPool2D", "GlobalAvgPool2D",
                  "GlobalAveragePooling2D", "QAveragePooling2D",
                  "QGlobalAveragePooling2D"]
ACTIVATION_LAYERS = ["QActivation", "QAdaptiveActivation", "Activation"]
BN_LAYERS = ["QBatchNormalization", "BatchNormalization"]

__all__ = ["LayerDataType", "TagMissingError", "generate_layer_data_type_map",
           "model_data_type_map",
           "update_output_quantizer_in_graph", "QKERAS_LAYERS",
           "KERAS_LAYERS"]


def update_output_quantizer_in_graph(graph, node_id, quantizer_factory,
                                     new_quantizer, for_reference):
  """The layer's output type: its own activation quantizer if QTools models
  it (and not ``for_reference``), else ``new_quantizer``, which is then
  written on the layer's outgoing edges."""
  own = graph.nodes[node_id]["out_quantizer"]
  if (for_reference or own is None or
      not quantizer_factory.is_quantizer_supported(own)):
    own = new_quantizer
    qgraph.GraphUpdateEdge(graph, node_id, own)
  return quantizer_factory.make_quantizer(own)


class _Context:
  """What every layer handler needs."""

  def __init__(self, graph, is_inference, keras_quantizer, keras_accumulator,
               for_reference, hw_weight_dict):
    self.graph = graph
    self.factory = qf_module.QuantizerFactory()
    self.is_inference = is_inference
    self.keras_quantizer = keras_quantizer
    self.keras_accumulator = keras_accumulator
    self.for_reference = for_reference
    self.hw_weight_dict = hw_weight_dict or {}
    # Checked now, not only when a plain Keras layer needs them: a bad
    # type is an error even for a model of Q-layers only.
    for mode in (keras_quantizer, keras_accumulator):
      if mode is not None:
        self.default(mode)

  def default(self, mode=None):
    return self.factory.make_default_quantizer(
        mode=mode or cfg.default_interm_quantizer)

  def reference_weight_type(self):
    """Weights of Keras layers (and of every layer ``for_reference``)."""
    return self.default(self.keras_quantizer)

  def reference_arithmetic_type(self):
    """Multipliers/accumulators/outputs of Keras layers and references."""
    return self.default(self.keras_accumulator)

  def is_reference(self, layer):
    return self.for_reference or not hasattr(layer, "get_quantizers")

  def supported(self, quantizer, what, layer):
    if quantizer and not self.factory.is_quantizer_supported(quantizer):
      raise TagMissingError(
          f"Unsupported {what} quantizer {quantizer} on layer {layer.name} "
          f"({type(layer).__name__}).")
    return self.factory.make_quantizer(quantizer) if quantizer else None

  def output(self, node_id, quantizer):
    return update_output_quantizer_in_graph(
        self.graph, node_id, self.factory, quantizer, self.for_reference)

  def fused_bn(self, layer):
    """The QBatchNormalization fused into ``layer`` (hw_weight_dict)."""
    entry = self.hw_weight_dict.get(layer.name) or {}
    return entry.get("fused_bn_layer_name") if entry.get(
        "enable_bn_fusing") else None

  def is_fused_bn(self, layer):
    fused = {e.get("fused_bn_layer_name") for e in self.hw_weight_dict.values()
             if isinstance(e, dict) and e.get("enable_bn_fusing")}
    return layer.name in fused


def _merge(ctx, node_id, layer, inputs, shapes, count):
  merger = merge_factory.MergeFactory().make_quantizer(
      inputs, type(layer).__name__)
  if ctx.for_reference:
    merger.output = ctx.reference_arithmetic_type()
  output = ctx.output(node_id, merger.output)
  return LayerDataType([q for q, _ in inputs], merger, None, None, None, None,
                       None, output, shapes, count)


def _passthrough(ctx, node_id, inputs, shapes, count):
  output = ctx.output(node_id, inputs[0][0])
  return LayerDataType([q for q, _ in inputs], None, None, None, None, None,
                       None, output, shapes, count)


def _pooling(ctx, node_id, layer, inputs, input_shape, shapes, count):
  """Sum of the pool (an accumulator over a pool-shaped kernel) and, for
  the quantized layers, the multiplication by ``average_quantizer(1/A)``."""
  input_q = inputs[0][0]
  name = type(layer).__name__
  if "Global" in name:
    spatial = qtools_util._channels_last(layer, input_shape)[1:-1]  # pylint: disable=protected-access
  else:
    spatial = layer.pool_size
  kernel = tuple(int(v) for v in spatial) + (1, 1)
  fake = multiplier_factory.MultiplierFactory().make_multiplier(input_q,
                                                                input_q)
  fake.output = input_q
  accumulator = accumulator_factory.AccumulatorFactory().make_accumulator(
      kernel, fake, use_bias=False)
  average, multiplier = None, None
  if name.startswith("Q") and layer.average_quantizer_internal is not None:
    average = ctx.supported(layer.average_quantizer_internal, "average",
                            layer)
    multiplier = multiplier_factory.MultiplierFactory().make_multiplier(
        accumulator.output, average)
  if ctx.for_reference:
    if multiplier is not None:
      multiplier.output = ctx.reference_arithmetic_type()
    accumulator.output = ctx.reference_arithmetic_type()
  result = multiplier.output if multiplier is not None else accumulator.output
  output = ctx.output(node_id, result)
  return {"input_quantizer_list": [q for q, _ in inputs],
          "average_quantizer": average,
          "pool_sum_accumulator": accumulator,
          "pool_avg_multiplier": multiplier,
          "output_quantizer": output,
          "output_shapes": shapes,
          "operation_count": count}


def _activation(ctx, node_id, layer, inputs, shapes, count):
  if ctx.is_reference(layer) or not hasattr(layer, "quantizer"):
    quantizer = ctx.reference_arithmetic_type()
  else:
    quantizer = layer.quantizer
    if not ctx.factory.is_quantizer_supported(quantizer):
      raise TagMissingError(
          f"Unsupported activation quantizer {quantizer} on layer "
          f"{layer.name} ({type(layer).__name__}).")
  output = ctx.output(node_id, quantizer)
  return LayerDataType([q for q, _ in inputs], None, None, None, None, None,
                       None, output, shapes, count)


def _bn_quantizers(ctx, layer, input_q):
  """gamma, beta, mean, variance types (missing beta/mean: the input's;
  missing gamma/variance: the default intermediate type)."""
  if ctx.is_reference(layer):
    return [ctx.reference_weight_type() for _ in range(4)]
  gamma, beta, mean, variance = layer.get_quantizers()[:4]
  return [
      ctx.supported(gamma, "gamma", layer) or ctx.default(),
      ctx.supported(beta, "beta", layer) or ctx.factory.clone_quantizer(
          input_q),
      ctx.supported(mean, "mean", layer) or ctx.factory.clone_quantizer(
          input_q),
      ctx.supported(variance, "variance", layer) or ctx.default(),
  ]


def _batchnorm(ctx, node_id, layer, inputs, input_shape, count):
  input_q = inputs[0][0]
  if ctx.is_fused_bn(layer):  # folded into the previous layer's weights
    return _passthrough(ctx, node_id, inputs, input_shape, count)
  gamma, beta, mean, variance = _bn_quantizers(ctx, layer, input_q)
  if ctx.is_inference:
    weights = {v.name: w for v, w in zip(
        layer.weights, qtools_util.get_weights(layer))}
    if layer.scale and gamma.is_po2:
      gamma.update_inference_values(weights["gamma"])
    if variance.is_po2:
      variance.update_inference_values(weights["moving_variance"])
  qbn = qbn_factory.QBNFactory()
  qbn.make_quantizer(input_q, gamma, beta, mean, variance, layer.scale,
                     layer.center)
  if ctx.is_reference(layer):
    for op in (qbn.internal_divide_quantizer, qbn.internal_multiplier,
               qbn.internal_accumulator, qbn.internal_output):
      if op is not None:
        op.output = ctx.reference_arithmetic_type()
  output = ctx.output(node_id, qbn.internal_output.output)
  return {"input_quantizer_list": [q for q, _ in inputs],
          "gamma_quantizer": gamma if layer.scale else None,
          "beta_quantizer": beta if layer.center else None,
          "mean_quantizer": mean,
          "variance_quantizer": variance,
          "gamma_range": getattr(layer, "gamma_range", None),
          "beta_range": getattr(layer, "beta_range", None),
          "internal_divide_quantizer": qbn.internal_divide_quantizer,
          "internal_multiplier": qbn.internal_multiplier,
          "internal_accumulator": qbn.internal_accumulator,
          "output_quantizer": output,
          "output_shapes": input_shape,
          "operation_count": count}


def _kernel_shape(layer):
  """The kernel shape the accumulator sums over (rank 2 or 4): depthwise
  kernels sum ``kh * kw`` products per channel, Conv1D kernels are read as
  ``(k, 1, Ci, Co)``."""
  shape = tuple(int(v) for v in layer.weights[0].shape)
  if "Depthwise" in type(layer).__name__:
    return shape[:-2] + (1, 1)
  if len(shape) == 3:
    return (shape[0], 1) + shape[1:]
  return shape


def _weight_types(ctx, layer):
  if ctx.is_reference(layer):
    return ctx.reference_weight_type(), ctx.reference_weight_type()
  quantizers = layer.get_quantizers()
  weight = ctx.supported(quantizers[0], "weight", layer)
  bias = ctx.supported(quantizers[1], "bias", layer)
  return weight or ctx.default(), bias


def _weight_layer(ctx, node_id, layer, inputs, shapes, count, folded):
  input_q = inputs[0][0]
  weight_q, bias_q = _weight_types(ctx, layer)
  qkeras_weight_q = (None if ctx.is_reference(layer)
                     else layer.get_quantizers()[0])
  if ctx.is_inference:
    weights = qtools_util.get_weights(layer)
    if weight_q.is_po2:
      weight_q.update_inference_values(weights[0])
    if bias_q is not None and bias_q.is_po2 and len(weights) > 1:
      bias_q.update_inference_values(weights[1])
  _compute_auto_po2_scale(layer, qkeras_weight_q)
  multiplier = multiplier_factory.MultiplierFactory().make_multiplier(
      weight_q, input_q)
  use_bias = layer.use_bias and (bias_q is not None or folded or
                                 ctx.is_reference(layer))
  if folded:
    if qkeras_weight_q is not None:
      qtools_util.adjust_multiplier_for_auto_po2(multiplier, qkeras_weight_q)
    accumulator = accumulator_factory.AccumulatorFactory().make_accumulator(
        _kernel_shape(layer), multiplier, use_bias=bias_q is not None)
    if bias_q is None:  # the bias takes the accumulator's type, one bit wider
      bias_q = copy.deepcopy(accumulator.output)
      if not accumulator.output.is_floating_point:
        accumulator.output.bits += 1
        accumulator.output.int_bits += 1
  else:
    accumulator = accumulator_factory.AccumulatorFactory().make_accumulator(
        _kernel_shape(layer), multiplier, use_bias=False)
    if use_bias and bias_q is not None:
      adder = adder_factory.IAdder().make_quantizer(accumulator.output, bias_q)
      accumulator.output = adder.output
  if not layer.use_bias:
    bias_q = None
  if ctx.is_reference(layer):
    accumulator.output = ctx.reference_arithmetic_type()
    multiplier.output = ctx.reference_arithmetic_type()
  weights = layer.get_weights()
  w_shapes = tuple(weights[0].shape)
  b_shapes = int(weights[0].shape[-1])
  output = ctx.output(node_id, accumulator.output)
  if folded:
    return LayerDataType([q for q, _ in inputs], multiplier, accumulator,
                         weight_q, w_shapes, bias_q, b_shapes, output, shapes,
                         count)
  entry = {"input_quantizer_list": [q for q, _ in inputs],
           "multiplier": multiplier, "accumulator": accumulator,
           "weight_quantizer": weight_q, "w_shapes": w_shapes,
           "bias_quantizer": bias_q, "b_shapes": b_shapes,
           "fused_accumulator": _fused_accumulator(ctx, layer, multiplier,
                                                   accumulator, bias_q,
                                                   qkeras_weight_q),
           "output_quantizer": output, "output_shapes": shapes,
           "operation_count": count}
  entry.update(_fused_bn_types(ctx, layer, entry, accumulator, bias_q))
  return entry


def _compute_auto_po2_scale(layer, quantizer):
  """An auto_po2 weight quantizer gets the scale of the layer's current
  weights: it may never have been called (QKeras then skipped the
  adjustment), or hold a symbolic scale from a traced ``fit``/``predict``."""
  alpha = getattr(quantizer, "alpha", None)
  if isinstance(alpha, str) and alpha == "auto_po2":
    qtools_util.get_weights(layer)


def _fused_accumulator(ctx, layer, multiplier, accumulator, bias_q,
                       qkeras_weight_q):
  if ctx.is_reference(layer) or qkeras_weight_q is None:
    return accumulator
  fused = qtools_util.adjust_accumulator_for_auto_po2(
      layer, multiplier, qkeras_weight_q, bias_q)
  return fused if fused is not None else accumulator


def _fused_bn_types(ctx, layer, entry, accumulator, bias_q):
  """The types of a batch norm fused into ``layer`` (hw_weight_dict)."""
  bn_name = ctx.fused_bn(layer)
  if bn_name is None or ctx.is_reference(layer):
    return {}
  bn = _find_layer(ctx.graph, bn_name)
  quantizers = dict(zip(("gamma", "beta", "mean", "variance", "inverse"),
                        bn.get_quantizers()))
  inverse = ctx.supported(quantizers["inverse"], "inverse", bn)
  beta = ctx.supported(quantizers["beta"], "beta", bn) or (
      ctx.factory.clone_quantizer(accumulator.output))
  mean = ctx.supported(quantizers["mean"], "mean", bn) or (
      ctx.factory.clone_quantizer(accumulator.output))
  if inverse is None:
    inverse = ctx.default()
  fused = fused_bn_factory.FusedBNFactory()
  fused.make_quantizer(accumulator.output, bias_q, beta, mean, inverse,
                       bn.center, layer.use_bias, quantizers["inverse"])
  return {"fused_accumulator": fused.internal_accumulator,
          "bn_inverse_quantizer": inverse, "bn_mean_quantizer": mean,
          "bn_beta_quantizer": beta}


def _find_layer(graph, name):
  for attrs in graph.nodes.values():
    layer = attrs.get("layer", [None])[0]
    if layer is not None and layer.name == name:
      return layer
  raise ValueError(f"QTools: hw_weight_dict names layer {name!r}, which is "
                   "not in the model.")


def _separable(ctx, node_id, layer, inputs, input_shape, shapes):
  """A separable convolution as its two steps (QKeras did not model it):
  the depthwise products (``kh * kw`` summed per channel), optionally
  quantized by ``depthwise_activation``, then the pointwise products
  (``Ci * depth_multiplier`` summed) plus the bias."""
  input_q = inputs[0][0]
  depthwise_kernel, pointwise_kernel = layer.weights[0], layer.weights[1]
  if ctx.is_reference(layer):
    depthwise_q = ctx.reference_weight_type()
    pointwise_q = ctx.reference_weight_type()
    bias_q = ctx.reference_weight_type()
    between = None
  else:
    depthwise_q = ctx.supported(layer.depthwise_quantizer_internal,
                                "depthwise", layer) or ctx.default()
    pointwise_q = ctx.supported(layer.pointwise_quantizer_internal,
                                "pointwise", layer) or ctx.default()
    bias_q = ctx.supported(layer.bias_quantizer_internal, "bias", layer)
    between = getattr(layer, "depthwise_activation", None)
  if not layer.use_bias:
    bias_q = None
  multipliers = multiplier_factory.MultiplierFactory()
  accumulators = accumulator_factory.AccumulatorFactory()
  spatial = tuple(int(v) for v in depthwise_kernel.shape[:-2])
  dw_multiplier = multipliers.make_multiplier(depthwise_q, input_q)
  dw_accumulator = accumulators.make_accumulator(
      (int(np.prod(spatial)), 1, 1, 1), dw_multiplier, use_bias=False)
  if between is not None:
    middle_q = ctx.supported(between, "depthwise_activation", layer)
  else:
    middle_q = dw_accumulator.output
  pw_multiplier = multipliers.make_multiplier(pointwise_q, middle_q)
  channels, filters = (int(v) for v in pointwise_kernel.shape[-2:])
  pw_accumulator = accumulators.make_accumulator(
      (1, 1, channels, filters), pw_multiplier, use_bias=False)
  if bias_q is not None:
    adder = adder_factory.IAdder().make_quantizer(pw_accumulator.output,
                                                  bias_q)
    pw_accumulator.output = adder.output
  if ctx.is_reference(layer):
    for op in (dw_multiplier, dw_accumulator, pw_multiplier, pw_accumulator):
      op.output = ctx.reference_arithmetic_type()
  output = ctx.output(node_id, pw_accumulator.output)
  out = qtools_util._channels_last(layer, shapes)  # pylint: disable=protected-access
  positions = int(np.prod(out[1:-1]))
  dw_count = positions * int(np.prod(spatial)) * channels
  pw_count = positions * channels * filters
  return {"input_quantizer_list": [q for q, _ in inputs],
          "depthwise_quantizer": depthwise_q,
          "depthwise_shapes": tuple(int(v) for v in depthwise_kernel.shape),
          "pointwise_quantizer": pointwise_q,
          "pointwise_shapes": tuple(int(v) for v in pointwise_kernel.shape),
          "bias_quantizer": bias_q, "b_shapes": filters,
          "depthwise_multiplier": dw_multiplier,
          "depthwise_accumulator": dw_accumulator,
          "multiplier": pw_multiplier, "accumulator": pw_accumulator,
          "output_quantizer": output, "output_shapes": shapes,
          "depthwise_operation_count": dw_count,
          "pointwise_operation_count": pw_count,
          "operation_count": dw_count + pw_count}


def _rnn_types(ctx, rnn, input_q):
  """Weight, bias and state types of a recurrent layer's cell."""
  cell = rnn.cell
  if ctx.is_reference(rnn):
    kernel_q = recurrent_q = bias_q = ctx.reference_weight_type()
    state_q = ctx.reference_arithmetic_type()
  else:
    kernel_q = ctx.supported(cell.kernel_quantizer_internal, "kernel",
                             rnn) or ctx.default()
    recurrent_q = ctx.supported(cell.recurrent_quantizer_internal,
                                "recurrent", rnn) or ctx.default()
    bias_q = ctx.supported(cell.bias_quantizer_internal, "bias", rnn)
    state_q = cell.state_quantizer_internal
    if state_q is None and ctx.factory.is_quantizer_supported(
        cell.activation) and getattr(cell.activation, "__name__",
                                     "") != "linear":
      state_q = cell.activation
    state_q = (ctx.factory.make_quantizer(state_q) if state_q is not None
               else ctx.default())
  if not cell.use_bias:
    bias_q = None
  del input_q
  return kernel_q, recurrent_q, bias_q, state_q


def _recurrent(ctx, node_id, layer, inputs, input_shape, shapes):
  """A recurrent layer (QKeras did not model them): per time step and gate,
  ``d`` input products (kernel x input) and ``u`` recurrent products
  (recurrent kernel x state, the state quantizer's type or the
  activation's), summed with the bias; ``QBidirectional`` twice that."""
  directions = 1
  rnn = layer
  if type(layer).__name__ in BIDIRECTIONAL_LAYERS:
    directions, rnn = 2, layer.forward_layer
  input_q = inputs[0][0]
  gates = RNN_LAYERS[type(rnn).__name__]
  kernel, recurrent = rnn.cell.kernel, rnn.cell.recurrent_kernel
  features, units = int(kernel.shape[0]), int(recurrent.shape[0])
  kernel_q, recurrent_q, bias_q, state_q = _rnn_types(ctx, rnn, input_q)
  multipliers = multiplier_factory.MultiplierFactory()
  multiplier = multipliers.make_multiplier(kernel_q, input_q)
  recurrent_multiplier = multipliers.make_multiplier(recurrent_q, state_q)
  wider = max((multiplier, recurrent_multiplier),
              key=lambda m: (m.output.is_floating_point, m.output.bits))
  accumulator = accumulator_factory.AccumulatorFactory().make_accumulator(
      (features + units, gates * units), wider, use_bias=False)
  if bias_q is not None:
    accumulator.output = adder_factory.IAdder().make_quantizer(
        accumulator.output, bias_q).output
  if ctx.is_reference(rnn):
    for op in (multiplier, recurrent_multiplier, accumulator):
      op.output = ctx.reference_arithmetic_type()
  output = ctx.output(node_id, accumulator.output)
  steps = input_shape[1] if len(input_shape) > 2 and input_shape[1] else 1
  input_count = directions * int(steps) * features * gates * units
  recurrent_count = directions * int(steps) * units * gates * units
  return {"input_quantizer_list": [q for q, _ in inputs],
          "weight_quantizer": kernel_q,
          "w_shapes": (directions,) + tuple(int(v) for v in kernel.shape),
          "recurrent_quantizer": recurrent_q,
          "recurrent_shapes": (directions,) + tuple(
              int(v) for v in recurrent.shape),
          "bias_quantizer": bias_q,
          "b_shapes": directions * int(np.prod(rnn.cell.bias.shape))
                      if rnn.cell.use_bias else 0,
          "state_quantizer": state_q,
          "multiplier": multiplier,
          "recurrent_multiplier": recurrent_multiplier,
          "accumulator": accumulator,
          "output_quantizer": output, "output_shapes": shapes,
          "input_operation_count": input_count,
          "recurrent_operation_count": recurrent_count,
          "operation_count": input_count + recurrent_count}


def _unsupported(ctx, node_id, layer, inputs, shapes, count):
  logger.warning("QTools cannot parse %s (%s). The input quantizer of this "
                 "layer is directly passed through to the output!",
                 type(layer).__name__, layer.name)
  entry = _passthrough(ctx, node_id, inputs, shapes, count)._asdict()
  entry["unsupported"] = True
  return entry


def _largest_input_shape(inputs):
  shapes = [edge["shape"] for _, edge in inputs]
  sizes = [qtools_util.size(s) for s in shapes]
  return shapes[sizes.index(max(sizes))]


def _output_shapes(layer, input_shape):
  try:
    return tuple(layer.compute_output_shape(input_shape))
  except Exception:  # pylint: disable=broad-except
    output = getattr(layer, "output", None)
    return tuple(output.shape) if output is not None else None


def generate_layer_data_type_map(
    graph, source_quantizer_list, is_inference, keras_quantizer=None,
    keras_accumulator=None, for_reference=False, debug=False,
    model_weights_already_quantized=True, hw_weight_dict=None):
  """``{"source_quantizer_list", "output_layers", "input_layers",
  "layer_data_type_map": OrderedDict{layer: entry}}``.

  ``is_inference``: po2 weights record how many distinct values they take.
  ``keras_quantizer`` / ``keras_accumulator``: the weight and arithmetic
  types of plain Keras layers (and of every layer with ``for_reference``,
  which describes the model as if it were not quantized). ``hw_weight_dict``
  (``model_save_quantized_weights``'s result): batch norms fused into the
  preceding layer are described there.
  """
  del model_weights_already_quantized  # weights are quantized when read
  ctx = _Context(graph, is_inference, keras_quantizer, keras_accumulator,
                 for_reference, hw_weight_dict)
  input_layers = qgraph.GraphGetInputs(graph)
  output_layers = qgraph.GraphGetOutputs(graph)
  data_types = collections.OrderedDict()
  for node_id in graph.topological_sort():
    layer = graph.nodes[node_id]["layer"][0]
    if layer is None:
      continue
    inputs = qtools_util.get_input_quantizers_advanced(
        graph, node_id, layer in input_layers, ctx.factory, cfg, debug)
    if not inputs:
      continue
    input_shape = _largest_input_shape(inputs)
    name = type(layer).__name__
    count = (0 if name in SEPARABLE_LAYERS + list(RNN_LAYERS) +
             BIDIRECTIONAL_LAYERS else
             qtools_util.get_operation_count(layer, input_shape))
    shapes = _output_shapes(layer, input_shape)
    if qtools_util.is_merge_layers(layer):
      entry = _merge(ctx, node_id, layer, inputs, shapes, count)
    elif (qtools_util.is_shape_alternation_layers(layer) or
          "UpSampling" in name or name in ("Dropout", "SpatialDropout1D",
                                           "SpatialDropout2D", "Permute",
                                           "RepeatVector", "Cropping2D",
                                           "ZeroPadding2D")):
      entry = _passthrough(ctx, node_id, inputs, shapes, count)
    elif name in POOLING_LAYERS:
      entry = _pooling(ctx, node_id, layer, inputs, input_shape, shapes,
                       count)
    elif name in ACTIVATION_LAYERS:
      entry = _activation(ctx, node_id, layer, inputs, shapes, count)
    elif name in BN_LAYERS:
      entry = _batchnorm(ctx, node_id, layer, inputs, input_shape, count)
    elif name in QKERAS_LAYERS or name in KERAS_LAYERS:
      entry = _weight_layer(ctx, node_id, layer, inputs, shapes, count,
                            folded=False)
    elif name in SEPARABLE_LAYERS:
      entry = _separable(ctx, node_id, layer, inputs, input_shape, shapes)
    elif name in RNN_LAYERS or (
        name in BIDIRECTIONAL_LAYERS and
        type(layer.forward_layer).__name__ in RNN_LAYERS):
      entry = _recurrent(ctx, node_id, layer, inputs, input_shape, shapes)
    elif name in FOLDED_LAYERS:
      entry = _weight_layer(ctx, node_id, layer, inputs, shapes, count,
                            folded=True)
    else:
      entry = _unsupported(ctx, node_id, layer, inputs, shapes, count)
    data_types[layer] = entry
  return {"source_quantizer_list": source_quantizer_list,
          "output_layers": output_layers, "input_layers": input_layers,
          "layer_data_type_map": data_types}


def model_data_type_map(model, source_quantizers=None,
                        default_source_quantizer=None, **map_arguments):
  """``(graph, source_quantizer_list, layer_map)`` of ``model``: its QTools
  graph (``qgraph.CreateGraph``) with the activations on the edges, the
  source quantizers, and ``generate_layer_data_type_map(graph, sources,
  **map_arguments)``."""
  graph, sources = qgraph.CreateGraph(model, source_quantizers,
                                      default_source_quantizer)
  qgraph.GraphPropagateActivationsToEdges(graph)
  return graph, sources, generate_layer_data_type_map(graph, sources,
                                                      **map_arguments)
