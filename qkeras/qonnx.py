# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QONNX export: a quantized Keras model as an ONNX graph with QONNX's
``Quant`` / ``BipolarQuant`` operators (the route to FINN and to hls4ml's
QONNX front end).

``to_qonnx(model, path=None, input_shape=None)`` returns an
``onnx.ModelProto`` (and writes it to ``path``). The graph computes what
``model.predict`` computes, and qonnx's executor gives the same numbers bit
for bit on inputs on the first quantizer's grid (docs/qonnx.md says when):

* every quantizer becomes a QONNX node with the quantizer's exact grid:
  ``Quant(x, scale, zeropt=0, bitwidth)`` with ``signed``, ``narrow`` and
  ``rounding_mode`` (``ROUND``: half to even, QKeras's ``round``), or
  ``BipolarQuant(x, scale)`` for the sign quantizers; ``Quant`` computes
  ``clip(round(x / scale), lo, hi) * scale``;
* weights are float initializers followed by their ``Quant`` node (QONNX's
  convention, tools read the precision from it). The initializer holds the
  layer's quantized weights as its ``call`` computes them in inference, so
  the node reproduces them exactly whatever the quantizer's rounding rule
  (per-channel ``alpha="auto"`` / ``"auto_po2"`` scales included); the
  export checks that it does;
* Keras's layout is kept between layers (channels last); a convolution or
  pooling is ``Transpose -> Conv/MaxPool/AveragePool (NCHW) -> Transpose``.

Anything without an exact QONNX form (power-of-two quantizers, ``quantized_
tanh``/``sigmoid``, data-dependent activation scales, ...) raises a
``ValueError`` naming the layer, the setting and what to use instead.
``import qkeras`` does not import this module; it imports ``onnx`` (the
``qonnx`` extra) when called.
"""

import numpy as np

from qkeras import _atomic
from qkeras import _graph
from qkeras.base_quantizer import BaseQuantizer

__all__ = ["to_qonnx", "QONNX_DOMAIN", "OPSET"]

QONNX_DOMAIN = "qonnx.custom_op.general"
OPSET = 13

_SUPPORTED = ("quantized_bits (a fixed alpha), quantized_relu, binary or "
              "ternary")


def to_qonnx(model, path=None, input_shape=None):
  """Exports ``model`` (functional or Sequential) as a QONNX graph.

  Args:
    model: a built Keras model made of the layers of docs/qonnx.md.
    path: where to write the ``.onnx`` file (None: not written).
    input_shape: the graph input's full shape, batch dimension first (a
      list of them for several inputs); None: the model's input shape with a
      batch of 1 (FINN's convention; qonnx's executor needs fixed shapes).

  Returns:
    The ``onnx.ModelProto``; its inputs and outputs are named after the
    model's input and output tensors.

  Raises:
    ValueError: a layer or setting without an exact QONNX form (the message
      names the layer, the setting and the alternative).
  """
  import onnx  # pylint: disable=g-import-not-at-top
  from onnx import helper  # pylint: disable=g-import-not-at-top
  model = _graph.functional(model)
  if not _graph.is_graph_model(model):
    raise ValueError(f"to_qonnx: model {model.name!r} is not a functional "
                     "or Sequential model (subclassed models have no layer "
                     "graph).")
  shapes = _input_shapes(model, input_shape)
  builder = _Builder()
  values = {}
  graph_inputs = []
  for tensor, shape in zip(model.inputs, shapes):
    name = builder.unique(tensor.name)
    values[id(tensor)] = name
    graph_inputs.append(helper.make_tensor_value_info(
        name, onnx.TensorProto.FLOAT, list(shape)))

  def visit(layer, call, values):
    inputs = [values[id(t)] for t in call.inputs]
    in_shapes = [tuple(t.shape) for t in call.inputs]
    return _export_layer(builder, layer, inputs, in_shapes)

  _graph.walk(model, visit, values)
  graph_outputs = []
  for tensor in model.outputs:
    name = values[id(tensor)]
    graph_outputs.append(helper.make_tensor_value_info(
        name, onnx.TensorProto.FLOAT, [shapes[0][0]] + list(tensor.shape[1:])))
  graph = helper.make_graph(builder.nodes, model.name, graph_inputs,
                            graph_outputs, builder.initializers)
  proto = helper.make_model(
      graph, producer_name="qkeras",
      opset_imports=[helper.make_opsetid("", OPSET),
                     helper.make_opsetid(QONNX_DOMAIN, 1)])
  proto.ir_version = 8
  onnx.checker.check_model(proto)
  if path is not None:
    # A temporary file renamed onto ``path``: a failure leaves an old file.
    with _atomic.replacing(path, ".onnx") as temporary:
      onnx.save(proto, temporary)
  return proto


def _input_shapes(model, input_shape):
  """The inputs' full shapes (batch dimension first), all known."""
  given = input_shape
  if given is not None and (len(model.inputs) == 1 and
                            not isinstance(given[0], (list, tuple))):
    given = [given]
  if given is not None and len(given) != len(model.inputs):
    raise ValueError(f"to_qonnx: input_shape={input_shape!r} gives "
                     f"{len(given)} shapes for {len(model.inputs)} inputs.")
  shapes = []
  for i, tensor in enumerate(model.inputs):
    shape = ((1,) + tuple(tensor.shape[1:]) if given is None else
             tuple(given[i]))
    if (len(shape) != len(tensor.shape) or
        any(not isinstance(d, int) or d < 1 for d in shape) or
        any(k is not None and k != d
            for k, d in zip(tensor.shape[1:], shape[1:]))):
      raise ValueError(
          f"to_qonnx: input {tensor.name!r} has shape {tuple(tensor.shape)}; "
          f"input_shape must give all {len(tensor.shape)} dimensions, batch "
          f"first, as positive integers that agree with it (got "
          f"{shape}).")
    shapes.append(shape)
  return shapes


