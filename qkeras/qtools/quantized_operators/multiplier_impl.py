# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""How a product ``weight * input`` is built in hardware, and its format.

Each multiplier takes the two operand formats and a fresh *template*
output format (chosen by ``MultiplierFactory``) and fills in the output's
bits. ``gate_factor`` is the energy of the operation relative to an adder
and ``gate_bits`` the bit width the energy model is evaluated at.
"""

import operator

import numpy as np


def _is_gate_operand(quantizer):
  """Binary ±1 or ternary: multiplying by it is a selection (mux)."""
  return quantizer.mode in (2, 3)


def _name_po2_output(output):
  output.name = "quantized_po2" if output.is_signed else "quantized_relu_po2"


def _keep_po2_operand(output, weight_quantizer, input_quantizer):
  """A po2 ``output`` is named by its sign and keeps the maximum of the po2
  operand (the weight if it is po2, else the input)."""
  _name_po2_output(output)
  po2 = weight_quantizer if weight_quantizer.is_po2 else input_quantizer
  output.max_val_po2 = po2.max_val_po2


def _check_not_float(multiplier):
  if multiplier.input.is_floating_point or multiplier.weights.is_floating_point:
    raise ValueError(
        f"{type(multiplier).__name__}: floating-point operands need the "
        "floating-point multiplier.")

def set_format(out, bits, int_bits, is_signed, is_floating_point=False):
  """Sets the width, integer bits, sign and float flag of the format
  ``out``."""
  out.bits = bits
  out.int_bits = int_bits
  out.is_signed = is_signed
  out.is_floating_point = is_floating_point


def shift_format(out, qbits, po2, int_bits):
  """``out`` = a fixed-point ``qbits`` shifted by a po2 operand: ``bits =
  qbits.bits + max_exp - min_exp`` (+1 when ``qbits`` is unsigned and the
  po2 signed), the given ``int_bits``, signed if either is."""
  neg_min_exp, max_exp = po2.get_min_max_exp()
  bits = int(qbits.bits + max_exp + neg_min_exp)
  if not qbits.is_signed and po2.is_signed:
    bits += 1
  set_format(out, bits, int(int_bits), qbits.is_signed | po2.is_signed)


def exponent_sum_format(out, a, b, is_signed, combine):
  """``out`` = the po2 format whose exponent is the sum (or difference) of
  those of the po2 formats ``a`` and ``b``: one bit and one integer bit more
  than the wider, maximum ``combine(a.max_val_po2, b.max_val_po2)`` (-1 if
  either is unbounded)."""
  set_format(out, max(a.bits, b.bits) + 1, max(a.int_bits, b.int_bits) + 1,
             is_signed)
  out.is_po2 = 1
  if a.max_val_po2 == -1 or b.max_val_po2 == -1:
    out.max_val_po2 = -1
  else:
    out.max_val_po2 = combine(a.max_val_po2, b.max_val_po2)


def shifter_gate(po2, qbits):
  """``(gate_factor, gate_bits)`` of a shifter: ``0.3`` per distinct po2
  value and ``qbits.bits`` when the values are known (inference), else 1
  and ``b * log10(b)`` with ``b = sqrt(2**po2.bits * qbits.bits)``."""
  if po2.inference_value_counts > 0:
    return po2.inference_value_counts * 0.3, qbits.bits
  b = np.sqrt(2**po2.bits * qbits.bits)
  return 1, b * np.log10(b)

class OperatorImpl:
  """An operator's output format and energy (base of the multipliers and
  dividers): ``output``, the format (a template the subclass fills in);
  ``gate_factor``, the energy relative to an adder (default 1);
  ``gate_bits``, the width the energy is evaluated at; ``implemented_as()``,
  the hardware (the class's ``IMPLEMENTED_AS``, e.g. ``"mux"``)."""

  IMPLEMENTED_AS = None

  def __init__(self, output_quantizer):
    self.output = output_quantizer
    self.gate_factor = 1
    self.gate_bits = 0

  @classmethod
  def implemented_as(cls):
    if cls.IMPLEMENTED_AS is None:
      raise NotImplementedError(f"{cls.__name__} is abstract.")
    return cls.IMPLEMENTED_AS


class IMultiplier(OperatorImpl):
  """A product ``weights * input`` with format ``output``."""

  def __init__(self, weight_quantizer, input_quantizer, output_quantizer):
    super().__init__(output_quantizer)
    self.input = input_quantizer
    self.weights = weight_quantizer
    self.output.op_type = "multiplier"

  def name(self):
    return self.output.name

  def output_quantizer(self):
    return self.output


class Mux(IMultiplier):
  """Multiplication by a binary ±1 or ternary operand: a mux selecting
  ``±x`` (and 0).

  The output has the other operand's bits and integer bits, plus a sign bit
  when that operand is unsigned and the selector signed. ``gate_factor`` is
  0.3 for a binary selector and 0.6 for a ternary one; ``gate_bits`` is the
  other operand's width. A power-of-two output keeps the po2 operand's
  maximum and has ``int_bits = bits``.
  """

  IMPLEMENTED_AS = "mux"

  def __init__(self, weight_quantizer, input_quantizer, output_quantizer):
    super().__init__(weight_quantizer, input_quantizer, output_quantizer)
    if _is_gate_operand(weight_quantizer):
      gate, other = weight_quantizer, input_quantizer
    else:
      gate, other = input_quantizer, weight_quantizer
    out = self.output
    out.is_signed = input_quantizer.is_signed | weight_quantizer.is_signed
    out.bits = other.bits
    out.int_bits = other.int_bits
    if not other.is_signed and gate.is_signed:
      out.bits += 1
    self.gate_factor = 0.3 if gate.mode == 3 else 0.6
    self.gate_bits = other.bits
    if out.is_po2:
      _keep_po2_operand(out, weight_quantizer, input_quantizer)
      out.int_bits = out.bits


class XorGate(IMultiplier):
  """Binary ±1 times binary ±1: an XOR. ``bits``/``int_bits`` are the
  larger of the operands', ``gate_factor`` 0.3, ``gate_bits`` 1."""

  IMPLEMENTED_AS = "xor"

  def __init__(self, weight_quantizer, input_quantizer, output_quantizer):
    super().__init__(weight_quantizer, input_quantizer, output_quantizer)
    if self.output.name != "ternary":
      _check_not_float(self)
      set_format(self.output, max(self.input.bits, self.weights.bits),
                 max(self.input.int_bits, self.weights.int_bits),
                 self.input.is_signed | self.weights.is_signed)
    self.gate_factor = 0.3
    self.gate_bits = 1


class Shifter(IMultiplier):
  """Power of two times fixed point: a shift.

  With ``(-min_exp, max_exp) = po2.get_min_max_exp()`` the fixed-point
  operand grows by ``-min_exp`` fractional and ``max_exp`` integer bits:
  ``bits = q.bits + max_exp - min_exp`` (+1 when ``q`` is unsigned and the
  po2 signed), ``int_bits = q.int_bits + max_exp``. ``gate_factor`` is
  ``0.3 * distinct po2 values`` with ``gate_bits = q.bits`` when the values
  are known (inference), else 1 with ``gate_bits = b * log10(b)``,
  ``b = sqrt(2**po2.bits * q.bits)`` (a programmable shifter).
  """

  IMPLEMENTED_AS = "shifter"

  def __init__(self, weight_quantizer, input_quantizer, output_quantizer):
    super().__init__(weight_quantizer, input_quantizer, output_quantizer)
    _check_not_float(self)
    if weight_quantizer.mode == 1:
      po2, qbits = weight_quantizer, input_quantizer
    else:
      po2, qbits = input_quantizer, weight_quantizer
    neg_min_exp, max_exp = po2.get_min_max_exp()
    shift_format(self.output, qbits, po2, qbits.int_bits + max_exp)
    self.gate_factor, self.gate_bits = shifter_gate(po2, qbits)


class AndGate(IMultiplier):
  """Multiplication by a binary 0/1 operand: an AND.

  Unless the output is ternary: ``bits = max(bits)``; ``int_bits`` is the
  input's when the weight is the 0/1 operand, else the weight's; a po2
  output keeps the po2 operand's maximum. ``gate_factor`` 0.1,
  ``gate_bits`` = output bits.
  """

  IMPLEMENTED_AS = "and"

  def __init__(self, weight_quantizer, input_quantizer, output_quantizer):
    super().__init__(weight_quantizer, input_quantizer, output_quantizer)
    out = self.output
    if out.name != "ternary":
      out.bits = max(self.input.bits, self.weights.bits)
      out.is_signed = self.input.is_signed | self.weights.is_signed
      out.is_floating_point = (self.input.is_floating_point |
                               self.weights.is_floating_point)
      if weight_quantizer.mode == 4:
        out.int_bits = input_quantizer.int_bits
      else:
        out.int_bits = weight_quantizer.int_bits
      if out.is_po2:
        _keep_po2_operand(out, weight_quantizer, input_quantizer)
    self.gate_bits = out.bits
    self.gate_factor = 0.1


class Adder(IMultiplier):
  """Power of two times power of two: the exponents are added.

  ``bits = max(bits) + 1``, ``int_bits = max(int_bits) + 1``, po2 output
  with maximum ``max_w * max_x`` (-1 if either is unbounded);
  ``gate_factor`` 1, ``gate_bits`` = output bits.
  """

  IMPLEMENTED_AS = "add"

  def __init__(self, weight_quantizer, input_quantizer, output_quantizer):
    super().__init__(weight_quantizer, input_quantizer, output_quantizer)
    _check_not_float(self)
    out = self.output
    exponent_sum_format(out, self.input, self.weights,
                        self.input.is_signed | self.weights.is_signed,
                        operator.mul)
    if "po2" in (out.name or ""):
      _name_po2_output(out)
    self.gate_bits = out.bits
    self.gate_factor = 1


class FloatingPointMultiplier(IMultiplier):
  """A float operand makes a float product as wide as the widest float
  operand; ``gate_factor`` 1, ``gate_bits`` = output bits."""

  IMPLEMENTED_AS = "mul"

  def __init__(self, weight_quantizer, input_quantizer, output_quantizer):
    super().__init__(weight_quantizer, input_quantizer, output_quantizer)
    if not (self.input.is_floating_point or self.weights.is_floating_point):
      raise ValueError("FloatingPointMultiplier needs a floating-point "
                       "operand.")
    out = self.output
    set_format(out, max(self.input.bits * self.input.is_floating_point,
                        self.weights.bits * self.weights.is_floating_point),
               -1, 1, is_floating_point=True)
    self.gate_factor = 1
    self.gate_bits = out.bits


def fractional_bits(quantizer):
  """``bits - is_signed - int_bits`` of a fixed-point format."""
  return quantizer.bits - int(quantizer.is_signed) - quantizer.int_bits


class FixedPointMultiplier(IMultiplier):
  """Fixed point times fixed point: integer and fractional bits add up.

  ``int_bits = int_x + int_w``, ``frac = frac_x + frac_w`` (``frac = bits -
  is_signed - int_bits``), ``bits = int_bits + frac + is_signed``; e.g. two
  signed 8-bit fractions make 15 bits. ``gate_factor`` 1, ``gate_bits =
  sqrt(bits_x * bits_w)``.
  """

  IMPLEMENTED_AS = "mul"

  def __init__(self, weight_quantizer, input_quantizer, output_quantizer):
    super().__init__(weight_quantizer, input_quantizer, output_quantizer)
    _check_not_float(self)
    out = self.output
    out.int_bits = self.input.int_bits + self.weights.int_bits
    out.is_signed = self.input.is_signed | self.weights.is_signed
    out.bits = (out.int_bits + int(out.is_signed) +
                fractional_bits(self.input) + fractional_bits(self.weights))
    out.is_floating_point = False
    self.gate_factor = 1
    self.gate_bits = np.sqrt(self.input.bits * self.weights.bits)
