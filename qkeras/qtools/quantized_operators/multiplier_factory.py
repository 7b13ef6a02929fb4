# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Chooses the multiplier of ``weight * input`` (QKeras
``multiplier_factory``).

Implementation and output template by (weight mode, input mode); modes:
0 fixed point, 1 po2, 2 ternary, 3 binary ±1, 4 binary 0/1, 5 float::

  w\\x    qbits          po2          ternary      bin±1        bin01        float
  qbits  FixedPoint/q   Shifter/q    Mux/q        Mux/q        And/q        FloatMul
  po2    Shifter/q      Adder/po2    Mux/po2      Mux/po2      And/po2      FloatMul
  tern   Mux/q          Mux/po2      Mux/tern     Mux/tern     And/tern     FloatMul
  bin±1  Mux/q          Mux/po2      Mux/tern     Xor/bin±1    And/tern     FloatMul
  bin01  And/q          And/po2      And/tern     And/tern     And/bin01    FloatMul
  float  FloatMul for every input
"""

import functools

from qkeras.qtools.quantized_operators import multiplier_impl as mi
from qkeras.qtools.quantized_operators import quantizer_impl as qi

_Q = qi.QuantizedBits
_P = qi.PowerOfTwo
_T = qi.Ternary
_B = functools.partial(qi.Binary, use_01=False)
_B01 = functools.partial(qi.Binary, use_01=True)
_F = functools.partial(qi.FloatingPoint, bits=None)
_FLOAT = (mi.FloatingPointMultiplier, _F)

# (implementation, output template factory) by [weight mode][input mode].
MULTIPLIER_IMPL_TABLE = (
    ((mi.FixedPointMultiplier, _Q), (mi.Shifter, _Q), (mi.Mux, _Q),
     (mi.Mux, _Q), (mi.AndGate, _Q), _FLOAT),
    ((mi.Shifter, _Q), (mi.Adder, _P), (mi.Mux, _P), (mi.Mux, _P),
     (mi.AndGate, _P), _FLOAT),
    ((mi.Mux, _Q), (mi.Mux, _P), (mi.Mux, _T), (mi.Mux, _T), (mi.AndGate, _T),
     _FLOAT),
    ((mi.Mux, _Q), (mi.Mux, _P), (mi.Mux, _T), (mi.XorGate, _B),
     (mi.AndGate, _T), _FLOAT),
    ((mi.AndGate, _Q), (mi.AndGate, _P), (mi.AndGate, _T), (mi.AndGate, _T),
     (mi.AndGate, _B01), _FLOAT),
    (_FLOAT,) * 6,
)


def _mode(quantizer, role):
  if quantizer is None:
    raise ValueError(f"MultiplierFactory: the {role} quantizer is None.")
  return qi.operand_mode(
      quantizer, f"MultiplierFactory: the {role} quantizer {quantizer!r} has "
      "no QTools mode (0..5); build it with QuantizerFactory.make_quantizer.")


class MultiplierFactory:
  """Makes the ``IMultiplier`` of ``weight * input``."""

  def __init__(self):
    self.multiplier_impl_table = MULTIPLIER_IMPL_TABLE

  def make_multiplier(self, weight_quantizer, input_quantizer):
    """The multiplier of ``weight_quantizer * input_quantizer`` (see the
    module table); its ``output`` is a new ``IQuantizer``."""
    impl_class, template = self.multiplier_impl_table[
        _mode(weight_quantizer, "weight")][_mode(input_quantizer, "input")]
    return impl_class(weight_quantizer, input_quantizer, template())