class _Builder:
  """Collects nodes and initializers under unique names."""

  def __init__(self):
    self.nodes, self.initializers, self._names = [], [], set()

  def unique(self, name):
    name = name.replace(":", "_")
    candidate, i = name, 1
    while candidate in self._names:
      candidate, i = f"{name}_{i}", i + 1
    self._names.add(candidate)
    return candidate

  def const(self, name, value, dtype=np.float32):
    from onnx import numpy_helper  # pylint: disable=g-import-not-at-top
    name = self.unique(name)
    self.initializers.append(numpy_helper.from_array(
        np.asarray(value, dtype), name))
    return name

  def node(self, op, inputs, name, domain=None, **attributes):
    """Adds ``op(inputs)`` and returns its output's name."""
    from onnx import helper  # pylint: disable=g-import-not-at-top
    output = self.unique(name)
    self.nodes.append(helper.make_node(op, list(inputs), [output],
                                       name=output, domain=domain,
                                       **attributes))
    return output

  def quant(self, x, name, scale, bits, signed, narrow,
            rounding_mode="ROUND"):
    """``Quant(x, scale, 0, bits)``."""
    return self.node(
        "Quant", [x, self.const(f"{name}_scale", scale),
                  self.const(f"{name}_zeropt", 0.0),
                  self.const(f"{name}_bitwidth", float(bits))],
        name, domain=QONNX_DOMAIN, signed=int(signed), narrow=int(narrow),
        rounding_mode=rounding_mode)

  def bipolar(self, x, name, scale):
    """``BipolarQuant(x, scale)``: ``scale * (x / scale >= 0 ? 1 : -1)``."""
    return self.node("BipolarQuant", [x, self.const(f"{name}_scale", scale)],
                     name, domain=QONNX_DOMAIN)


# ---------------------------------------------------------------------------
# Quantizers.


def _numpy(value):
  """A Python number, array or backend tensor as a float32 NumPy value."""
  from keras import ops  # pylint: disable=g-import-not-at-top
  return np.asarray(ops.convert_to_numpy(value), np.float32)


def _name_of(quantizer):
  return type(quantizer).__name__


def _check_plain(where, quantizer):
  """Settings that make a quantizer's inference output something other
  than its grid value."""
  config = quantizer.get_config()
  if float(_numpy(config.get("qnoise_factor", 1.0))) != 1.0:
    raise ValueError(f"{where}: {quantizer} has qnoise_factor="
                     f"{config['qnoise_factor']}: its output mixes the input "
                     "in; export with qnoise_factor=1.")


