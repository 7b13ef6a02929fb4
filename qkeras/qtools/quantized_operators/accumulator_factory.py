# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Chooses the accumulator of a layer (QKeras ``accumulator_factory``)."""

from qkeras.qtools.quantized_operators import accumulator_impl


class AccumulatorFactory:
  """Makes the ``IAccumulator`` summing a layer's products."""

  def make_accumulator(self, kernel_shape, multiplier, use_bias=True):
    """Float products -> ``FloatingPointAccumulator``; po2 products ->
    ``Po2Accumulator``; else ``FixedPointAccumulator``. ``kernel_shape`` is
    the dense/convolution kernel shape (its last axis is the outputs)."""
    if multiplier.output.is_floating_point:
      return accumulator_impl.FloatingPointAccumulator(multiplier)
    if multiplier.output.is_po2:
      return accumulator_impl.Po2Accumulator(kernel_shape, multiplier,
                                             use_bias)
    return accumulator_impl.FixedPointAccumulator(kernel_shape, multiplier,
                                                  use_bias)
