# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QTools' description of a number format (QKeras ``quantizer_impl``).

An ``IQuantizer`` says how a tensor is stored in hardware; the arithmetic
factories derive the format of every product and sum from it. Fields:

* ``mode``: 0 fixed point (``quantized_bits``-like), 1 power of two,
  2 ternary, 3 binary ±1, 4 binary 0/1, 5 floating point;
* ``bits``: total bits, including the sign bit;
* ``int_bits``: integer bits, *excluding* the sign bit (so a signed
  fixed-point number has ``bits - is_signed - int_bits`` fractional bits);
* ``is_signed``, ``is_floating_point``, ``is_po2``;
* ``max_val_po2``: largest magnitude of a power-of-two format (-1: none);
* ``name`` (QKeras quantizer name), ``op_type`` (what produced it).
"""

import copy
import math

import numpy as np

from qkeras import quantizers

FLOATINGPOINT_BITS = 32


def to_int(value):
  """``value`` (a Python/NumPy number or a Keras variable) as a Python int;
  per-channel values (``QAdaptiveActivation``'s integer bits) give their
  largest."""
  if hasattr(value, "numpy"):
    value = value.numpy()
  return int(np.max(np.asarray(value)))


def get_exp(quantizer):
  """``(-min_exp, max_exp)`` of a power-of-two format.

  With ``n = bits - is_signed`` exponent bits (one of them the exponent's
  sign), ``min_exp = -2**(n-1)`` and ``max_exp = 2**(n-1) - 1``, lowered to
  ``ceil(log2(max_val_po2))`` when a maximum is set (0 if it is <= 0) and
  never below 0. ``-min_exp`` is the number of fractional bits and
  ``max_exp`` the number of integer bits the values need in fixed point.
  """
  non_sign_bits = quantizer.bits - (1 if quantizer.is_signed else 0)
  min_exp = -2**(non_sign_bits - 1)
  max_exp = 2**(non_sign_bits - 1) - 1
  if quantizer.max_val_po2 != -1:
    if quantizer.max_val_po2 <= 0:
      max_exp = 0
    else:
      max_exp = min(max_exp, math.ceil(np.log2(quantizer.max_val_po2)))
  return (-min_exp, max(0, int(max_exp)))


class _RecordsSettings:
  """Mixin: remembers the QKeras quantizer's settings (as QKeras did for
  ``stochastic_binary``, ``bernoulli`` and ``stochastic_ternary``).

  ``_NAME`` is the format's name, also the name of its QKeras quantizer
  function; ``_SETTINGS`` maps each constructor argument the format does
  not describe to its QKeras default. ``convert_qkeras_quantizer`` records
  them, and ``convert_to_qkeras_quantizer()`` rebuilds the same quantizer;
  keyword arguments override single settings.
  """

  _NAME = None
  _SETTINGS = {}

  def __init__(self, **format_arguments):
    super().__init__(**format_arguments)
    self.name = self._NAME
    self._init_settings()

  def convert_qkeras_quantizer(self, quantizer):
    self._record_settings(quantizer)

  def convert_to_qkeras_quantizer(self, **overrides):
    return getattr(quantizers, self._NAME)(**self._settings(overrides))

  def _init_settings(self):
    for name, default in self._SETTINGS.items():
      setattr(self, name, default)

  def _record_settings(self, quantizer):
    for name in self._SETTINGS:
      setattr(self, name, copy.deepcopy(getattr(quantizer, name)))

  def _settings(self, overrides):
    """The recorded settings updated with ``overrides`` (unknown names:
    TypeError, as for any unexpected keyword argument)."""
    unknown = sorted(set(overrides) - set(self._SETTINGS))
    if unknown:
      raise TypeError(
          f"{type(self).__name__}.convert_to_qkeras_quantizer() got "
          f"unexpected keyword arguments {unknown}; it takes "
          f"{sorted(self._SETTINGS)}.")
    settings = {name: getattr(self, name) for name in self._SETTINGS}
    settings.update(overrides)
    return settings


def operand_mode(quantizer, error):
  """The mode (0..5) of an operator's operand ``quantizer``; raises
  ``ValueError(error)`` when it has none (not a QTools format)."""
  mode = getattr(quantizer, "mode", None)
  if mode not in range(6):
    raise ValueError(error)
  return mode


class IQuantizer:
  """Base of the QTools number formats (see the module docstring)."""

  def __init__(self):
    self.mode = -1
    self.bits = -1
    self.int_bits = -1
    self.is_signed = 0
    self.is_floating_point = False
    self.max_val_po2 = -1
    self.is_po2 = 0
    self.name = None
    self.op_type = "quantizer"
    # Number of distinct values of a constant tensor (set at inference for
    # power-of-two weights; -1 when unknown).
    self.inference_value_counts = -1

  def convert_qkeras_quantizer(self, quantizer):
    """Reads the format of the QKeras ``quantizer`` into this object."""
    raise NotImplementedError(type(self).__name__)

  def convert_to_qkeras_quantizer(self, *args, **kwargs):
    """The QKeras quantizer of this format."""
    raise NotImplementedError(type(self).__name__)

  def __repr__(self):
    return (f"{type(self).__name__}(name={self.name!r}, mode={self.mode}, "
            f"bits={self.bits}, int_bits={self.int_bits}, "
            f"is_signed={self.is_signed}, is_po2={self.is_po2}, "
            f"max_val_po2={self.max_val_po2}, "
            f"is_floating_point={self.is_floating_point})")


class QuantizedBits(IQuantizer):
  """Fixed point ``quantized_bits(bits, integer, keep_negative=...)``."""

  def __init__(self):
    super().__init__()
    self.mode = 0
    self.is_signed = 1
    self.name = "quantized_bits"

  def convert_qkeras_quantizer(self, quantizer):
    self.mode = 0
    self.bits = to_int(quantizer.bits)
    self.int_bits = to_int(quantizer.integer)
    self.is_signed = quantizer.keep_negative

  def convert_to_qkeras_quantizer(self, symmetric=1, alpha=None,
                                  use_stochastic_rounding=False,
                                  scale_axis=None, qnoise_factor=1.0,
                                  elements_per_scale=None,
                                  min_po2_exponent=None,
                                  max_po2_exponent=None, var_name=None,
                                  use_ste=True, use_variables=False,
                                  post_training_scale=None,
                                  keep_negative=None):
    """``quantized_bits(bits, int_bits, ...)`` with the given settings.

    As in QKeras the settings the format does not hold are arguments with
    ``quantized_bits``'s defaults, except ``symmetric`` (1, as QKeras);
    ``keep_negative`` defaults to ``is_signed``.
    """
    if keep_negative is None:
      keep_negative = self.is_signed
    return quantizers.quantized_bits(
        bits=self.bits, integer=self.int_bits, symmetric=symmetric,
        keep_negative=keep_negative, alpha=alpha,
        use_stochastic_rounding=use_stochastic_rounding,
        scale_axis=scale_axis, qnoise_factor=qnoise_factor,
        var_name=var_name, use_ste=use_ste, use_variables=use_variables,
        elements_per_scale=elements_per_scale,
        min_po2_exponent=min_po2_exponent, max_po2_exponent=max_po2_exponent,
        post_training_scale=post_training_scale)


class _SignedFixedPoint(QuantizedBits):
  """A signed fixed-point format (mode 0) named ``_NAME``, read from a
  quantizer's ``bits`` and, with ``_HAS_INTEGER``, its ``integer``."""

  _NAME = None
  _HAS_INTEGER = True

  def __init__(self):
    super().__init__()
    self.name = self._NAME

  def convert_qkeras_quantizer(self, quantizer):
    self.mode = 0
    self.bits = to_int(quantizer.bits)
    if self._HAS_INTEGER:
      self.int_bits = to_int(quantizer.integer)
    self.is_signed = 1