def _fixed_grid(quantizer):
  """``(scale, bits, signed, narrow)`` of a ``quantized_bits`` /
  ``quantized_relu`` code grid (before any ``alpha``):
  ``scale = 2**integer / 2**(bits - signed)``."""
  integer = float(_numpy(quantizer.integer))
  if _name_of(quantizer) == "quantized_relu":
    return 2.0**(integer - quantizer.bits), quantizer.bits, False, False
  signed = bool(quantizer.keep_negative)
  narrow = signed and bool(quantizer.symmetric)
  return (2.0**(integer - (quantizer.bits - signed)), quantizer.bits, signed,
          narrow)


def _is_power_of_two(value):
  mantissa, _ = np.frexp(np.asarray(value, np.float64))
  return bool(np.all(mantissa == 0.5))


def _activation(b, x, activation, where):
  """The nodes of an activation (a quantizer or a Keras function) on x."""
  if activation is None:
    return x
  if isinstance(activation, (str, dict)):  # QActivation keeps "relu"
    from qkeras.quantizers import get_quantizer  # pylint: disable=g-import-not-at-top
    activation = get_quantizer(activation)
  if not isinstance(activation, BaseQuantizer):
    name = getattr(activation, "__name__", str(activation))
    if name == "linear":
      return x
    if name == "relu" and getattr(activation, "__module__",
                                  "").startswith("keras"):
      return b.node("Relu", [x], f"{where}/relu")
    if name == "softmax" and getattr(activation, "__module__",
                                     "").startswith("keras"):
      return b.node("Softmax", [x], f"{where}/softmax", axis=-1)
    raise ValueError(f"{where}: activation {name!r} has no exact QONNX form; "
                     f"use {_SUPPORTED} (or Keras 'relu', 'linear', "
                     "'softmax').")
  return _quantize_activation(b, x, activation, where)


def _quantize_activation(b, x, q, where):
  """A quantizer applied to a tensor (an activation: its scale must be
  fixed)."""
  name = _name_of(q)
  where_q = f"{where}: {q}"
  if name not in ("quantized_bits", "quantized_relu", "binary",
                  "stochastic_binary", "ternary", "stochastic_ternary"):
    raise ValueError(f"{where_q} has no exact QONNX form; use {_SUPPORTED}.")
  alpha = getattr(q, "alpha", None)
  if isinstance(alpha, str):
    raise ValueError(f"{where_q}: alpha={alpha!r} computes its scale from "
                     "the data at run time, which a QONNX Quant node cannot; "
                     "use alpha=1 (or None) for activations.")
  scale = 1.0 if alpha is None else _numpy(alpha)
  if np.any(scale <= 0):
    raise ValueError(f"{where_q}: alpha must be positive for QONNX.")
  node = f"{where}/{name}"
  if name == "quantized_bits":
    _check_plain(where_q, q)
    if q.bits - int(q.keep_negative) == 0:  # sign(x), 0 -> +1
      return b.bipolar(x, node, scale)
    grid, bits, signed, narrow = _fixed_grid(q)
    y = b.quant(x, node, grid, bits, signed, narrow)
    return y if np.all(scale == 1.0) else b.node(
        "Mul", [y, b.const(f"{node}_alpha", scale)], f"{node}_alpha")
  if name == "quantized_relu":
    _check_plain(where_q, q)
    if (q.negative_slope or q.use_sigmoid or not q.is_quantized_clip or
        q.enable_fast_inference):
      raise ValueError(
          f"{where_q}: only the plain quantized_relu(bits, integer) has an "
          "exact QONNX form (Relu + unsigned Quant); not negative_slope, "
          "use_sigmoid, is_quantized_clip=False or enable_fast_inference.")
    grid, bits, _, _ = _fixed_grid(q)
    relu = b.node("Relu", [x], f"{node}_relu")
    return b.quant(relu, node, grid, bits, False, False)
  if name in ("binary", "stochastic_binary"):
    if q.use_01:
      raise ValueError(f"{where_q}: use_01 has no QONNX activation form; "
                       "use binary() (values -1/+1).")
    return b.bipolar(x, node, scale)
  # ternary: (|x| >= t) * sign(x) * alpha.
  threshold = q.default_threshold if q.threshold is None else q.threshold
  if not _is_power_of_two(threshold):
    raise ValueError(
        f"{where_q}: its threshold {threshold} is not a power of two, so "
        "|x| >= threshold is not a rounding of x / scale that a Quant node "
        "computes exactly; use ternary(threshold=0.5) (or another power of "
        "two) for activations.")
  # |x| / (2t) >= 1/2 exactly when |x| >= t: round half up (away from 0).
  step = 2.0 * float(threshold)
  y = b.quant(x, node, step, 2, True, True, rounding_mode="HALF_UP")
  if np.all(scale / step == 1.0):
    return y
  return b.node("Mul", [y, b.const(f"{node}_alpha", scale / step)],
                f"{node}_alpha")


