# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Argument checks shared by the quantizers.

Every check raises ``ValueError`` with one message shape:
``<owner>: argument '<name>' must be <what is allowed>, got <value>.``
"""

import numbers

import numpy as np

# Hard limits that keep float32 arithmetic meaningful.
MAX_BITS = 64
MAX_PO2_BITS = 32
MAX_INTEGER_BITS = 127
# The largest finite float32: quantizers compute in float32, so a number
# argument beyond it would become inf (and then NaN) inside the tensors.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def fail(owner, name, allowed, value):
  raise ValueError(
      f"{owner}: argument '{name}' must be {allowed}, got {value!r}.")


def is_tensor_like(value):
  """True for Keras/TF variables and tensors (left unchecked on purpose)."""
  return hasattr(value, "dtype") and hasattr(value, "shape") and not isinstance(
      value, (np.ndarray, np.generic))


def _as_float(value):
  """``float(value)``, or None where it overflows (a huge Python int)."""
  try:
    return float(value)
  except (OverflowError, ValueError, TypeError):
    return None


def plain_number(value):
  """``value`` as a plain Python/NumPy number for configs and arithmetic.

  ``int``, ``float`` and NumPy numbers are kept; other real numbers
  (``fractions.Fraction``, ...) become ``float`` (``int`` when integral
  ``numbers.Integral``), so that ``get_config()`` stays JSON-serializable.
  """
  if isinstance(value, (bool, int, float, np.generic)):
    return value
  if isinstance(value, numbers.Integral):
    return int(value)
  return float(value)


def check_int(owner, name, value, lo=None, hi=None):
  """An integer (integral floats such as 4.0 are accepted) in [lo, hi]."""
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, numbers.Real):
    fail(owner, name, _int_range_text(lo, hi), value)
  as_float = _as_float(value)
  if as_float is None or not as_float.is_integer():
    fail(owner, name, _int_range_text(lo, hi), value)
  ivalue = int(value)
  if (lo is not None and ivalue < lo) or (hi is not None and ivalue > hi):
    fail(owner, name, _int_range_text(lo, hi), value)
  return ivalue


def _int_range_text(lo, hi):
  if lo is not None and hi is not None:
    return f"an integer in [{lo}, {hi}]"
  if lo is not None:
    return f"an integer >= {lo}"
  if hi is not None:
    return f"an integer <= {hi}"
  return "an integer"


def check_bits(owner, value, lo=1, hi=MAX_BITS, name="bits"):
  return check_int(owner, name, value, lo, hi)


def check_integer_bits(owner, value, name="integer"):
  """Integer bits: a Python int in [-127, 127], or a variable/tensor."""
  if is_tensor_like(value):
    return value
  return check_int(owner, name, value, -MAX_INTEGER_BITS, MAX_INTEGER_BITS)


def check_flag(owner, name, value):
  """A boolean given as bool or an integer (QKeras tests its truth value).

  Any integer is accepted because QKeras code passes e.g.
  ``quantized_tanh(6, 2, 1)``, where 2 means use_stochastic_rounding=True.
  """
  if isinstance(value, (bool, np.bool_)):
    return value
  if isinstance(value, numbers.Real):
    as_float = _as_float(value)
    if as_float is not None and as_float.is_integer():
      return plain_number(value)
  fail(owner, name, "a boolean (True/False, 0/1)", value)


def check_bit_flag(owner, name, value):
  """A boolean used in arithmetic (e.g. ``bits - keep_negative``): a bool,
  0 or 1 (other integers would change the number of bits or codes)."""
  value = check_flag(owner, name, value)
  if float(value) not in (0.0, 1.0):
    fail(owner, name, "a boolean (True/False, 0/1)", value)
  return value


def check_number(owner, name, value, lo=None, hi=None, lo_open=False,
                 allow_none=False, allow_tensor=False):
  """A finite real number in the given range (``lo_open``: lo excluded).

  Also finite in float32 (``|value| <= FLOAT32_MAX``), the precision the
  quantizers compute in. Non-float real numbers such as ``Fraction`` are
  returned as floats (see ``plain_number``).
  """
  if value is None and allow_none:
    return value
  if allow_tensor and is_tensor_like(value):
    return value
  text = _range_text(lo, hi, lo_open, allow_none)
  if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, numbers.Real):
    fail(owner, name, text, value)
  v = _as_float(value)
  if v is None or not abs(v) <= FLOAT32_MAX:
    fail(owner, name, text, value)
  if lo is not None and (v < lo or (lo_open and v == lo)):
    fail(owner, name, text, value)
  if hi is not None and v > hi:
    fail(owner, name, text, value)
  return plain_number(value)


def _range_text(lo, hi, lo_open, allow_none):
  text = "a finite (float32) number"
  if lo is not None and hi is not None:
    text += f" in {'(' if lo_open else '['}{lo}, {hi}]"
  elif lo is not None:
    text += f" {'>' if lo_open else '>='} {lo}"
  elif hi is not None:
    text += f" <= {hi}"
  if allow_none:
    text += " or None"
  return text


def check_choice(owner, name, value, choices):
  if not isinstance(value, str) or value not in choices:
    allowed = "one of " + ", ".join(repr(c) for c in choices)
    fail(owner, name, allowed, value)
  return value


def check_alpha(owner, value, allow_array=True):
  """None, a positive number, "auto", "auto_po2", or (optionally) an array.

  Lists and arrays are returned as float32 NumPy arrays.
  """
  allowed = ("None, a positive number, 'auto' or 'auto_po2'" +
             (", or a list/array of positive numbers" if allow_array else "") +
             " (numbers at most 3.4028235e+38, the float32 limit)")
  if value is None:
    return None
  if isinstance(value, str):
    if value not in ("auto", "auto_po2"):
      fail(owner, "alpha", allowed, value)
    return value
  if isinstance(value, (list, tuple, np.ndarray)):
    if not allow_array:
      fail(owner, "alpha", allowed, value)
    try:
      with np.errstate(over="ignore"):  # beyond float32 -> inf, rejected
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError, OverflowError):
      fail(owner, "alpha", allowed, value)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
      fail(owner, "alpha", allowed, value)
    return arr
  v = None if isinstance(value, (bool, np.bool_)) or not isinstance(
      value, numbers.Real) else _as_float(value)
  if v is None or not 0.0 < v <= FLOAT32_MAX:
    fail(owner, "alpha", allowed, value)
  return plain_number(value)


def check_power_of_two_or_zero(owner, name, value):
  """0 or a positive power of two (negative slopes must be exact shifts)."""
  value = check_number(owner, name, value, lo=0.0)
  v = float(value)
  if v != 0.0 and not float(np.log2(v)).is_integer():
    fail(owner, name, "0 or a power of two such as 0.5, 0.25, 0.125", value)
  return value


def check_scale_axis(owner, value, name="scale_axis"):
  """None, an int, or a list of ints."""
  if value is None:
    return None
  if isinstance(value, (list, tuple)):
    if not value:
      fail(owner, name, "None, an axis or a non-empty list of axes", value)
    return [check_int(owner, name, a) for a in value]
  return check_int(owner, name, value)


def check_elements_per_scale(owner, value):
  if value is None:
    return None
  if isinstance(value, (list, tuple)):
    if not value:
      fail(owner, "elements_per_scale", "None, a positive int or a list of them",
           value)
    return [check_int(owner, "elements_per_scale", v, 1) for v in value]
  return check_int(owner, "elements_per_scale", value, 1)