class QuantizedTanh(_SignedFixedPoint):
  """``quantized_tanh(bits)``: signed, ``int_bits`` left at -1 (as QKeras)."""

  _NAME = "quantized_tanh"
  _HAS_INTEGER = False

  def convert_to_qkeras_quantizer(self, symmetric=False,
                                  use_stochastic_rounding=False,
                                  use_real_tanh=False):
    return quantizers.quantized_tanh(
        bits=self.bits, use_stochastic_rounding=use_stochastic_rounding,
        symmetric=symmetric, use_real_tanh=use_real_tanh)


class QuantizedUlaw(_SignedFixedPoint):
  """``quantized_ulaw(bits, integer)``: signed fixed point."""

  _NAME = "quantized_ulaw"

  def convert_to_qkeras_quantizer(self, symmetric=0, u=255.0):
    return quantizers.quantized_ulaw(bits=self.bits, integer=self.int_bits,
                                     symmetric=symmetric, u=u)


class Binary(IQuantizer):
  """One bit: ±1 (mode 3, signed) or, with ``use_01``, 0/1 (mode 4)."""

  def __init__(self, use_01=False):
    super().__init__()
    self.bits = 1
    self.int_bits = 1
    self.name = "binary"
    self._set_use_01(use_01)

  def _set_use_01(self, use_01):
    self.use_01 = use_01
    self.mode = 4 if use_01 else 3
    self.is_signed = 0 if use_01 else 1

  def convert_qkeras_quantizer(self, quantizer):
    self._set_use_01(quantizer.use_01)

  def convert_to_qkeras_quantizer(self, alpha=None,
                                  use_stochastic_rounding=False,
                                  scale_axis=None, elements_per_scale=None,
                                  min_po2_exponent=None,
                                  max_po2_exponent=None):
    return quantizers.binary(use_01=self.use_01, alpha=alpha,
                             use_stochastic_rounding=use_stochastic_rounding,
                             scale_axis=scale_axis,
                             elements_per_scale=elements_per_scale,
                             min_po2_exponent=min_po2_exponent,
                             max_po2_exponent=max_po2_exponent)


