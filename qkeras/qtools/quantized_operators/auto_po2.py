# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Widening products and sums for ``alpha="auto_po2"`` weights.

A ``quantized_bits`` weight with ``alpha="auto_po2"`` is ``scale * w_q`` with
a power-of-two scale per output channel, so its products are shifted by
``log2(scale)``. Hardware uses one format for all channels, wide enough
for the largest and the smallest scale (QKeras ``qtools_util``).
"""

import copy
import logging

import numpy as np

from qkeras import _qmath
from qkeras import quantizers
from qkeras.qtools.quantized_operators import accumulator_factory
from qkeras.qtools.quantized_operators import adder_factory
from qkeras.qtools.quantized_operators import quantizer_factory

logger = logging.getLogger(__name__)


def _is_auto_po2_bits(quantizer):
  return (isinstance(quantizer, quantizers.quantized_bits) and
          not isinstance(quantizer, quantizers.quantized_hswish) and
          isinstance(quantizer.alpha, str) and quantizer.alpha == "auto_po2")


def _scale_shifts(scale):
  """``(int(log2(max scale)), int(log2(min scale)))``."""
  values = np.asarray(_qmath.to_numpy(scale), dtype=np.float64)
  return int(np.log2(np.max(values))), int(np.log2(np.min(values)))


def adjust_multiplier_for_auto_po2(multiplier, qkeras_weight_quantizer):
  """Widens ``multiplier.output`` in place for an auto_po2 weight.

  With ``max_shift = int(log2(max scale))`` and ``min_shift =
  int(log2(min scale))`` over the channels: ``int_bits' = int_bits +
  max_shift``, ``frac' = bits - int_bits - min_shift`` (the sign bit counted
  in ``frac'``), ``bits' = int_bits' + frac'``. E.g. ``quantized_bits(4, 2,
  alpha="auto_po2")`` (scales 2**1 .. 2**-2) times ``quantized_bits(4,2,1)``:
  7 bits / 4 integer bits -> 10 / 5.

  Logs ``adjust multiplier for auto_po2 ...`` (level INFO) when it widens a
  product (QKeras printed it for every multiplier). A weight quantizer that
  was never called (no scale yet) is left alone with a logged warning;
  other quantizers and float products are unchanged.
  """
  if not _is_auto_po2_bits(qkeras_weight_quantizer):
    return
  output = multiplier.output
  if output.is_floating_point:
    return
  scale = getattr(qkeras_weight_quantizer, "scale", None)
  if scale is None:
    logger.warning("auto_po2 is found in weight quantizer %s without "
                   "scale. Skip adjusting multiplier bits...",
                   qkeras_weight_quantizer)
    return
  logger.info("adjust multiplier for auto_po2 ...")
  max_shift, min_shift = _scale_shifts(scale)
  fractional = output.bits - output.int_bits - min_shift
  output.int_bits = output.int_bits + max_shift
  output.bits = output.int_bits + fractional


def _accumulated_kernel_shape(layer):
  """The kernel shape whose ``[:-1]`` product is the number of products
  summed per output: a depthwise kernel ``(kh, kw, c, m)`` sums only
  ``kh * kw`` of them, so it counts as ``(kh, kw, 1, 1)``."""
  shape = tuple(int(d) for d in np.shape(layer.get_weights()[0]))
  if "DepthwiseConv2D" in type(layer).__name__:
    shape = shape[:-2] + (1, 1)
  return shape


def adjust_accumulator_for_auto_po2(layer, multiplier, qkeras_weight_quantizer,
                                    bias_quantizer):
  """The layer's accumulator recomputed from an auto_po2-adjusted copy of
  ``multiplier`` (the "fused_accumulator"): the kernel sum
  (``use_bias=False``) plus, when ``layer.use_bias``, the bias adder.
  ``multiplier`` itself is not changed. A None ``bias_quantizer`` of a
  layer with a bias is the default intermediate format."""
  fused_multiplier = copy.deepcopy(multiplier)
  adjust_multiplier_for_auto_po2(fused_multiplier, qkeras_weight_quantizer)
  kernel_accumulator = accumulator_factory.AccumulatorFactory(
  ).make_accumulator(_accumulated_kernel_shape(layer), fused_multiplier,
                     use_bias=False)
  if not getattr(layer, "use_bias", False):
    return kernel_accumulator
  if bias_quantizer is None:
    bias_quantizer = quantizer_factory.QuantizerFactory().make_quantizer(None)
  return adder_factory.IAdder().make_quantizer(kernel_accumulator.output,
                                               bias_quantizer)
