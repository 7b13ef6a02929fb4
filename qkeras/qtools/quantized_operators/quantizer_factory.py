# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QKeras quantizer -> QTools number format (QKeras ``quantizer_factory``)."""

import copy

from qkeras import quantizers
from qkeras.qtools import settings
from qkeras.qtools.quantized_operators import quantizer_impl as impl


class TagMissingError(ValueError):
  """A quantizer QTools cannot describe (e.g. ``quantized_linear``)."""


# A quantizer's ``format.family`` -> its QTools format. Quantizers whose
# family is None (quantized_linear, quantized_sigmoid, quantized_hswish) have
# no QTools data type.
_FAMILY_TO_IMPL = {
    "quantized_bits": impl.QuantizedBits,
    "binary": impl.Binary,
    "quantized_relu": impl.QuantizedRelu,
    "ternary": impl.Ternary,
    "quantized_relu_po2": impl.ReluPowerOfTwo,
    "quantized_po2": impl.PowerOfTwo,
    "stochastic_ternary": impl.StochasticTernary,
    "stochastic_binary": impl.StochasticBinary,
    "bernoulli": impl.Bernoulli,
    "quantized_tanh": impl.QuantizedTanh,
    "quantized_ulaw": impl.QuantizedUlaw,
}

# Named formats: "intN" -> quantized_bits(bits, integer, 1), "fpN" -> float.
_INT_MODES = {"int8": (8, 0), "int16": (16, 7), "int32": (32, 10)}
_FLOAT_MODES = {"fp16": 16, "fp32": 32}

_SUPPORTED_TEXT = ", ".join(sorted(_FAMILY_TO_IMPL))


def _is_linear(quantizer):
  """Keras's ``linear`` activation: no quantization, like None."""
  return callable(quantizer) and getattr(quantizer, "__name__",
                                         None) == "linear"


def _impl_class(quantizer):
  """The QTools format class of a QKeras quantizer object, or None."""
  if not isinstance(quantizer, quantizers.BaseQuantizer):
    return None
  return _FAMILY_TO_IMPL.get(quantizer.format.family)


def _describe(quantizer):
  if isinstance(quantizer, quantizers.BaseQuantizer):
    return str(quantizer)
  return getattr(quantizer, "__name__", None) or repr(quantizer)


def _unsupported(quantizer):
  return TagMissingError(
      f"Unsupported quantizer {_describe(quantizer)}: QTools models "
      f"{_SUPPORTED_TEXT} (and the names int8, int16, int32, fp16, fp32); "
      "quantized_linear, quantized_sigmoid, quantized_hswish and float "
      "activations such as relu have no QTools data type.")


class QuantizerFactory:
  """Makes ``IQuantizer`` formats from QKeras quantizers and names.

  The default intermediate format (``make_quantizer(None)``) is
  ``settings.cfg.default_interm_quantizer`` as it was when the factory was
  created.
  """

  def __init__(self):
    # QKeras's public class -> format table, kept for readers (each family is
    # named after its quantizer class); lookups read ``format.family``.
    self.quantizer_lookup = {getattr(quantizers, family): impl_class
                             for family, impl_class in _FAMILY_TO_IMPL.items()}
    self._default_interm_quantizer = settings.cfg.default_interm_quantizer

  def make_quantizer(self, quantizer):
    """The format of ``quantizer``: a QKeras quantizer object, an
    ``IQuantizer`` (copied), a name (``"int8"``, ``"fp32"``, or a quantizer
    string such as ``"quantized_bits(4,0,1)"``, parsed, never evaluated), or
    None / Keras ``linear`` (the default intermediate format).

    Raises TagMissingError for quantizers QTools does not model.
    """
    if quantizer is None or _is_linear(quantizer):
      return self.make_default_quantizer(self._default_interm_quantizer)
    if isinstance(quantizer, impl.IQuantizer):
      return self.clone_quantizer(quantizer)
    if isinstance(quantizer, str):
      return self.make_default_quantizer(quantizer)
    impl_class = _impl_class(quantizer)
    if impl_class is None:
      raise _unsupported(quantizer)
    result = impl_class()
    result.convert_qkeras_quantizer(quantizer)
    return result

  def is_quantizer_supported(self, quantizer):
    """True if ``make_quantizer(quantizer)`` gives a format."""
    if quantizer is None or _is_linear(quantizer):
      return True
    if isinstance(quantizer, impl.IQuantizer):
      return True
    if isinstance(quantizer, str):
      try:
        self.make_default_quantizer(quantizer)
      except ValueError:
        return False
      return True
    return _impl_class(quantizer) is not None

  def make_default_quantizer(self, mode):
    """The format named ``mode``: ``"int8"`` (``quantized_bits(8,0,1)``),
    ``"int16"`` (16,7,1), ``"int32"`` (32,10,1), ``"fp16"``, ``"fp32"``, or
    any quantizer string (``"quantized_relu(4)"``, parsed by
    ``qkeras.quantizers.get_quantizer``). A quantizer object is converted
    as by ``make_quantizer``."""
    if not isinstance(mode, str):
      if mode is None:
        raise ValueError("QuantizerFactory.make_default_quantizer: mode must "
                         "be a quantizer name, got None.")
      return self.make_quantizer(mode)
    name = mode.strip()
    if name in _FLOAT_MODES:
      return impl.FloatingPoint(bits=_FLOAT_MODES[name])
    if name in _INT_MODES:
      bits, integer = _INT_MODES[name]
      result = impl.QuantizedBits()
      result.convert_qkeras_quantizer(quantizers.quantized_bits(bits, integer,
                                                                1))
      return result
    try:
      parsed = quantizers.get_quantizer(name)
    except ValueError as e:
      shown = mode if len(mode) <= 80 else mode[:77] + "..."
      raise ValueError(f"unaccepted quantizer {shown!r}: {e}") from None
    if parsed is None or isinstance(parsed, str) or _is_linear(parsed):
      raise ValueError(f"unaccepted quantizer {mode!r}: not a data type.")
    return self.make_quantizer(parsed)

  def clone_quantizer(self, quantizer):
    """A deep copy of the format ``quantizer``."""
    return copy.deepcopy(quantizer)