def _reference_quant(values, scale, bits, signed, narrow):
  """QONNX's ``Quant`` on ``values`` (round half to even), in NumPy."""
  lo = -(2.0**(bits - 1)) + narrow if signed else 0.0
  hi = 2.0**(bits - 1) - 1 if signed else 2.0**bits - 1 - narrow
  scale = np.asarray(scale, np.float32)
  return (np.round(np.clip(values / scale, lo, hi)) * scale).astype(np.float32)


def _weight_grid(where, quantizer, values):
  """How a weight quantizer's exact outputs ``values`` are a QONNX node:
  ``("bipolar", scale)`` or ``("quant", scale, bits, signed, narrow)``,
  ``scale`` broadcastable to ``values`` (Keras layout)."""
  name = _name_of(quantizer)
  alpha = getattr(quantizer, "alpha", None)
  if name == "quantized_bits":
    _check_plain(where, quantizer)
    channel = (1.0 if alpha is None else
               _numpy(quantizer.scale) / 2.0**(
                   quantizer.bits - int(quantizer.keep_negative))
               if isinstance(alpha, str) else _numpy(alpha))
    if quantizer.bits - int(quantizer.keep_negative) == 0:
      return ("bipolar", channel)
    grid, bits, signed, narrow = _fixed_grid(quantizer)
    if isinstance(alpha, str):
      # quantizer.scale is s * m: the grid step is s * 2**integer.
      grid = 2.0**float(_numpy(quantizer.integer))
      narrow = True
    return ("quant", np.float32(grid) * channel, bits, signed, narrow)
  if name == "quantized_relu":
    _check_plain(where, quantizer)
    grid, bits, _, _ = _fixed_grid(quantizer)
    if quantizer.negative_slope or quantizer.use_sigmoid:
      raise ValueError(f"{where}: has no exact QONNX form; use "
                       f"{_SUPPORTED}.")
    return ("quant", grid, bits, False, False)
  if name in ("binary", "stochastic_binary"):
    scale = _numpy(quantizer.scale)
    if quantizer.use_01:
      return ("quant", scale, 1, False, False)
    return ("bipolar", scale)
  if name in ("ternary", "stochastic_ternary"):
    return ("quant", _numpy(quantizer.scale), 2, True, True)
  raise ValueError(f"{where} has no exact QONNX form (its values are not "
                   f"on an integer grid); use {_SUPPORTED} for weights.")


def _minimal(scale, shape, layout):
  """``scale`` (broadcastable to Keras's weight ``shape``) in the ONNX
  weight layout (``layout(array)``), with every axis along which it does not
  change reduced to size 1 (a scalar when it is one number)."""
  full = layout(np.broadcast_to(np.asarray(scale, np.float32), shape))
  for axis in range(full.ndim):
    first = np.take(full, [0], axis=axis)
    if np.all(full == first):
      full = first
  return full.reshape(()) if full.size == 1 else full


def _weight(b, layer, argument, weight, layout=lambda w: w, owner=None):
  """The initializer of ``weight`` as ``layer`` uses it in inference,
  quantized by ``argument`` (e.g. ``"kernel_quantizer"``), in the ONNX
  layout ``layout(array)``, followed by its QONNX node; returns the name of
  the (quantized) weight tensor."""
  owner = owner or layer
  values = _numpy(owner._quantize(argument, weight, training=False))  # pylint: disable=protected-access
  quantizer = getattr(owner, argument + "_internal", None)
  name = f"{layer.name}/{weight.name}"
  initializer = b.const(name, layout(values))
  if not getattr(owner, argument, None) or quantizer is None:
    return initializer
  where = f"{layer.name}: {argument}={quantizer}"
  grid = _weight_grid(where, quantizer, values)
  scale = _minimal(grid[1], values.shape, layout)
  if grid[0] == "bipolar":
    expected = np.where(layout(values) / scale >= 0, 1.0, -1.0) * scale
    output = b.bipolar(initializer, f"{name}_quant", scale)
  else:
    _, _, bits, signed, narrow = grid
    expected = _reference_quant(layout(values), scale, bits, signed, narrow)
    output = b.quant(initializer, f"{name}_quant", scale, bits, signed,
                     narrow)
  if not np.array_equal(expected.astype(np.float32), layout(values)):
    raise ValueError(f"{where}: its quantized weights are not reproduced by "
                     "a QONNX node of its grid; use " + _SUPPORTED + ".")
  return output


