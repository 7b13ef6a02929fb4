# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Gate-count ("ACE") cost of the parts of a layer's hardware.

A multiply-accumulate unit taking ``xbit``-bit inputs and ``wbit``-bit
weights into an ``abit``-bit accumulator costs (QKeras's fit, in gates)::

  mac_gates(x, w, a) = 7.70469119 * x * w + 13.76199652 * a - 92.15756665

(``MAC_POLY3D_PARAMS`` holds the three coefficients). One stored bit costs
``MemoryGatesPerBit[memory]`` gates: 10 in a register, 1 in SRAM, 0.1 in
ROM.

QKeras refitted the polynomial from MAC area tables (accumulators of 24,
32, 40 and 48 bits) with pandas and matplotlib. Those tables are not part of
this package, so there is no refit here (``regen_params=True`` raises) and
neither pandas nor matplotlib is needed: the fitted coefficients are used
as they are.

The polynomial was fitted on those accumulator widths; far below them
(tiny inputs, weights and accumulators) it can go negative, and it is
returned as it is (``divide_and_conquer`` clips a layer's MAC cost at 0).
"""

import numpy as np

# (c_xw, c_a, c_0): mac_gates = c_xw * x * w + c_a * a + c_0.
MAC_POLY3D_PARAMS = np.array([7.70469119, 13.76199652, -92.15756665])

REGISTER = "Register"
SRAM = "SRAM"
ROM = "ROM"

# Gates per stored bit, by memory type.
MemoryGatesPerBit = {REGISTER: 10.0, SRAM: 1.0, ROM: 0.1}

__all__ = ["MAC_POLY3D_PARAMS", "MemoryGatesPerBit", "REGISTER", "SRAM",
           "ROM", "get_ace_mac_gates", "get_memory_gates"]


def get_ace_mac_gates(xbit, wbit, abit, regen_params=False):
  """Gates of one MAC unit: ``7.70469119*x*w + 13.76199652*a - 92.15756665``.

  Args:
    xbit: bits of the input (activation) operand.
    wbit: bits of the weight operand.
    abit: bits of the accumulator.
    regen_params: refit the polynomial first (QKeras); not available here,
      raises NotImplementedError when True.

  Returns:
    The gate count, a Python float (may be negative far below the fitted
    range, see the module docstring).
  """
  if regen_params:
    raise NotImplementedError(
        "get_ace_mac_gates(regen_params=True): refitting the MAC polynomial "
        "needs QKeras's MAC area tables, which are not shipped; the fitted "
        "MAC_POLY3D_PARAMS are used as they are.")
  c_xw, c_a, c_0 = (float(c) for c in MAC_POLY3D_PARAMS)
  return c_xw * float(xbit) * float(wbit) + c_a * float(abit) + c_0


def get_memory_gates(n_bits, memory=REGISTER):
  """Gates to store ``n_bits`` bits: ``n_bits * MemoryGatesPerBit[memory]``.

  Args:
    n_bits: number of bits stored.
    memory: "Register", "SRAM" or "ROM".

  Returns:
    The gate count (float).
  """
  if memory not in MemoryGatesPerBit:
    raise ValueError(f"Unknown memory type {memory!r}; expected one of "
                     f"{sorted(MemoryGatesPerBit)}.")
  return float(n_bits) * MemoryGatesPerBit[memory]
