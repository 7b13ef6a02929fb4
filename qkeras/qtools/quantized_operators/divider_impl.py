# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Formats of a quotient (QKeras ``divider_impl``; used by batch
normalization for ``gamma / stddev`` or ``x / stddev``)."""


from qkeras.qtools.quantized_operators import multiplier_impl
from qkeras.qtools.quantized_operators import quantizer_impl


class IDividerImpl:
  """``numerator / denominator`` with format ``output`` (a fresh template
  filled in by the subclass)."""

  def __init__(self, numerator_quantizer, denominator_quantizer,
               output_quantizer):
    self.numerator_quantizer = numerator_quantizer
    self.denominator_quantizer = denominator_quantizer
    self.output = output_quantizer
    self.gate_factor = 1
    self.gate_bits = 0

  @staticmethod
  def implemented_as():
    raise NotImplementedError


class FloatingPointDivider(IDividerImpl):
  """A float quotient: the template's width, or (template width None) the
  widest float operand. Costed as a multiplication (``"mul"``)."""

  def __init__(self, numerator_quantizer, denominator_quantizer,
               output_quantizer):
    super().__init__(numerator_quantizer, denominator_quantizer,
                     output_quantizer)
    if self.output.bits is None:
      self.output.bits = max(
          [q.bits for q in (numerator_quantizer, denominator_quantizer)
           if q.is_floating_point] or [quantizer_impl.FLOATINGPOINT_BITS])
    self.gate_bits = self.output.bits
    self.gate_factor = 1

  @staticmethod
  def implemented_as():
    return "mul"


class Shifter(IDividerImpl):
  """Division by a power of two: a shift. As the multiplier ``Shifter``
  with the exponent range reversed (dividing by ``2**e`` multiplies by
  ``2**-e``): with ``(-min_exp, max_exp) = denominator.get_min_max_exp()``,
  ``bits = q.bits + max_exp - min_exp`` (+1 when the numerator is unsigned
  and the denominator signed) and ``int_bits = q.int_bits - min_exp``."""

  def __init__(self, numerator_quantizer, denominator_quantizer,
               output_quantizer):
    super().__init__(numerator_quantizer, denominator_quantizer,
                     output_quantizer)
    qbits, po2 = numerator_quantizer, denominator_quantizer
    neg_min_exp, _ = po2.get_min_max_exp()
    multiplier_impl.shift_format(self.output, qbits, po2,
                                 qbits.int_bits + neg_min_exp)
    self.gate_factor, self.gate_bits = multiplier_impl.shifter_gate(po2,
                                                                    qbits)

  @staticmethod
  def implemented_as():
    return "shifter"


class Subtractor(IDividerImpl):
  """po2 / po2: the exponents are subtracted. ``bits = max(bits) + 1``,
  ``int_bits = max(int_bits) + 1``, signed po2 with maximum ``max_num /
  max_den`` (-1 if either is unbounded)."""

  def __init__(self, numerator_quantizer, denominator_quantizer,
               output_quantizer):
    super().__init__(numerator_quantizer, denominator_quantizer,
                     output_quantizer)
    num, den = numerator_quantizer, denominator_quantizer
    out = self.output
    out.bits = max(num.bits, den.bits) + 1
    out.int_bits = max(num.int_bits, den.int_bits) + 1
    out.is_signed = 1
    out.is_floating_point = False
    out.is_po2 = 1
    if num.max_val_po2 == -1 or den.max_val_po2 == -1:
      out.max_val_po2 = -1
    else:
      out.max_val_po2 = num.max_val_po2 / den.max_val_po2
    out.name = "quantized_po2"
    self.gate_bits = out.bits
    self.gate_factor = 1

  @staticmethod
  def implemented_as():
    return "add"