# ---------------------------------------------------------------------------
# Layers.


def _same_pads(in_sizes, kernel, strides, dilations):
  """TensorFlow's "same" padding: ``[begins..., ends...]``."""
  begins, ends = [], []
  for size, k, s, d in zip(in_sizes, kernel, strides, dilations):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    begins.append(total // 2)
    ends.append(total - total // 2)
  return begins + ends


def _pads(padding, in_sizes, kernel, strides, dilations):
  if padding == "valid":
    return [0] * (2 * len(kernel))
  if padding == "same":
    return _same_pads(in_sizes, kernel, strides, dilations)
  if padding == "causal":
    return [(k - 1) * d for k, d in zip(kernel, dilations)] + [0] * len(
        kernel)
  raise ValueError(f"padding {padding!r} is not supported")


def _channels_first(b, x, rank, where):
  """NHWC -> NCHW (``rank`` spatial dimensions)."""
  return b.node("Transpose", [x], f"{where}/to_nchw",
                perm=[0, rank + 1] + list(range(1, rank + 1)))


def _channels_last(b, x, rank, where):
  return b.node("Transpose", [x], f"{where}/to_nhwc",
                perm=[0] + list(range(2, rank + 2)) + [1])


def _check_channels_last(layer):
  if getattr(layer, "data_format", "channels_last") != "channels_last":
    raise ValueError(f"{layer.name}: data_format={layer.data_format!r}; "
                     "to_qonnx exports channels_last models (Keras's "
                     "default).")


def _conv(b, layer, x, in_shape, weight, group, where, strides=None,
          padding=None, dilations=None, kernel=None):
  """Transpose -> Conv(weight) -> Transpose, no bias (the layer's kernel
  size, strides, padding and dilations unless given)."""
  rank = len(in_shape) - 2
  kernel = list(layer.kernel_size if kernel is None else kernel)
  strides = list(layer.strides if strides is None else strides)
  dilations = list(layer.dilation_rate if dilations is None else dilations)
  padding = layer.padding if padding is None else padding
  pads = _pads(padding, in_shape[1:-1], kernel, strides, dilations)
  y = b.node("Conv", [_channels_first(b, x, rank, where), weight],
             f"{where}/conv", kernel_shape=kernel, strides=strides,
             dilations=dilations, pads=pads, group=group)
  return _channels_last(b, y, rank, where)


def _conv_layout(rank):
  """Keras kernel ``(*k, in, out)`` -> ONNX ``(out, in, *k)``."""
  return lambda w: np.transpose(w, [rank + 1, rank] + list(range(rank)))


def _depthwise_layout(rank):
  """Keras depthwise kernel ``(*k, in, mult)`` -> ONNX ``(in * mult, 1,
  *k)`` (output channel ``c * mult + j``, as Keras orders them)."""
  def layout(w):
    w = np.transpose(w, [rank, rank + 1] + list(range(rank)))
    return w.reshape((w.shape[0] * w.shape[1], 1) + w.shape[2:])
  return layout


def _bias(b, layer, y, owner=None):
  owner = owner or layer
  if not getattr(owner, "use_bias", False):
    return y
  bias = _weight(b, layer, "bias_quantizer", owner.bias, owner=owner)
  return b.node("Add", [y, bias], f"{layer.name}/bias")


def _export_dense(b, layer, x, in_shape):
  del in_shape
  y = b.node("MatMul", [x, _weight(b, layer, "kernel_quantizer",
                                   layer.kernel)], f"{layer.name}/matmul")
  return _activation(b, _bias(b, layer, y), layer.activation, layer.name)


def _export_conv(b, layer, x, in_shape):
  _check_channels_last(layer)
  rank = len(in_shape) - 2
  weight = _weight(b, layer, "kernel_quantizer", layer.kernel,
                   _conv_layout(rank))
  y = _conv(b, layer, x, in_shape, weight, getattr(layer, "groups", 1),
            layer.name)
  return _activation(b, _bias(b, layer, y), layer.activation, layer.name)


def _export_depthwise(b, layer, x, in_shape):
  _check_channels_last(layer)
  rank = len(in_shape) - 2
  weight = _weight(b, layer, "depthwise_quantizer", layer.depthwise_kernel,
                   _depthwise_layout(rank))
  y = _conv(b, layer, x, in_shape, weight, in_shape[-1], layer.name)
  return _activation(b, _bias(b, layer, y), layer.activation, layer.name)


def _export_separable(b, layer, x, in_shape):
  _check_channels_last(layer)
  rank = len(in_shape) - 2
  depthwise = _weight(b, layer, "depthwise_quantizer", layer.depthwise_kernel,
                      _depthwise_layout(rank))
  y = _conv(b, layer, x, in_shape, depthwise, in_shape[-1],
            f"{layer.name}/depthwise")
  y = _activation(b, y, layer.depthwise_activation,
                  f"{layer.name}/depthwise")
  pointwise = _weight(b, layer, "pointwise_quantizer", layer.pointwise_kernel,
                      _conv_layout(rank))
  mid_shape = (None,) * (rank + 1) + (in_shape[-1] * layer.depth_multiplier,)
  y = _conv(b, layer, y, mid_shape, pointwise, 1, f"{layer.name}/pointwise",
            strides=[1] * rank, padding="valid", dilations=[1] * rank,
            kernel=[1] * rank)
  return _activation(b, _bias(b, layer, y), layer.activation, layer.name)


def _export_qactivation(b, layer, x, in_shape):
  del in_shape
  return _activation(b, x, layer.activation, layer.name)


def _export_batchnorm(b, layer, x, in_shape):
  axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
  if axis not in (-1, len(in_shape) - 1):
    raise ValueError(f"{layer.name}: axis={layer.axis}; to_qonnx exports "
                     "batch normalization over the last axis.")
  inv, offset = layer.inference_scale_offset()
  y = b.node("Mul", [x, b.const(f"{layer.name}/scale", _numpy(inv))],
             f"{layer.name}/mul")
  y = b.node("Add", [y, b.const(f"{layer.name}/offset", _numpy(offset))],
             f"{layer.name}/add")
  return _activation(b, y, layer.activation, layer.name)


def _export_folded(b, layer, x, in_shape):
  from qkeras._convert import unfolded_layer  # pylint: disable=g-import-not-at-top
  plain = unfolded_layer(layer, in_shape)
  return _export_layer(b, plain, [x], [in_shape])[0]


def _pool(b, layer, x, in_shape, op, **attributes):
  """Keras 1-D/2-D pooling, channels last."""
  _check_channels_last(layer)
  rank = len(in_shape) - 2
  kernel, strides = list(layer.pool_size), list(layer.strides)
  pads = _pads(layer.padding, in_shape[1:-1], kernel, strides, [1] * rank)
  y = b.node(op, [_channels_first(b, x, rank, layer.name)],
             f"{layer.name}/{op.lower()}", kernel_shape=kernel,
             strides=strides, pads=pads, **attributes)
  return _channels_last(b, y, rank, layer.name)


def _pooling_factor(b, layer, area):
  """QKeras's quantized ``1 / area`` of ``average_quantizer``."""
  factor = _numpy(layer._quantized_factor(area, "float32", False))  # pylint: disable=protected-access
  return b.const(f"{layer.name}/factor", factor)


def _export_qaverage_pooling(b, layer, x, in_shape):
  if not layer.average_quantizer:
    y = _pool(b, layer, x, in_shape, "AveragePool", count_include_pad=0)
  else:  # AvgPool(x * area) * q(1 / area), as the layer computes it
    area = int(np.prod(layer.pool_size))
    x = b.node("Mul", [x, b.const(f"{layer.name}/area", float(area))],
               f"{layer.name}/times_area")
    y = _pool(b, layer, x, in_shape, "AveragePool", count_include_pad=0)
    y = b.node("Mul", [y, _pooling_factor(b, layer, area)],
               f"{layer.name}/quantized_mean")
  return _activation(b, y, layer.activation, layer.name)


def _export_qglobal_average_pooling(b, layer, x, in_shape):
  _check_channels_last(layer)
  keepdims = int(bool(layer.keepdims))
  axes = list(range(1, len(in_shape) - 1))
  if not layer.average_quantizer:
    y = b.node("ReduceMean", [x], f"{layer.name}/mean", axes=axes,
               keepdims=keepdims)
  else:
    area = int(np.prod(in_shape[1:-1]))
    y = b.node("ReduceSum", [x, b.const(f"{layer.name}/axes", axes, np.int64)],
               f"{layer.name}/sum", keepdims=keepdims)
    y = b.node("Mul", [y, _pooling_factor(b, layer, area)],
               f"{layer.name}/quantized_mean")
  return _activation(b, y, layer.activation, layer.name)


def _export_keras(b, layer, inputs, in_shapes):
  """Keras's own structural layers; None if ``layer`` is none of them."""
  import keras  # pylint: disable=g-import-not-at-top
  layers = keras.layers
  x, name = inputs[0], layer.name
  if isinstance(layer, layers.Flatten):
    return b.node("Reshape", [x, b.const(f"{name}/shape", [0, -1], np.int64)],
                  name)
  if isinstance(layer, layers.Reshape):
    shape = [0] + list(layer.target_shape)
    return b.node("Reshape", [x, b.const(f"{name}/shape", shape, np.int64)],
                  name)
  if isinstance(layer, (layers.MaxPooling1D, layers.MaxPooling2D)):
    return _pool(b, layer, x, in_shapes[0], "MaxPool")
  if isinstance(layer, (layers.AveragePooling1D, layers.AveragePooling2D)):
    return _pool(b, layer, x, in_shapes[0], "AveragePool",
                 count_include_pad=0)
  if isinstance(layer, layers.Add):
    y = x
    for i, other in enumerate(inputs[1:]):
      y = b.node("Add", [y, other], f"{name}/add{i}")
    return y
  if isinstance(layer, layers.Concatenate):
    return b.node("Concat", inputs, name, axis=layer.axis)
  if isinstance(layer, layers.Activation):
    return _activation(b, x, layer.activation, name)
  if isinstance(layer, (layers.Dropout, layers.InputLayer)):
    return b.node("Identity", [x], name)
  return None


def _exporters():
  # pylint: disable=g-import-not-at-top
  from qkeras import qconvolutional, qlayers, qnormalization, qpooling
  from qkeras.qconv2d_batchnorm import QConv2DBatchnorm
  from qkeras.qdense_batchnorm import QDenseBatchnorm
  from qkeras.qdepthwiseconv2d_batchnorm import QDepthwiseConv2DBatchnorm
  return {
      qlayers.QDense: _export_dense,
      qlayers.QActivation: _export_qactivation,
      qconvolutional.QConv1D: _export_conv,
      qconvolutional.QConv2D: _export_conv,
      qconvolutional.QDepthwiseConv2D: _export_depthwise,
      qconvolutional.QSeparableConv1D: _export_separable,
      qconvolutional.QSeparableConv2D: _export_separable,
      qnormalization.QBatchNormalization: _export_batchnorm,
      qpooling.QAveragePooling2D: _export_qaverage_pooling,
      qpooling.QGlobalAveragePooling2D: _export_qglobal_average_pooling,
      QConv2DBatchnorm: _export_folded,
      QDepthwiseConv2DBatchnorm: _export_folded,
      QDenseBatchnorm: _export_folded,
  }


def _export_layer(b, layer, inputs, in_shapes):
  """The output names of one layer call."""
  exporter = _exporters().get(type(layer))
  if exporter is not None:
    if len(inputs) != 1:
      raise ValueError(f"{layer.name}: expected one input, got "
                       f"{len(inputs)}.")
    return [exporter(b, layer, inputs[0], in_shapes[0])]
  output = _export_keras(b, layer, inputs, in_shapes)
  if output is None:
    raise ValueError(
        f"{layer.name}: to_qonnx has no QONNX form for "
        f"{type(layer).__name__}; docs/qonnx.md lists the supported layers.")
  return [output]
