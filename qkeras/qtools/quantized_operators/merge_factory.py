# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Output formats of Keras merge layers (QKeras ``merge_factory``).

Each merge object has ``output`` (the format), ``gate_factor`` and
``gate_bits`` (energy, relative to an adder) and ``implemented_as()``.
Po2 inputs are compared/added in their fixed-point form
(``po2_qbits_converter``); any float input makes a float output as wide as
the widest float input.
"""

import copy

from qkeras.qtools.quantized_operators import adder_impl
from qkeras.qtools.quantized_operators import multiplier_factory
from qkeras.qtools.quantized_operators import quantizer_impl


def _as_quantizer(item):
  """An input is a format or a ``(format, edge)`` pair (from the graph)."""
  if isinstance(item, (tuple, list)):
    return item[0], (item[1] if len(item) > 1 else None)
  return item, None


class IMerger:
  """A merge of ``input_qe_list`` (formats or ``(format, edge)`` pairs)."""

  min_inputs = 1
  max_inputs = None

  def __init__(self, input_qe_list):
    self.input_quantizers = []
    self.edges = []
    for item in input_qe_list:
      quantizer, edge = _as_quantizer(item)
      if not isinstance(quantizer, quantizer_impl.IQuantizer):
        raise ValueError(
            f"{type(self).__name__}: inputs must be QTools quantizers, got "
            f"{quantizer!r}.")
      self.input_quantizers.append(quantizer)
      self.edges.append(edge)
    n = len(self.input_quantizers)
    if n < self.min_inputs or (self.max_inputs and n > self.max_inputs):
      raise ValueError(f"{type(self).__name__}: got {n} inputs.")

  def _widest(self, grow):
    """A fixed-point format with ``max(bits) + grow``, ``max(int_bits) +
    grow``, signed if any input is; a float one if any input is float."""
    floats = [q.bits for q in self.input_quantizers if q.is_floating_point]
    if floats:
      return quantizer_impl.FloatingPoint(bits=max(floats))
    fixed = [adder_impl.po2_qbits_converter(q) if q.is_po2 else q
             for q in self.input_quantizers]
    out = quantizer_impl.QuantizedBits()
    out.bits = max(q.bits for q in fixed) + grow
    out.int_bits = max(q.int_bits for q in fixed) + grow
    is_signed = False
    for q in self.input_quantizers:
      is_signed |= q.is_signed
    out.is_signed = is_signed
    out.is_po2 = 0
    return out

  @staticmethod
  def implemented_as():
    return "add"


class Add(IMerger):
  """Sum: ``bits = max(bits) + 1``, ``int_bits = max(int_bits) + 1``;
  gate_factor 1."""

  def __init__(self, input_qe_list):
    super().__init__(input_qe_list)
    self.output = self._widest(1)
    self.gate_factor = 1
    self.gate_bits = self.output.bits


class Subtract(Add):
  """Difference of two inputs: as ``Add``, plus a sign bit (``bits + 1``,
  signed) when both inputs are unsigned."""

  min_inputs = 2
  max_inputs = 2

  def __init__(self, input_qe_list):
    super().__init__(input_qe_list)
    if (not self.output.is_floating_point and
        not any(q.is_signed for q in self.input_quantizers)):
      self.output.is_signed = 1
      self.output.bits += 1
      self.gate_bits = self.output.bits


class Multiply(IMerger):
  """Element-wise product: the multipliers ``((x0 * x1) * x2) ...`` of
  ``MultiplierFactory``; energy and ``implemented_as`` of the last one."""

  min_inputs = 2

  def __init__(self, input_qe_list):
    super().__init__(input_qe_list)
    factory = multiplier_factory.MultiplierFactory()
    quantizer = self.input_quantizers[0]
    for current in self.input_quantizers[1:]:
      self.impl_class = factory.make_multiplier(quantizer, current)
      quantizer = self.impl_class.output
    self.output = quantizer
    self.gate_factor = self.impl_class.gate_factor
    self.gate_bits = self.impl_class.gate_bits

  def implemented_as(self):
    return self.impl_class.implemented_as()


def _same_format(a, b):
  return (a.name == b.name and a.bits == b.bits and
          a.int_bits == b.int_bits and a.is_signed == b.is_signed)


class Maximum(IMerger):
  """Element-wise maximum: the inputs' format if they all have the same
  (name, bits, int_bits, sign), else ``max(bits)``, ``max(int_bits)``;
  gate_factor 0.2."""

  gate = 0.2

  def __init__(self, input_qe_list):
    super().__init__(input_qe_list)
    first = self.input_quantizers[0]
    if all(_same_format(first, q) for q in self.input_quantizers[1:]):
      self.output = copy.deepcopy(first)
    else:
      self.output = self._widest(0)
    self.gate_factor = self.gate
    self.gate_bits = self.output.bits


class Minimum(Maximum):
  """Element-wise minimum: as ``Maximum``."""


class Average(Maximum):
  """Element-wise average: format as ``Maximum``; gate_factor 1."""

  gate = 1


class Concatenate(Maximum):
  """Concatenation: format as ``Maximum``; no arithmetic (gate_factor 0)."""

  gate = 0


_MERGERS = {cls.__name__: cls for cls in (Add, Subtract, Multiply, Maximum,
                                          Minimum, Average, Concatenate)}


class MergeFactory:
  """Makes the merge object of a Keras merge layer."""

  def make_quantizer(self, input_qe_list, layer_type):
    """The merge of ``input_qe_list`` for the layer class name
    ``layer_type`` (Add, Subtract, Multiply, Maximum, Minimum, Average,
    Concatenate). ``Dot`` and other names raise ValueError."""
    if layer_type == "Dot":
      raise ValueError(
          "MergeFactory: QTools does not model the Dot merge layer (its "
          "output is a sum of products; QKeras left it unimplemented).")
    merger = _MERGERS.get(layer_type)
    if merger is None:
      raise ValueError(
          f"MergeFactory: unknown merge layer type {layer_type!r}; expected "
          f"one of {sorted(_MERGERS)}.")
    return merger(input_qe_list)
