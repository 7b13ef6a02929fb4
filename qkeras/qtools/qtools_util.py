# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Helpers of the data-type map (QKeras's ``qtools.qtools_util``)."""

import logging
import math

import numpy as np

from qkeras import _export
from qkeras.qtools.quantized_operators import auto_po2

logger = logging.getLogger(__name__)

MERGE_LAYERS = ("Add", "Multiply", "Subtract", "Average", "Maximum",
                "Minimum", "Concatenate", "Dot")


def is_shape_alternation_layers(layer):
  """MaxPooling, Reshape and Flatten layers (output type = input type)."""
  name = type(layer).__name__
  return "MaxPool" in name or "Reshape" in name or "Flatten" in name


def is_merge_layers(layer):
  return type(layer).__name__ in MERGE_LAYERS


def get_input_quantizers(graph, node_id, quantizer_factory, debug=False):
  """``[(quantizer, edge)]`` of the edges into ``node_id``."""
  result = []
  for parent in graph.predecessors(node_id):
    edge = graph.edges[(parent, node_id)]
    if debug:
      print("parent_node_id:", parent, edge)
    result.append((make_supported(quantizer_factory, edge["quantizer"]), edge))
  return result


def make_supported(quantizer_factory, quantizer):
  """The QTools quantizer of ``quantizer``; None for None and for what
  QTools does not model (float Keras activations such as ``relu``)."""
  if quantizer is None:
    return None
  if not isinstance(quantizer, str) and not (
      quantizer_factory.is_quantizer_supported(quantizer)):
    return None
  return quantizer_factory.make_quantizer(quantizer)


def get_input_quantizers_advanced(graph, node_id, is_input_layer,
                                  quantizer_factory, cfg, debug=False):
  """As ``get_input_quantizers``; an edge without a quantizer gets the
  default source quantizer (model inputs) or the default intermediate one."""
  result = []
  for quantizer, edge in get_input_quantizers(graph, node_id,
                                              quantizer_factory, debug):
    if quantizer is None:
      mode = (cfg.default_source_quantizer if is_input_layer
              else cfg.default_interm_quantizer)
      quantizer = quantizer_factory.make_default_quantizer(mode=mode)
    result.append((quantizer, edge))
  return result


def _prod(values):
  return int(np.prod([int(v) for v in values])) if len(values) else 1


def size(shape):
  """The number of values per sample of ``shape`` (batch dimension and
  unknown dimensions left out)."""
  return _prod([d for d in tuple(shape)[1:] if d is not None])


def _channels_last(layer, shape):
  """``shape`` as channels-last (QTools counts in that layout)."""
  if getattr(layer, "data_format", "channels_last") == "channels_first":
    return (shape[0],) + tuple(shape[2:]) + (shape[1],)
  return tuple(shape)


def get_operation_count(layer, input_shape):
  """The number of operations (multiplications, additions, ...) of a layer
  on an input of ``input_shape`` (batch first), as QKeras counts them:

  * merge, MaxPooling, Reshape, Flatten, Activation, BatchNormalization:
    the input size;
  * (Global)AveragePooling2D: output channels x pool area;
  * UpSampling: the output size;
  * Conv2D (and QConv2DBatchnorm, Conv2DTranspose):
    ``Ho * Wo * Co * kh * kw * Ci``; Conv1D: ``To * Co * k * Ci``;
    DepthwiseConv2D (and its folded version): ``kh * kw * Ho * Wo * Ci``;
  * Dense: ``size_i * size_o`` (per position for inputs with more axes);
  * others: 0 (with a note on stderr).
  """
  if isinstance(input_shape, list):
    input_shape = input_shape[0]
  input_shape = tuple(input_shape)
  name = type(layer).__name__
  base = name[1:] if name.startswith("Q") else name
  if is_merge_layers(layer) or is_shape_alternation_layers(layer):
    return _prod(input_shape[1:])
  if base in ("AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D",
              "GlobalAvgPool2D"):
    shape = _channels_last(layer, input_shape)
    pool = (layer.pool_size if hasattr(layer, "pool_size")
            else shape[1:-1])
    out = _channels_last(layer, layer.compute_output_shape(input_shape))
    return int(out[-1]) * _prod(pool)
  if "UpSampling" in name:
    return _prod(layer.compute_output_shape(input_shape)[1:])
  if "Activation" in name or "BatchNormalization" in name:
    return _prod(input_shape[1:])
  kernel = layer.weights[0] if layer.weights else None
  if base in ("Conv2D", "Conv2DBatchnorm", "Conv2DTranspose"):
    _, _, _, ci = _channels_last(layer, input_shape)
    _, ho, wo, co = _channels_last(layer,
                                   layer.compute_output_shape(input_shape))
    kh, kw = tuple(kernel.shape)[:2]
    return int(ho * wo * co * kh * kw * ci)
  if base == "Conv1D":
    _, _, ci = _channels_last(layer, input_shape)
    _, to, co = _channels_last(layer, layer.compute_output_shape(input_shape))
    return int(to * co * tuple(kernel.shape)[0] * ci)
  if base in ("DepthwiseConv2D", "DepthwiseConv2DBatchnorm"):
    _, _, _, ci = _channels_last(layer, input_shape)
    _, ho, wo, _ = _channels_last(layer,
                                  layer.compute_output_shape(input_shape))
    kh, kw = tuple(kernel.shape)[:2]
    return int(kh * kw * ho * wo * ci)
  if base in ("Dense", "DenseBatchnorm"):
    units = layer.compute_output_shape(input_shape)[-1]
    return int(_prod(input_shape[1:]) * units)
  logger.warning("operation count for %s (%s) is defaulted to 0", name,
                 layer.name)
  return 0