class StochasticBinary(_RecordsSettings, Binary):
  """``stochastic_binary()``: ±1 at inference; keeps the quantizer's
  ``alpha``, ``temperature`` and ``use_real_sigmoid``."""

  _NAME = "stochastic_binary"
  _SETTINGS = {"alpha": None, "temperature": 6.0, "use_real_sigmoid": True}

  def __init__(self):
    super().__init__(use_01=False)


class Bernoulli(_RecordsSettings, Binary):
  """``bernoulli()``: 0/1; keeps the quantizer's ``alpha``,
  ``temperature`` and ``use_real_sigmoid``."""

  _NAME = "bernoulli"
  _SETTINGS = {"alpha": None, "temperature": 6.0, "use_real_sigmoid": True}

  def __init__(self):
    super().__init__(use_01=True)


class QuantizedRelu(IQuantizer):
  """``quantized_relu(bits, integer)``: unsigned fixed point (signed with a
  negative slope); ``quantized_relu(1, 1)`` is a 0/1 binary (mode 4)."""

  def __init__(self):
    super().__init__()
    self.is_signed = 0
    self.name = "quantized_relu"

  def convert_qkeras_quantizer(self, quantizer):
    self.bits = to_int(quantizer.bits)
    self.int_bits = to_int(quantizer.integer)
    self.mode = 4 if (self.bits == 1 and self.int_bits == 1) else 0
    if getattr(quantizer, "negative_slope", 0) != 0:
      self.is_signed = 1

  def convert_to_qkeras_quantizer(self, use_sigmoid=0, negative_slope=0.0,
                                  use_stochastic_rounding=False,
                                  relu_upper_bound=None,
                                  is_quantized_clip=True, qnoise_factor=1.0,
                                  var_name=None, use_ste=True,
                                  use_variables=False,
                                  enable_fast_inference=False):
    return quantizers.quantized_relu(
        bits=self.bits, integer=self.int_bits, use_sigmoid=use_sigmoid,
        negative_slope=negative_slope,
        use_stochastic_rounding=use_stochastic_rounding,
        relu_upper_bound=relu_upper_bound,
        is_quantized_clip=is_quantized_clip, qnoise_factor=qnoise_factor,
        var_name=var_name, use_ste=use_ste, use_variables=use_variables,
        enable_fast_inference=enable_fast_inference)


class Ternary(IQuantizer):
  """-1, 0, 1: two bits (QKeras counts both as integer bits), signed."""

  def __init__(self):
    super().__init__()
    self.mode = 2
    self.bits = 2
    self.int_bits = 2
    self.is_signed = 1
    self.name = "ternary"

  def convert_qkeras_quantizer(self, quantizer):
    pass

  def convert_to_qkeras_quantizer(self, alpha=None, threshold=None,
                                  use_stochastic_rounding=False,
                                  number_of_unrolls=5):
    return quantizers.ternary(
        alpha=alpha, threshold=threshold,
        use_stochastic_rounding=use_stochastic_rounding,
        number_of_unrolls=number_of_unrolls)


class StochasticTernary(_RecordsSettings, Ternary):
  """``stochastic_ternary()``: ternary at inference; keeps the quantizer's
  ``alpha``, ``threshold``, ``temperature``, ``use_real_sigmoid`` and
  ``number_of_unrolls``."""

  _NAME = "stochastic_ternary"
  _SETTINGS = {"alpha": None, "threshold": None, "temperature": 8.0,
               "use_real_sigmoid": True, "number_of_unrolls": 5}


class FloatingPoint(IQuantizer):
  """An unquantized float of ``bits`` bits (16 or 32; None: not decided)."""

  def __init__(self, bits):
    super().__init__()
    self.mode = 5
    self.bits = bits
    self.is_signed = 1
    self.is_floating_point = True
    self.name = "floating_point"

  def convert_qkeras_quantizer(self, bits):
    """Sets the float width (there is no QKeras float quantizer)."""
    if bits is not None:
      self.bits = to_int(bits)

  def convert_to_qkeras_quantizer(self, *args, **kwargs):
    """None: in QKeras an unquantized tensor has no quantizer."""
    return None


