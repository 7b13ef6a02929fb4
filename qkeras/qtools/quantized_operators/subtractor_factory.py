# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The difference of two numbers (QKeras ``subtractor_factory``)."""

from qkeras.qtools.quantized_operators import adder_factory
from qkeras.qtools.quantized_operators import adder_impl


class ISubtractor(adder_factory.IAdder):
  """``q1 - q2``: formatted as ``q1 + q2``, plus a sign bit (``bits + 1``,
  signed) when both operands are unsigned, since the difference can be
  negative. Float differences are as float sums."""

  def make_quantizer(self, quantizer_1, quantizer_2):
    result = super().make_quantizer(quantizer_1, quantizer_2)
    if (not isinstance(result, adder_impl.FloatingPointAdder) and
        not quantizer_1.is_signed and not quantizer_2.is_signed):
      result.output.is_signed = 1
      result.output.bits += 1
    return result
