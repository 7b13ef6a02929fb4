# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Chooses the adder of two numbers (QKeras ``adder_factory``).

By the two operands' modes (0 fixed point, 1 po2, 2 ternary, 3 binary ±1,
4 binary 0/1, 5 float): any float -> ``FloatingPointAdder``; po2 + po2 ->
``Po2Adder``; po2 + anything else -> ``Po2FixedPointAdder``; otherwise
``FixedPointAdder``.
"""

from qkeras.qtools.quantized_operators import adder_impl
from qkeras.qtools.quantized_operators import quantizer_impl as qi


def _mode(quantizer, role):
  return qi.operand_mode(quantizer, f"IAdder: the {role} operand "
                         f"{quantizer!r} is not a QTools quantizer "
                         "(mode 0..5).")


def adder_impl_class(mode_1, mode_2):
  """The ``IAdderImpl`` class adding formats of modes ``mode_1``,
  ``mode_2``."""
  if 5 in (mode_1, mode_2):
    return adder_impl.FloatingPointAdder
  if mode_1 == 1 and mode_2 == 1:
    return adder_impl.Po2Adder
  if 1 in (mode_1, mode_2):
    return adder_impl.Po2FixedPointAdder
  return adder_impl.FixedPointAdder


class IAdder:
  """Makes the adder of two formats."""

  def make_quantizer(self, quantizer_1, quantizer_2):
    """The ``IAdderImpl`` of ``quantizer_1 + quantizer_2`` (its ``output``
    is the sum's format)."""
    self.quantizer_1 = quantizer_1
    self.quantizer_2 = quantizer_2
    impl_class = adder_impl_class(_mode(quantizer_1, "first"),
                                  _mode(quantizer_2, "second"))
    return impl_class(quantizer_1, quantizer_2)