class PowerOfTwo(IQuantizer):
  """``quantized_po2`` (signed) / ``quantized_relu_po2``: values
  ``±2**e``; ``bits`` counts the value's sign and the exponent (with its
  sign), ``int_bits = bits``."""

  _ALWAYS_RELU = False  # convert back to quantized_relu_po2 whatever the sign

  def __init__(self, is_signed=True):
    super().__init__()
    self.mode = 1
    self.is_po2 = 1
    self.is_signed = is_signed
    self.name = "quantized_po2" if is_signed else "quantized_relu_po2"

  def _set_name_from_sign(self):
    self.name = "quantized_po2" if self.is_signed else "quantized_relu_po2"

  def convert_qkeras_quantizer(self, quantizer):
    fmt = (quantizer.format
           if isinstance(quantizer, quantizers.BaseQuantizer) else None)
    if fmt is None or fmt.family not in ("quantized_po2", "quantized_relu_po2"):
      raise ValueError(
          f"PowerOfTwo.convert_qkeras_quantizer: expected quantized_po2 or "
          f"quantized_relu_po2, got {quantizer!r}.")
    self.is_signed = int(fmt.signed)
    self.name = fmt.family
    self.bits = to_int(quantizer.bits)
    self.int_bits = self.bits
    self.max_val_po2 = quantizer.max_value if quantizer.max_value else -1

  def convert_to_qkeras_quantizer(self, negative_slope=0,
                                  use_stochastic_rounding=False,
                                  quadratic_approximation=False,
                                  log2_rounding="rnd", qnoise_factor=1.0,
                                  var_name=None, use_ste=True,
                                  use_variables=False):
    """``quantized_po2`` (signed) or ``quantized_relu_po2`` (unsigned, the
    only one with a ``negative_slope``) of ``bits`` and ``max_val_po2``."""
    kwargs = dict(
        bits=self.bits,
        max_value=self.max_val_po2 if self.max_val_po2 >= 0 else None,
        use_stochastic_rounding=use_stochastic_rounding,
        quadratic_approximation=quadratic_approximation,
        log2_rounding=log2_rounding, qnoise_factor=qnoise_factor,
        var_name=var_name, use_ste=use_ste, use_variables=use_variables)
    if self._ALWAYS_RELU or not self.is_signed:
      return quantizers.quantized_relu_po2(negative_slope=negative_slope,
                                           **kwargs)
    return quantizers.quantized_po2(**kwargs)

  def get_min_max_exp(self):
    """``(-min_exp, max_exp)``, see ``get_exp``."""
    return get_exp(self)

  def quantizer_bits_calculator(self, val):
    """``(sign_bit, non_sign_bits)`` needed to store the po2 value ``val``.

    With ``e = log2|val|`` (must be an integer): ``e = 0`` needs 1 bit,
    ``e > 0`` needs ``floor(log2 e) + 2`` (magnitude + exponent sign),
    ``e < 0`` needs ``ceil(log2 |e|) + 1``; ``val = 0`` keeps
    ``bits - sign_bit`` (QKeras stores 0 as the smallest power of two).
    """
    sign_bit = bool(val < 0)
    val = abs(float(val))
    if val == 0:
      return sign_bit, self.bits - int(sign_bit)
    exp = np.log2(val)
    if np.round(exp) != exp:
      raise ValueError(f"PowerOfTwo: {val} is not a power of two.")
    exp = int(exp)
    if exp == 0:
      non_sign_bits = 1
    elif exp > 0:
      non_sign_bits = math.floor(np.log2(exp)) + 2
    else:
      non_sign_bits = math.ceil(np.log2(-exp)) + 1
    return sign_bit, int(non_sign_bits)

  def update_quantizer(self, val, reset=False):
    """Fits the format to the value ``val``: ``bits`` becomes the bits
    ``val`` needs (``reset``) or the smaller of that and the current bits;
    ``max_val_po2`` becomes ``|val|`` (or stays smaller); the sign follows
    ``val``."""
    sign_bit, non_sign_bits = self.quantizer_bits_calculator(val)
    needed = int(sign_bit) + non_sign_bits
    self.bits = needed if reset else min(self.bits, needed)
    self.int_bits = self.bits
    magnitude = abs(float(val))
    if reset or self.max_val_po2 == -1:
      self.max_val_po2 = magnitude
    else:
      self.max_val_po2 = min(magnitude, self.max_val_po2)
    self.is_signed = int(sign_bit)
    self._set_name_from_sign()

  def update_inference_values(self, weights):
    """Records how many distinct values the constant ``weights`` hold."""
    self.inference_value_counts = len(np.unique(np.asarray(weights)))


class ReluPowerOfTwo(PowerOfTwo):
  """``quantized_relu_po2``: unsigned power of two."""

  _ALWAYS_RELU = True

  def __init__(self):
    super().__init__(is_signed=False)
    self.is_signed = 0

  def convert_qkeras_quantizer(self, quantizer):
    self.bits = to_int(quantizer.bits)
    self.int_bits = self.bits
    self.max_val_po2 = quantizer.max_value if quantizer.max_value else -1
