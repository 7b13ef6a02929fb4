# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Formats of a quotient (QKeras ``divider_impl``; used by batch
normalization for ``gamma / stddev`` or ``x / stddev``)."""

import operator

from qkeras.qtools.quantized_operators import multiplier_impl
from qkeras.qtools.quantized_operators import quantizer_impl


class IDividerImpl(multiplier_impl.OperatorImpl):
  """``numerator / denominator`` with format ``output`` (a fresh template
  filled in by the subclass)."""

  def __init__(self, numerator_quantizer, denominator_quantizer,
               output_quantizer):
    super().__init__(output_quantizer)
    self.numerator_quantizer = numerator_quantizer
    self.denominator_quantizer = denominator_quantizer
    self._set_format(numerator_quantizer, denominator_quantizer)

  def _set_format(self, numerator, denominator):
    """Fills in ``self.output`` and the gate costs (each divider's rule)."""
    raise NotImplementedError


class FloatingPointDivider(IDividerImpl):
  """A float quotient: the template's width, or (template width None) the
  widest float operand. Costed as a multiplication (``"mul"``)."""

  IMPLEMENTED_AS = "mul"

  def _set_format(self, numerator_quantizer, denominator_quantizer):
    if self.output.bits is None:
      self.output.bits = max(
          [q.bits for q in (numerator_quantizer, denominator_quantizer)
           if q.is_floating_point] or [quantizer_impl.FLOATINGPOINT_BITS])
    self.gate_bits = self.output.bits
    self.gate_factor = 1


class Shifter(IDividerImpl):
  """Division by a power of two: a shift. As the multiplier ``Shifter``
  with the exponent range reversed (dividing by ``2**e`` multiplies by
  ``2**-e``): with ``(-min_exp, max_exp) = denominator.get_min_max_exp()``,
  ``bits = q.bits + max_exp - min_exp`` (+1 when the numerator is unsigned
  and the denominator signed) and ``int_bits = q.int_bits - min_exp``."""

  IMPLEMENTED_AS = "shifter"

  def _set_format(self, numerator_quantizer, denominator_quantizer):
    qbits, po2 = numerator_quantizer, denominator_quantizer
    neg_min_exp, _ = po2.get_min_max_exp()
    multiplier_impl.shift_format(self.output, qbits, po2,
                                 qbits.int_bits + neg_min_exp)
    self.gate_factor, self.gate_bits = multiplier_impl.shifter_gate(po2,
                                                                    qbits)


class Subtractor(IDividerImpl):
  """po2 / po2: the exponents are subtracted. ``bits = max(bits) + 1``,
  ``int_bits = max(int_bits) + 1``, signed po2 with maximum ``max_num /
  max_den`` (-1 if either is unbounded)."""

  IMPLEMENTED_AS = "add"

  def _set_format(self, numerator_quantizer, denominator_quantizer):
    num, den = numerator_quantizer, denominator_quantizer
    out = self.output
    multiplier_impl.exponent_sum_format(out, num, den, 1, operator.truediv)
    out.name = "quantized_po2"
    self.gate_bits = out.bits
    self.gate_factor = 1
