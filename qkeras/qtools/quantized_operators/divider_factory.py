# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Chooses the divider of ``numerator / denominator`` (QKeras
``divider_factory``).

By (numerator mode, denominator mode); modes 0 fixed point, 1 po2,
2 ternary, 3 binary ±1, 4 binary 0/1, 5 float:

* denominator fixed point -> ``FloatingPointDivider`` (fp32 result; a float
  numerator keeps its width);
* denominator po2 -> ``Shifter`` (fixed-point result; po2-typed for binary
  numerators), ``Subtractor`` when the numerator is po2 too, float divider
  for a float numerator;
* denominator float -> ``FloatingPointDivider`` (widest float operand);
* ternary / binary denominators -> ``UnacceptedQuantizerError``.
"""

import functools

from qkeras.qtools.quantized_operators import divider_impl as di
from qkeras.qtools.quantized_operators import quantizer_impl as qi


class UnacceptedQuantizerError(ValueError):
  """A denominator format QTools cannot divide by."""


_FP32 = (di.FloatingPointDivider,
         functools.partial(qi.FloatingPoint, bits=qi.FLOATINGPOINT_BITS))
_FP_WIDEST = (di.FloatingPointDivider,
              functools.partial(qi.FloatingPoint, bits=None))
_NONE = (None, None)
_SHIFT_Q = (di.Shifter, qi.QuantizedBits)
_SHIFT_P = (di.Shifter, qi.PowerOfTwo)

# (implementation, output template factory) by [numerator][denominator].
DIVIDER_IMPL_TABLE = (
    (_FP32, _SHIFT_Q, _NONE, _NONE, _NONE, _FP_WIDEST),
    (_FP32, (di.Subtractor, qi.PowerOfTwo), _NONE, _NONE, _NONE, _FP_WIDEST),
    (_FP32, _SHIFT_Q, _NONE, _NONE, _NONE, _FP_WIDEST),
    (_FP32, _SHIFT_P, _NONE, _NONE, _NONE, _FP_WIDEST),
    (_FP32, _SHIFT_P, _NONE, _NONE, _NONE, _FP_WIDEST),
    (_FP_WIDEST, _FP_WIDEST, _NONE, _NONE, _NONE, _FP_WIDEST),
)


def _mode(quantizer, role):
  return qi.operand_mode(quantizer, f"IDivider: the {role} {quantizer!r} is "
                         "not a QTools quantizer (mode 0..5).")


class IDivider:
  """Makes the divider of two formats."""

  def __init__(self):
    self.divider_impl_table = DIVIDER_IMPL_TABLE

  def make_quantizer(self, numerator_quantizer, denominator_quantizer):
    """The ``IDividerImpl`` of ``numerator / denominator``; raises
    ``UnacceptedQuantizerError`` for ternary/binary denominators."""
    self.numerator_quantizer = numerator_quantizer
    self.denominator_quantizer = denominator_quantizer
    impl_class, template = self.divider_impl_table[
        _mode(numerator_quantizer, "numerator")][
            _mode(denominator_quantizer, "denominator")]
    if impl_class is None:
      raise UnacceptedQuantizerError(
          f"denominator quantizer {denominator_quantizer.name} not "
          "accepted!")
    return impl_class(numerator_quantizer, denominator_quantizer, template())
