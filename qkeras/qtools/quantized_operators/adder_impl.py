# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Formats of the sum of two numbers (QKeras ``adder_impl``)."""

from qkeras.qtools.quantized_operators import accumulator_impl
from qkeras.qtools.quantized_operators import quantizer_impl


def po2_qbits_converter(po2_quantizer):
  """The fixed-point format holding the po2 format ``po2_quantizer``."""
  bits, int_bits = accumulator_impl.po2_to_qbits(po2_quantizer)
  result = quantizer_impl.QuantizedBits()
  result.bits = bits
  result.int_bits = int_bits
  result.is_signed = po2_quantizer.is_signed
  return result


def _fractional_bits(quantizer):
  return quantizer.bits - int(quantizer.is_signed) - quantizer.int_bits


class IAdderImpl:
  """A sum with format ``output``; its energy is one adder
  (``gate_factor`` 1) as wide as the sum (``gate_bits``)."""

  @staticmethod
  def implemented_as():
    return "add"

  @property
  def gate_factor(self):
    return 1

  @property
  def gate_bits(self):
    return self.output.bits


class FixedPointAdder(IAdderImpl):
  """Fixed point + fixed point: ``int_bits = max(int_bits) + 1`` (the
  carry), ``frac = max(frac)``, ``is_signed = or``, ``bits = int_bits +
  is_signed + frac``. E.g. ``quantized_bits(8,3) + quantized_bits(16,4)``
  -> 17 bits, 5 integer bits."""

  def __init__(self, quantizer_1, quantizer_2):
    out = quantizer_impl.QuantizedBits()
    out.int_bits = max(quantizer_1.int_bits, quantizer_2.int_bits) + 1
    out.is_signed = quantizer_1.is_signed | quantizer_2.is_signed
    out.bits = (out.int_bits + int(out.is_signed) +
                max(_fractional_bits(quantizer_1),
                    _fractional_bits(quantizer_2)))
    out.mode = 0
    out.is_floating_point = False
    out.is_po2 = 0
    self.output = out


class FloatingPointAdder(IAdderImpl):
  """A float operand makes a float sum as wide as the widest float
  operand."""

  def __init__(self, quantizer_1, quantizer_2):
    bits = max(q.bits for q in (quantizer_1, quantizer_2)
               if q.is_floating_point)
    self.output = quantizer_impl.FloatingPoint(bits=bits)


class Po2FixedPointAdder(IAdderImpl):
  """po2 + fixed point: the po2 operand is converted to fixed point
  (``po2_qbits_converter``), then ``FixedPointAdder``."""

  def __init__(self, quantizer_1, quantizer_2):
    if quantizer_1.is_po2:
      po2, fixed = quantizer_1, quantizer_2
    else:
      po2, fixed = quantizer_2, quantizer_1
    self.output = FixedPointAdder(po2_qbits_converter(po2), fixed).output


class Po2Adder(IAdderImpl):
  """po2 + po2: both converted to fixed point, then ``FixedPointAdder``."""

  def __init__(self, quantizer_1, quantizer_2):
    self.output = FixedPointAdder(po2_qbits_converter(quantizer_1),
                                  po2_qbits_converter(quantizer_2)).output