def get_weights(layer, model_weights_already_quantized=True):
  """The layer's weights, quantized by its quantizers (the folded kernel
  and bias for folded layers). The layer is not changed."""
  del model_weights_already_quantized
  qlayer = _export.quantizable_layer(layer)
  if qlayer is None:
    return layer.get_weights()
  return [_export.quantize_weight(q, w) for _, w, q in
          _export.weights_and_quantizers(qlayer)]


def adjust_multiplier_for_auto_po2(multiplier, qkeras_weight_quantizer):
  return auto_po2.adjust_multiplier_for_auto_po2(multiplier,
                                                 qkeras_weight_quantizer)


def adjust_accumulator_for_auto_po2(layer, multiplier,
                                    qkeras_weight_quantizer, bias_quantizer):
  return auto_po2.adjust_accumulator_for_auto_po2(
      layer, multiplier, qkeras_weight_quantizer, bias_quantizer)


# Helpers of the divide-and-conquer cost model (qkeras.qtools.DnC).

LAYER_INFO_ATTRIBUTES = ("layer_type", "input_channel", "output_channel",
                         "kernel_height", "kernel_width")


def _channel_axis(layer):
  return 1 if getattr(layer, "data_format", None) == "channels_first" else -1


def _tensor_channels(layer, which):
  """The channel count of the layer's ``which`` ("input"/"output") tensor;
  None when the layer has no single such tensor (never called, shared)."""
  try:
    tensor = getattr(layer, which)
  except (AttributeError, ValueError):
    return None
  shape = getattr(tensor, "shape", None)
  if shape is None or len(shape) < 2:
    return None
  channels = shape[_channel_axis(layer)]
  return None if channels is None else int(channels)


def _kernel_channels(layer):
  """``(input_channel, output_channel)`` read from the layer's kernel (None
  without one): Dense ``(ci, co)``, Conv ``(..., ci / groups, co)``,
  DepthwiseConv ``(..., ci, multiplier)`` -> ``(ci, ci * multiplier)``."""
  kernel = getattr(layer, "depthwise_kernel", None)
  if kernel is not None:
    ci, multiplier = (int(d) for d in tuple(kernel.shape)[-2:])
    return ci, ci * multiplier
  kernel = getattr(layer, "kernel", None)
  if kernel is None:
    return None
  ci, co = (int(d) for d in tuple(kernel.shape)[-2:])
  return ci * int(getattr(layer, "groups", 1) or 1), co


def get_layer_info(layer, attr_name):
  """One hardware dimension of ``layer`` (QKeras's DnC helper).

  Args:
    layer: a Keras layer.
    attr_name: one of ``LAYER_INFO_ATTRIBUTES``:
      "layer_type": the class name;
      "input_channel" / "output_channel": the channel axis (last, or axis 1
        for ``channels_first``) of the layer's input / output tensor, read
        from the kernel when the layer has no single input/output tensor
        (DepthwiseConv: ``output = input * depth_multiplier``);
      "kernel_height" / "kernel_width": ``kernel_size`` (a 1-D kernel
        ``(k,)`` is height 1, width ``k``); 1 for layers without one.

  Returns:
    The value (str for "layer_type", else int; None for a channel count
    that cannot be known).
  """
  if attr_name not in LAYER_INFO_ATTRIBUTES:
    raise ValueError(f"get_layer_info: unknown attribute {attr_name!r}; "
                     f"expected one of {LAYER_INFO_ATTRIBUTES}.")
  if attr_name == "layer_type":
    return type(layer).__name__
  if attr_name in ("kernel_height", "kernel_width"):
    size_ = tuple(getattr(layer, "kernel_size", None) or (1, 1))
    if len(size_) == 1:
      size_ = (1,) + size_
    return int(size_[0] if attr_name == "kernel_height" else size_[1])
  which = "input" if attr_name == "input_channel" else "output"
  channels = _tensor_channels(layer, which)
  if channels is None:
    from_kernel = _kernel_channels(layer)
    if from_kernel is not None:
      channels = from_kernel[0 if which == "input" else 1]
  return channels


def is_upsampled(layer):
  """Whether ``layer`` upsamples (an ``UpSampling1D/2D/3D`` layer)."""
  return "UpSampling" in type(layer).__name__


def find_divisors(num):
  """The positive divisors of the positive integer ``num``, ascending
  (``find_divisors(12) == [1, 2, 3, 4, 6, 12]``)."""
  num = int(num)
  if num < 1:
    raise ValueError(f"find_divisors: expected a positive integer, got {num}.")
  small = [d for d in range(1, math.isqrt(num) + 1) if num % d == 0]
  large = [num // d for d in reversed(small) if d * d != num]
  return small + large
