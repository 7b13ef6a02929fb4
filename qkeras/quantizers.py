# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QKeras quantizers for Keras 3.

Every quantizer of QKeras 0.9 with the same constructor arguments, the same
outputs (bit for bit, in inference, for float32 inputs), the same ``scale``
attribute after a call, ``max()``/``min()``/``range()``, ``get_config()`` keys
and ``__str__`` text. Differences from QKeras 0.9 are listed in
``docs/compat.md``.

Call a quantizer as ``q(x, training=None)``. Stochastic quantizers
(``stochastic_*``, ``bernoulli``, ``use_stochastic_rounding=True``) are random
only when ``training`` is true; otherwise they are deterministic.

Notation in the docstrings: ``m = 2**(bits - keep_negative)`` (codes per sign),
``m_i = 2**integer``, ``round`` = round half to even, ``eps`` = 1e-7, and
``ste(x, xq)`` a straight-through estimator (value ``xq``, gradient 1 w.r.t.
``x``).
"""

import re
import sys

import keras
from keras import ops
import numpy as np

from qkeras import _qmath
from qkeras import _quantizer_args as A
from qkeras import _validate as V
from qkeras import quantizer_registry
from qkeras import safe_eval as _safe_eval
from qkeras.base_quantizer import BaseQuantizer
from qkeras.base_quantizer import QuantizerFormat
from qkeras.base_quantizer import _create_variable_name  # pylint: disable=unused-import

__all__ = [
    "BaseQuantizer", "quantized_linear", "quantized_bits", "bernoulli",
    "ternary", "stochastic_ternary", "binary", "stochastic_binary",
    "quantized_relu", "quantized_ulaw", "quantized_tanh", "quantized_sigmoid",
    "quantized_po2", "quantized_relu_po2", "quantized_hswish",
    "smooth_sigmoid", "hard_sigmoid", "binary_sigmoid", "binary_tanh",
    "hard_tanh", "smooth_tanh", "set_internal_sigmoid", "stochastic_round",
    "stochastic_round_po2", "fast_relu_quantize", "get_quantizer",
    "get_quantized_initializer", "get_weight_scale",
]


def _register(obj):
  """Registers a quantizer class (or function) with Keras and QKeras.

  Classes are also registered under their plain name, the name Keras-2 QKeras
  files use. Functions are not: a plain "hard_sigmoid" must keep meaning
  Keras's own function when Keras reads other files.
  """
  keras.saving.register_keras_serializable(
      package="qkeras", name=obj.__name__)(obj)
  if isinstance(obj, type):
    quantizer_registry.register_quantizer(obj)
    keras.saving.get_custom_objects().setdefault(obj.__name__, obj)
  return obj


# ==========================================================================
# Module-level helpers (QKeras names).
# ==========================================================================
def get_weight_scale(quantizer, x=None):  # pylint: disable=unused-argument
  """The ``scale`` of ``quantizer`` after its last call as NumPy, else 1.0."""
  scale = getattr(quantizer, "scale", None)
  if scale is None:
    return 1.0
  return _qmath.to_numpy(scale) if not isinstance(
      scale, (float, int)) else scale


def _get_integer_bits(min_value, max_value, bits=8, symmetric=False,
                      keep_negative=False, is_clipping=True):
  """Integer bits needed to cover ``[min_value, max_value]`` (per element).

  Without ``keep_negative`` both bounds are clamped at 0. With clipping the
  integer bits are ``round(max(log2|v|, 0))``; without, ``ceil`` and one more
  bit when the bound exceeds the largest representable value
  ``2**i - 2**min(i - unsigned_bits, 0)`` (and, if symmetric, likewise for the
  negative bound). The result is capped at ``bits - keep_negative`` (int32).
  """
  min_value = ops.convert_to_tensor(min_value, "float32")
  max_value = ops.convert_to_tensor(max_value, "float32")
  if not keep_negative:
    min_value = _qmath.maximum(min_value, 0.0)
    max_value = _qmath.maximum(max_value, 0.0)
  unsigned_bits = bits - keep_negative
  mode = "rnd" if is_clipping else "ceil"

  def positive_log2_bits(v):
    # mode(max(log2|v|, 0)) as QKeras's float32 log gives it (NaN -> 0).
    code = _qmath.minimum(_qmath.log2_code(ops.abs(v), mode), 1000)
    return ops.where(ops.isnan(v), 0, _qmath.maximum(code, 0))

  min_int_bits = positive_log2_bits(min_value)
  max_int_bits = positive_log2_bits(max_value)
  if not is_clipping:
    max_value_po2 = _qmath.pow2_exact(max_int_bits) - _qmath.pow2_exact(
        _qmath.minimum(max_int_bits - unsigned_bits, 0))
    max_int_bits = ops.where(max_value <= max_value_po2, max_int_bits,
                             max_int_bits + 1)
    if symmetric:
      min_value_po2 = -_qmath.pow2_exact(min_int_bits) + _qmath.pow2_exact(
          _qmath.minimum(min_int_bits - unsigned_bits, 0))
      min_int_bits = ops.where(min_value_po2 <= min_value, min_int_bits,
                               min_int_bits + 1)
  integer_bits = ops.cast(_qmath.maximum(min_int_bits, max_int_bits), "int32")
  return _qmath.minimum(unsigned_bits, integer_bits)


def _get_scaling_axis(scale_axis, len_axis):
  """Axes reduced for per-channel scales (see ``_qmath.scaling_axes``)."""
  return _qmath.scaling_axes(scale_axis, len_axis)


def _auto_scale_axes(rank, scale_axis):
  """Axes reduced for the "auto" scales: all of a scalar (None) or vector
  (``[0]``), else all but the scale axes (``_qmath.scaling_axes``)."""
  if rank == 0:
    return None
  if rank == 1:
    return [0]
  return _qmath.scaling_axes(scale_axis, rank)


def _clip_po2_scale(scale, min_po2_exponent, max_po2_exponent):
  """Clips a po2 scale to ``[2**min_po2_exponent, 2**max_po2_exponent]``."""
  return _qmath.clip_po2_scale(scale, min_po2_exponent, max_po2_exponent)


def _get_least_squares_scale(alpha, x, q, scale_axis=None,
                             per_channel_scale=True, elements_per_scale=None,
                             min_po2_exponent=None, max_po2_exponent=None):
  """Least-squares scale of ``x ~ s*q`` (see ``_qmath.least_squares_scale``)."""
  if isinstance(alpha, str) and alpha not in ("auto", "auto_po2"):
    V.fail("_get_scale", "alpha", "'auto' or 'auto_po2'", alpha)
  return _qmath.least_squares_scale(alpha, x, q, scale_axis, per_channel_scale,
                                    elements_per_scale, min_po2_exponent,
                                    max_po2_exponent)


_get_scale = _get_least_squares_scale


def _get_unrolled_shape(input_shape, unroll_factor, unroll_axis):
  """Shape with each ``unroll_axis`` split into ``(n / factor, factor)``.

  Returns ``(unrolled_shape, unrolled_axis)``: the new shape (a list) and
  where each unrolled axis is in it. ``unroll_factor`` and ``unroll_axis``
  are both ints or both lists of the same length. E.g. ``[16, 32]`` with
  factor 4 on axis 1 -> ``([16, 8, 4], 1)``; with factors ``[2, 4]`` on
  axes ``[0, 1]`` -> ``([8, 2, 8, 4], [0, 2])``.
  """
  if isinstance(unroll_axis, (list, tuple)):
    if (not isinstance(unroll_factor, (list, tuple)) or
        len(unroll_factor) != len(unroll_axis)):
      V.fail("_get_unrolled_shape", "unroll_factor",
             f"a list of {len(unroll_axis)} ints (one per unroll_axis)",
             unroll_factor)
    axes, factors = list(unroll_axis), list(unroll_factor)
  else:
    axes, factors = [unroll_axis], [unroll_factor]
  shape = list(input_shape)
  rank = len(shape)
  order = sorted(range(len(axes)), key=lambda i: axes[i] % rank)
  unrolled, new_axes, taken = [], [0] * len(axes), 0
  for i in order:
    axis, factor = axes[i] % rank, int(factors[i])
    if factor <= 0 or shape[axis] % factor:
      V.fail("_get_unrolled_shape", "unroll_factor",
             f"a positive divisor of the length {shape[axis]} of axis {axis}",
             factor)
    unrolled += shape[taken:axis]
    new_axes[i] = len(unrolled)
    unrolled += [shape[axis] // factor, factor]
    taken = axis + 1
  unrolled += shape[taken:]
  if isinstance(unroll_axis, (list, tuple)):
    return unrolled, new_axes
  return unrolled, new_axes[0]


def _get_rolled_back_shape(input_shape, roll_axis):
  """Inverse of ``_get_unrolled_shape``: merges each ``roll_axis`` with the
  axis after it. E.g. ``[16, 8, 4]`` with ``roll_axis=1`` -> ``[16, 32]``;
  ``[8, 2, 8, 4]`` with ``roll_axis=[0, 2]`` -> ``[16, 32]``.
  """
  axes = roll_axis if isinstance(roll_axis, (list, tuple)) else [roll_axis]
  shape = list(input_shape)
  for axis in sorted((a % len(shape) for a in axes), reverse=True):
    if axis + 1 >= len(shape):
      V.fail("_get_rolled_back_shape", "roll_axis",
             f"axes followed by another axis of {list(input_shape)}", roll_axis)
    shape[axis:axis + 2] = [shape[axis] * shape[axis + 1]]
  return shape


def _validate_axis_and_eps(x_shape, scale_axis, elements_per_scale):
  """Checks ``scale_axis`` / ``elements_per_scale`` against ``x_shape``.

  Returns both as lists of the same length (an int ``elements_per_scale``
  applies to every scale axis); each count must divide its axis' length.
  """
  rank = len(x_shape)
  if scale_axis is None:
    scale_axis = [a for a in range(rank)
                  if a not in _qmath.scaling_axes(None, rank)]
  axes = list(scale_axis) if isinstance(scale_axis, (list, tuple)) else [
      scale_axis]
  axes = [int(a) % rank for a in axes]
  if isinstance(elements_per_scale, (list, tuple)):
    counts = [int(e) for e in elements_per_scale]
  else:
    counts = [int(elements_per_scale)] * len(axes)
  if len(counts) != len(axes):
    V.fail("_validate_axis_and_eps", "elements_per_scale",
           f"one value per scale axis {axes}", elements_per_scale)
  for axis, count in zip(axes, counts):
    if count <= 0 or x_shape[axis] % count:
      V.fail("_validate_axis_and_eps", "elements_per_scale",
             f"positive divisors of the scale axes' lengths "
             f"{[x_shape[a] for a in axes]}", elements_per_scale)
  return axes, counts


def _repeat_along_axis(x, repeats, axis):
  """Repeats each element of ``x`` ``repeats`` times along ``axis``."""
  return ops.repeat(_qmath.to_float_tensor(x), repeats, axis=axis)


def _repeat_along_axes(x, repeats, axes):
  """``_repeat_along_axis`` for each ``(repeat, axis)`` pair."""
  for repeat, axis in zip(repeats, axes):
    x = _repeat_along_axis(x, repeat, axis)
  return x


def _get_scale_mean(scale_axis, x, q, elements_per_scale):
  """``(mean(x*q), mean(q*q))`` for the least-squares scale, per scale group.

  The means are taken over every axis but ``scale_axis`` (None: the channel
  axis) and, with ``elements_per_scale``, over groups of that many
  consecutive elements along each scale axis; the result keeps ``x``'s
  shape with the reduced axes set to 1 (each group's mean repeated).
  """
  x = _qmath.to_float_tensor(x)
  q = _qmath.to_float_tensor(q)
  axes = _qmath.scaling_axes(scale_axis, len(x.shape))
  if elements_per_scale is None:
    return (ops.mean(x * q, axis=axes, keepdims=True),
            ops.mean(q * q, axis=axes, keepdims=True))
  return (_qmath.grouped_mean(x * q, axes, elements_per_scale),
          _qmath.grouped_mean(q * q, axes, elements_per_scale))


def _clip_power_of_two(x_abs, min_exp, max_exp, max_value,
                       quadratic_approximation=False,
                       use_stochastic_rounding=False, log2_rounding="rnd",
                       training=None, seed=None):
  """The clipped power-of-two exponent of ``x_abs`` (``quantized_po2``'s).

  See ``_qmath.clip_power_of_two``; stochastic rounding applies only with
  ``training=True`` (QKeras read the global learning phase).
  """
  V.check_choice("_clip_power_of_two", "log2_rounding", log2_rounding,
                 ("rnd", "floor"))
  return _qmath.clip_power_of_two(
      _qmath.to_float_tensor(x_abs), min_exp, max_exp, max_value,
      quadratic_approximation, use_stochastic_rounding, log2_rounding,
      training, seed)


def _round_through(x, use_stochastic_rounding=False, precision=0.5,
                   training=None, seed=None):
  """Round (half to even) with a straight-through gradient.

  Stochastic rounding to multiples of ``precision`` only when
  ``use_stochastic_rounding`` and ``training`` are both true.
  """
  return _qmath.round_through(_qmath.to_float_tensor(x),
                              use_stochastic_rounding, precision, training,
                              seed)


def _sign_through(x):
  """``sign(x)`` with a straight-through gradient."""
  return _qmath.sign_through(_qmath.to_float_tensor(x))


def _ceil_through(x):
  """``ceil(x)`` with a straight-through gradient."""
  return _qmath.ceil_through(_qmath.to_float_tensor(x))


def _floor_through(x):
  """``floor(x)`` with a straight-through gradient."""
  return _qmath.floor_through(_qmath.to_float_tensor(x))


def stochastic_round(x, precision=0.5, seed=None):
  """Random rounding of ``x`` to a multiple of ``precision`` (unbiased)."""
  return _qmath.stochastic_round(_qmath.to_float_tensor(x), precision, seed)


def stochastic_round_po2(x, seed=None):
  """Random po2 exponent ``e`` of ``|x|`` with ``E[2**e] = |x|``."""
  return _qmath.stochastic_round_po2(_qmath.to_float_tensor(x), seed)


def fast_relu_quantize(p, m_i, factor):
  """``m_i * clip(round(p) * factor, 0, 1 - factor)`` (no gradient)."""
  p = _qmath.to_float_tensor(p)
  return m_i * _qmath.clip(ops.round(p) * factor, 0.0, 1.0 - factor)


# --------------------------------------------------------------------------
# The sigmoid family. QKeras's hard sigmoid has slope 0.5 (Keras 3: 1/6).
# --------------------------------------------------------------------------
@_register
def smooth_sigmoid(x):
  """``clip(0.1875 * x + 0.5, 0, 1)``: a linear approximation of sigmoid."""
  return _qmath.smooth_sigmoid(_qmath.to_float_tensor(x))


@_register
def hard_sigmoid(x):
  """``clip(0.5 * x + 0.5, 0, 1)``."""
  return _qmath.hard_sigmoid(_qmath.to_float_tensor(x))


@_register
def binary_sigmoid(x):
  """``round(hard_sigmoid(x))`` in {0, 1}, straight-through gradient."""
  return _qmath.binary_sigmoid(_qmath.to_float_tensor(x))


@_register
def binary_tanh(x):
  """``2 * binary_sigmoid(x) - 1`` in {-1, 1}."""
  return 2.0 * binary_sigmoid(x) - 1.0


@_register
def hard_tanh(x):
  """``2 * hard_sigmoid(x) - 1``: saturates at -1 and 1."""
  return 2.0 * hard_sigmoid(x) - 1.0


@_register
def smooth_tanh(x):
  """``2 * smooth_sigmoid(x) - 1``."""
  return 2.0 * smooth_sigmoid(x) - 1.0


_SIGMOIDS = {
    "hard": _qmath.hard_sigmoid,
    "smooth": _qmath.smooth_sigmoid,
    "real": _qmath.real_sigmoid,
}
_default_sigmoid_type = "hard"
_sigmoid = _SIGMOIDS[_default_sigmoid_type]


def set_internal_sigmoid(mode):
  """Selects the sigmoid used inside the quantizers: real, hard or smooth.

  It is used by ``quantized_relu(use_sigmoid=1)``, ``quantized_ulaw``,
  ``quantized_tanh`` / ``quantized_sigmoid`` (unless ``use_real_*``) and the
  stochastic quantizers with ``use_real_sigmoid=False``. Default: "hard".
  """
  global _sigmoid
  if mode not in _SIGMOIDS:
    raise ValueError("mode has to be 'real', 'hard' or 'smooth'.")
  _sigmoid = _SIGMOIDS[mode]


def _internal_sigmoid(x):
  return _sigmoid(x)


# --------------------------------------------------------------------------
# Text helpers for __str__.
# --------------------------------------------------------------------------
def _integer_text(integer):
  if V.is_tensor_like(integer):
    integer = _qmath.to_numpy(integer)
  return re.sub(r"\[(\d)\]", r"\g<1>", str(integer))


def _alpha_text(alpha):
  if isinstance(alpha, str):
    return "'" + alpha + "'"
  if isinstance(alpha, np.ndarray):
    return np.array2string(alpha, threshold=sys.maxsize)
  return str(alpha)


def _alpha_is_set(alpha):
  if isinstance(alpha, np.ndarray):
    return alpha.size > 0
  return bool(alpha)


def _number_text(value):
  """Integral numbers as ints (QKeras's ``int()``), others exactly."""
  if value is None:
    return "None"
  if float(value).is_integer():
    return str(int(value))
  return repr(float(value))


def _safe_pow2(exponent):
  """``2**exponent`` as QKeras returns it, without building huge ints."""
  if exponent > 1023:
    return float("inf")
  return 2**exponent


def _qnoise_config(value):
  if isinstance(value, keras.Variable):
    return float(_qmath.to_numpy(value))
  return value


def _integer_f32(integer):
  """``integer`` (a number or a variable) as a NumPy float32."""
  if V.is_tensor_like(integer):
    integer = _qmath.to_numpy(integer)
  return np.float32(integer)


def _pow2_f32(exponent):
  """``2**exponent`` in float32, as QKeras's max()/min()/range() compute it."""
  return np.float32(np.power(np.float32(2.0), np.float32(exponent)))


def _integer_config(value):
  if V.is_tensor_like(value):
    return _qmath.to_numpy(value).tolist()
  return value


def _check_po2_exponents(owner, alpha, min_e, max_e, elements_per_scale,
                         what="alpha='auto_po2'"):
  min_e = None if min_e is None else V.check_int(owner, "min_po2_exponent",
                                                 min_e, -126, 127)
  max_e = None if max_e is None else V.check_int(owner, "max_po2_exponent",
                                                 max_e, -126, 127)
  if min_e is not None and max_e is not None and min_e > max_e:
    V.fail(owner, "min_po2_exponent", f"<= max_po2_exponent ({max_e})", min_e)
  if not (isinstance(alpha, str) and alpha == "auto_po2"):
    for name, value in (("elements_per_scale", elements_per_scale),
                        ("min_po2_exponent", min_e),
                        ("max_po2_exponent", max_e)):
      if value is not None:
        V.fail(owner, name, f"None unless {what}", value)
  return min_e, max_e


def _check_scale_range(owner, integer, step_bits, alpha=None):
  """Keeps a fixed-point grid inside float32's normal range.

  The step between codes is ``2**(integer - step_bits)`` and the input is
  multiplied by its inverse: both must be normal float32 numbers, so
  ``integer >= step_bits - 126`` (below it the inverse step overflows and
  ``0 * inf`` gave NaN). A numeric ``alpha`` scales values up to
  ``2**integer``: ``max(alpha) * 2**integer`` must be a finite float32.
  Variables (``use_variables``) are not checked.
  """
  if V.is_tensor_like(integer):
    return
  lowest = int(step_bits) - 126
  if integer < lowest:
    why = (f"for {int(step_bits)} value bits (the step 2**(integer - "
           f"{int(step_bits)}) must be a normal float32)") if step_bits else (
               "(2**integer must be a normal float32)")
    V.fail(owner, "integer",
           f"an integer in [{max(lowest, -V.MAX_INTEGER_BITS)}, "
           f"{V.MAX_INTEGER_BITS}] {why}", integer)
  if alpha is None or isinstance(alpha, str):
    return
  largest = float(np.max(alpha)) * 2.0**integer
  if not largest <= V.FLOAT32_MAX:
    V.fail(owner, "alpha",
           f"at most {V.FLOAT32_MAX / 2.0**integer:.8g} with integer="
           f"{integer} (alpha * 2**integer must be a finite float32)",
           alpha)


def _string_alpha_needs_bits(owner, alpha, bits):
  """``quantized_bits``: a string ``alpha`` needs at least 2 bits.

  With 1 bit there are no levels to scale (``L = 0``): QKeras 0.9 returned
  NaN for ``alpha="auto"`` (an infinite scale times code 0) and all zeros
  for ``alpha="auto_po2"`` (the least-squares refinement of code 0).
  """
  if isinstance(alpha, str) and bits == 1:
    raise ValueError(
        f"{owner}: argument 'alpha'={alpha!r} needs bits >= 2; a 1-bit "
        "quantized_bits has no levels to scale (QKeras 0.9 returned NaN for "
        "alpha='auto' and all zeros for alpha='auto_po2'). Use "
        f"binary(alpha={alpha!r}) or quantized_linear(1, alpha={alpha!r}) "
        "for a scaled sign function.")


# ==========================================================================
# Argument descriptions shared by the quantizers (see ``_quantizer_args``).
# ==========================================================================
def _check_bits(owner, name, value):
  return V.check_bits(owner, value, name=name)


def _check_integer(owner, name, value):
  return V.check_integer_bits(owner, value, name=name)


def _check_alpha(owner, name, value):  # pylint: disable=unused-argument
  return V.check_alpha(owner, value)


def _check_scale_axis(owner, name, value):
  return V.check_scale_axis(owner, value, name=name)


def _check_elements_per_scale(owner, name, value):  # pylint: disable=unused-argument
  return V.check_elements_per_scale(owner, value)


def _check_unit_interval(owner, name, value):
  return V.check_number(owner, name, value, 0.0, 1.0, allow_tensor=True)


def _check_positive(owner, name, value):
  return V.check_number(owner, name, value, lo=0.0, lo_open=True)


def _check_po2_exponent(owner, name, value):
  return None if value is None else V.check_int(owner, name, value, -126, 127)


def _check_unrolls(owner, name, value):
  return V.check_int(owner, name, value, 1, 1000)


def _false_text(value):  # pylint: disable=unused-argument
  return "False"


def _bool_text(value):
  return str(bool(value))


def _check_positive_bits(owner, name, value):
  """``quantized_linear``'s bits check (QKeras's "Bit count" message)."""
  if isinstance(value, (int, float)) and not isinstance(value, bool) and (
      value <= 0):
    raise ValueError(f"{owner}: Bit count {value} must be positive "
                     f"(argument '{name}' must be an integer >= 1, got "
                     f"{value!r}).")
  return _check_bits(owner, name, value)


def _zero_text(value):  # pylint: disable=unused-argument
  return "0"


def _check_threshold(owner, name, value):
  """None or a non-negative number (a string gets its own message)."""
  if isinstance(value, str):
    V.fail(owner, name, "None or a non-negative number", value)
  return V.check_number(owner, name, value, lo=0.0, allow_none=True)


def _check_ulaw_u(owner, name, value):
  """u-law's ``u``: ``log(1 + u)`` is a divisor, so ``1 + u`` must differ
  from 1 in float32 (``u >= 2**-23``) and ``u`` be a finite float32."""
  return V.check_number(owner, name, value, lo=2.0**-23)


def _check_positive_or_none(owner, name, value):
  return V.check_number(owner, name, value, lo=0.0, lo_open=True,
                        allow_none=True)


def _check_signed_bits(owner, name, value):
  """Bits of a format that keeps one for the sign: at least 2."""
  return V.check_bits(owner, value, lo=2, name=name)


def _alpha_shown(value, default):  # pylint: disable=unused-argument
  return _alpha_is_set(value)


_BITS = A.Arg("bits", _check_bits, style=A.POSITIONAL)
_INTEGER = A.Arg("integer", _check_integer, config=_integer_config,
                 style=A.POSITIONAL, text=_integer_text)
_SYMMETRIC = A.Arg("symmetric", V.check_flag, style=A.POSITIONAL,
                   text=A.int_text)
_KEEP_NEGATIVE = A.Arg("keep_negative", V.check_bit_flag, style=A.KEYWORD,
                       text=_false_text, shown=A.falsy)
_ALPHA = A.Arg("alpha", _check_alpha, style=A.KEYWORD, text=_alpha_text,
               shown=A.not_none)
_STOCHASTIC = A.Arg("use_stochastic_rounding", V.check_flag, style=A.KEYWORD,
                    text=A.int_text)
_SCALE_AXIS = A.Arg("scale_axis", _check_scale_axis)
_QNOISE_FACTOR = A.Arg("qnoise_factor", _check_unit_interval,
                       config=_qnoise_config)
_VAR_NAME = A.Arg("var_name", config=False)
_USE_STE = A.Arg("use_ste", V.check_flag)
_USE_VARIABLES = A.Arg("use_variables", V.check_flag, config=False)
_ELEMENTS_PER_SCALE = A.Arg("elements_per_scale", _check_elements_per_scale,
                            style=A.KEYWORD, shown=A.not_none)
_MIN_PO2_EXPONENT = A.Arg("min_po2_exponent", _check_po2_exponent,
                          style=A.KEYWORD, shown=A.not_none)
_MAX_PO2_EXPONENT = A.Arg("max_po2_exponent", _check_po2_exponent,
                          style=A.KEYWORD, shown=A.not_none)
_TEMPERATURE = A.Arg("temperature", V.check_number, style=A.KEYWORD,
                     shown=A.changed)
_USE_REAL_SIGMOID = A.Arg("use_real_sigmoid", V.check_flag, style=A.KEYWORD,
                          text=A.int_text, shown=A.falsy)
_NUMBER_OF_UNROLLS = A.Arg("number_of_unrolls", _check_unrolls,
                           style=A.KEYWORD, text=A.int_text, shown=A.changed)

# The fixed-point family (quantized_linear, quantized_bits, quantized_hswish)
# writes ``bits,integer,symmetric`` then the keywords below.
_FIXED_POINT_STR = ("bits", "integer", "symmetric", "keep_negative", "alpha",
                    "use_stochastic_rounding")


def _fixed_point_format(family, bits, integer, signed=True):
  """A fixed-point ``QuantizerFormat`` (mode 0). As in QKeras's table, with
  ``integer == 1`` 2 signed bits are ternary (mode 2) and 1 unsigned bit is
  binary 0/1 (mode 4); ``integer`` None: no integer bits argument."""
  mode = 0
  narrow = (signed and bits == 2) or (not signed and bits == 1)
  if narrow and integer is not None and _as_int(integer) == 1:
    mode = 2 if signed else 4
  return QuantizerFormat(family, mode, int(bits), signed)


def _as_int(value):
  """``value`` (a number or a variable; per-channel values such as
  ``QAdaptiveActivation``'s integer bits give their largest) as an int."""
  return int(np.max(np.asarray(_qmath.to_numpy(value))))


# ==========================================================================
# Fixed-point quantizers.
# ==========================================================================
@_register
class quantized_linear(BaseQuantizer):  # pylint: disable=invalid-name
  """Linear fixed-point quantizer (QKeras's newer, cleaner ``quantized_bits``).

  Codes are integers in ``[clip_min, clip_max]`` with
  ``U = 2**(bits - keep_negative)``, ``clip_min = keep_negative*(-U +
  symmetric)``, ``clip_max = U - 1`` (the 1-bit signed "sign function" uses
  ``[-0.5, 0.5]`` shifted by 0.5). With quantization scale ``qs``::

    xq = qs * (round(clip(x / qs, clip_min, clip_max) - shift) + shift)
    out = x + qnoise_factor * (xq - x)

  ``qs = alpha * 2**(integer - bits + keep_negative)`` for a numeric alpha;
  ``alpha="auto"`` uses ``qs = max|x| * 2 / (clip_max - clip_min)`` per
  channel, ``"auto_po2"`` rounds that to a power of two and refines it by
  least squares (up to 5 times). Clipping happens before the rounding, so the
  gradient is zero outside the representable range.
  ``quantized_linear(2, alpha="auto")([0, .5, 1, 1.5, 2])`` -> ``[0,0,0,2,2]``.

  Args:
    bits: number of bits, including the sign bit when ``keep_negative``
      (1 to 64; read-only after construction).
    integer: number of integer bits to the left of the binary point, not
      counting the sign bit (-127 to 127, or an int variable).
    symmetric: if true, the most negative code ``-U`` is not used, so the
      codes are symmetric around 0.
    keep_negative: if true, the values are signed; else they are clipped
      at 0.
    alpha: the scale: None (1), a positive number or per-channel list/array,
      or ``"auto"`` / ``"auto_po2"`` (computed from the input at each call,
      see above).
    use_stochastic_rounding: if true, round stochastically when called with
      ``training=True``.
    scale_axis: the channel axis (or axes) of the per-channel ``"auto"``
      scales; None: the last axis (Keras's channels-last).
    qnoise_factor: how much quantization noise is added, from 0 (the input
      unchanged) to 1 (fully quantized).
    var_name: name prefix of the variables made by ``use_variables``.
    use_variables: if true, ``qnoise_factor`` and ``integer`` become
      non-trainable variables when the quantizer is built.
  """

  ALPHA_STRING_OPTIONS = ("auto", "auto_po2")

  _ARGS = (
      _BITS.replace(check=_check_positive_bits, attr="_bits"),
      _INTEGER.replace(attr="_integer"),
      _SYMMETRIC,
      # Checked by the ``alpha`` setter (which also sets the scale).
      _ALPHA.replace(check=None, shown=_alpha_shown),
      _KEEP_NEGATIVE.replace(attr="_keep_negative"),
      _STOCHASTIC.replace(attr="_use_stochastic_rounding"),
      _QNOISE_FACTOR,
      _SCALE_AXIS.replace(attr="_scale_axis"),
      _VAR_NAME,
      _USE_VARIABLES.replace(attr="_use_variables"),
  )
  _STR_ORDER = _FIXED_POINT_STR

  def __init__(self, bits=8, integer=0, symmetric=1, keep_negative=True,
               alpha=None, use_stochastic_rounding=False, scale_axis=None,
               qnoise_factor=1.0, var_name=None, use_variables=False):
    super().__init__()
    self._init_args(locals())
    _check_scale_range(type(self).__name__, self._integer,
                       self._bits - int(self._keep_negative), self._alpha)

  # Read-only configuration.
  bits = property(lambda self: self._bits)
  integer = property(lambda self: self._integer)
  keep_negative = property(lambda self: self._keep_negative)
  use_stochastic_rounding = property(
      lambda self: self._use_stochastic_rounding)
  scale_axis = property(lambda self: self._scale_axis)
  use_variables = property(lambda self: self._use_variables)

  @property
  def alpha(self):
    return self._alpha

  @alpha.setter
  def alpha(self, alpha):
    self._alpha = V.check_alpha(type(self).__name__, alpha)
    self.quantization_scale = self.default_quantization_scale

  @property
  def data_type_scale(self):
    """``2**(integer - bits + keep_negative)``: the value of one code."""
    return _qmath.pow2(self._integer - self._bits + int(self._keep_negative))

  @property
  def auto_alpha(self):
    return isinstance(self._alpha, str)

  @property
  def use_sign_function(self):
    return self._bits == 1 and bool(self._keep_negative)

  @property
  def default_quantization_scale(self):
    if self._alpha is None or self.auto_alpha:
      return self.data_type_scale
    return self._alpha * self.data_type_scale

  @property
  def scale(self):
    """``quantization_scale / data_type_scale`` (the alpha actually used)."""
    return self.quantization_scale / self.data_type_scale

  @property
  def clip_min(self):
    if self.use_sign_function:
      return -0.5
    u = 2.0**(self._bits - int(self._keep_negative))
    return float(self._keep_negative) * (-u + float(self.symmetric))

  @property
  def clip_max(self):
    if self.use_sign_function:
      return 0.5
    return 2.0**(self._bits - int(self._keep_negative)) - 1.0

  def _codes(self, x, qs, training=None):
    """Integer codes of ``x / qs`` (STE round, clip first)."""
    shift = 0.5 if self.use_sign_function else 0.0
    clipped = _qmath.clip(_qmath.divide(x, qs), self.clip_min, self.clip_max)
    seed = self.seed_generator if self._use_stochastic_rounding else None
    return _qmath.round_through(clipped - shift, self._use_stochastic_rounding,
                                1.0, training, seed) + shift

  def _auto_scale(self, x):
    """The ``"auto"``/``"auto_po2"`` scale of ``x`` (see the class)."""
    x = ops.stop_gradient(x)  # the scale carries no gradient
    rank = len(x.shape)
    axes = _auto_scale_axes(rank, self._scale_axis)
    span = self.clip_max - self.clip_min
    if self._keep_negative:  # max * 2 / span, as one division
      qs = _qmath.divide(ops.max(ops.abs(x), axis=axes, keepdims=True),
                          span / 2.0)
    else:
      qs = _qmath.divide(ops.max(x, axis=axes, keepdims=True), span)
    qs = _qmath.maximum(qs, _qmath.epsilon())
    if self._alpha == "auto_po2":
      qs = _qmath.round_to_po2(qs)
      iterations = 1 if self.use_sign_function else 5
      ls_axis = self._scale_axis if rank > 1 else None

      def refine(qs):  # (codes, scale) of one least-squares round
        codes = self._codes(x, qs)
        if rank > 1:
          return codes, _qmath.least_squares_scale("auto_po2", x, codes,
                                                   ls_axis)
        return codes, _qmath.least_squares_scale("auto_po2", x, codes,
                                                 per_channel_scale=False)

      _, qs = _qmath.iterate_scale(refine, qs, iterations)
    return ops.stop_gradient(qs)

  def call(self, x, training=None):
    if self.auto_alpha:
      # Huge inputs: quantize x * 2**-k (k = 0, and the numbers unchanged,
      # unless the scale's sums could overflow float32) and scale back.
      axes = _auto_scale_axes(len(x.shape), self._scale_axis)
      k = _qmath.overflow_shift(
          ops.max(ops.abs(ops.stop_gradient(x)), axis=axes, keepdims=True),
          _qmath.sum_headroom(2.0**self._bits, _qmath.element_count(x)))
      up = _qmath.pow2_exact(k)
      x_shifted = x * _qmath.pow2_exact(-k)
      qs = self._auto_scale(x_shifted)
      self.quantization_scale = qs * up
      xq = _qmath.saturate_overflow(
          x, self._codes(x_shifted, qs, training) * qs * up)
      return self._mix(x, xq)
    else:
      qs = self.quantization_scale
      if isinstance(qs, np.ndarray):
        _check_alpha_fits(type(self).__name__, qs, x)
        qs = ops.convert_to_tensor(qs, x.dtype)
    return self._mix(x, self._codes(x, qs, training) * qs)

  def _mix(self, x, xq):
    """``x + qnoise_factor * (xq - x)`` (``xq`` itself for a factor 1)."""
    q = self.qnoise_factor
    if _qmath.is_python_number(q) and float(q) == 1.0:
      return xq
    return x + ops.cast(q, x.dtype) * (xq - x)

  def _set_trainable_parameter(self):
    if self._alpha is None:
      self.alpha = "auto_po2"
      self.symmetric = True

  def _qs_value(self):
    qs = self.quantization_scale
    return qs if isinstance(qs, (float, int)) else _qmath.to_numpy(qs)

  def max(self):
    """Largest representable value ``clip_max * qs`` (shifted for sign)."""
    return self.clip_max * self._qs_value()

  def min(self):
    """Smallest representable value ``clip_min * qs``."""
    return self.clip_min * self._qs_value()

  def range(self):
    """Every representable value: codes ``0..clip_max`` then ``clip_min..-1``."""
    qs = self._qs_value()
    if self.use_sign_function:
      return np.array([self.max(), self.min()], dtype=np.float32)
    pos = np.arange(0, self.clip_max + 1)
    neg = np.arange(self.clip_min, 0)
    return (np.concatenate([pos, neg]) * qs).astype(np.float32)



@_register
class quantized_bits(BaseQuantizer):  # pylint: disable=invalid-name
  """Fixed-point quantizer, QKeras's workhorse (``ac_fixed<bits, integer+1>``).

  Fixed scale (``alpha`` None or a number), with ``m = 2**(bits -
  keep_negative)``, ``m_i = 2**integer``::

    xq = alpha * m_i * clip(round(x * m / m_i), keep_negative*(-m + symmetric),
                            m - 1) / m
    out = x + sg(qnoise_factor * (xq - x))      # gradient 1 everywhere

  so the values are ``k * m_i / m`` (e.g. ``quantized_bits(4,0,1)`` gives
  ``-0.875 .. 0.875`` in steps of 0.125). A 1-bit signed quantizer returns
  ``sign(x)`` (0 -> +1), unscaled by ``m_i``.

  ``alpha="auto"`` / ``"auto_po2"`` (always symmetric): with ``x_n = x / m_i``
  and ``L = 2 * (2**(bits-1) - 1)`` levels, per channel
  ``s = max|x_n| * 2 / L`` (rounded to a power of two and refined 5 times by
  least squares for "auto_po2"); codes ``z = sign(x_n) * min(floor(|x_n|/s +
  0.5), L/2)`` (half away from zero) and ``xq = m_i * s * z``. After the call
  ``self.scale = s * m``. ``post_training_scale`` freezes that scale.

  Args:
    bits: number of bits, including the sign bit when ``keep_negative``
      (1 to 64).
    integer: number of integer bits to the left of the binary point, not
      counting the sign bit (-127 to 127, or an int variable).
    symmetric: if true, the most negative code ``-m`` is not used (always
      true with a string ``alpha``).
    keep_negative: if true, the values are signed; else they are clipped
      at 0.
    alpha: the scale: None (1), a positive number or per-channel list/array,
      or ``"auto"`` / ``"auto_po2"`` (per-channel least-squares scales, see
      above; needs ``bits >= 2``).
    use_stochastic_rounding: if true, round stochastically when called with
      ``training=True`` (fixed scales only).
    scale_axis: the channel axis (or axes) of the per-channel scales; None:
      the last axis (Keras's channels-last).
    qnoise_factor: how much quantization noise is added, from 0 (the input
      unchanged) to 1 (fully quantized).
    var_name: name prefix of the variables made by ``use_variables``.
    use_ste: if true, the gradient is 1 (straight through); else the
      quantization noise is differentiated too.
    use_variables: if true, ``qnoise_factor`` and ``integer`` become
      non-trainable variables when the quantizer is built.
    elements_per_scale: with ``alpha="auto_po2"``, the number of
      consecutive elements along each scale axis that share one scale (an
      int or one per axis); None: one scale per channel.
    min_po2_exponent: with ``alpha="auto_po2"``, the smallest exponent of
      the scale (-126 to 127), or None.
    max_po2_exponent: with ``alpha="auto_po2"``, the largest exponent of
      the scale (-126 to 127), or None.
    post_training_scale: with a string ``alpha``, a fixed scale (a positive
      number or per-channel array) used instead of computing one.
  """

  _ARGS = (
      _BITS, _INTEGER, _SYMMETRIC, _ALPHA.replace(shown=_alpha_shown),
      _KEEP_NEGATIVE, _STOCHASTIC, _QNOISE_FACTOR,
      A.Arg("post_training_scale"),  # checked in __init__ (needs alpha)
      _SCALE_AXIS, _USE_STE, _ELEMENTS_PER_SCALE.replace(style=None),
      _MIN_PO2_EXPONENT.replace(style=None),
      _MAX_PO2_EXPONENT.replace(style=None), _VAR_NAME, _USE_VARIABLES,
  )
  _STR_ORDER = _FIXED_POINT_STR

  def __init__(self, bits=8, integer=0, symmetric=0, keep_negative=True,
               alpha=None, use_stochastic_rounding=False, scale_axis=None,
               qnoise_factor=1.0, var_name=None, use_ste=True,
               use_variables=False, elements_per_scale=None,
               min_po2_exponent=None, max_po2_exponent=None,
               post_training_scale=None):
    super().__init__()
    self._init_args(locals())
    name = type(self).__name__
    _string_alpha_needs_bits(name, self.alpha, self.bits)
    _check_scale_range(name, self.integer,
                       self.bits - int(self.keep_negative), self.alpha)
    self.min_po2_exponent, self.max_po2_exponent = _check_po2_exponents(
        name, self.alpha, self.min_po2_exponent, self.max_po2_exponent,
        self.elements_per_scale)
    self.post_training_scale = None
    if isinstance(self.alpha, str):
      self.symmetric = True
      self.freeze_scale = False
      self.scale = None
      if post_training_scale is not None:
        self.post_training_scale = self._check_post_training_scale(
            name, post_training_scale)
        self.scale = self.post_training_scale
        self.freeze_scale = True
    else:
      if post_training_scale is not None:
        V.fail(name, "post_training_scale",
               "None unless alpha is 'auto' or 'auto_po2'", post_training_scale)
      self.scale = None
      self.freeze_scale = True

  @staticmethod
  def _check_post_training_scale(name, value):
    try:
      arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
      arr = None
    if arr is None or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(
        arr <= 0):
      V.fail(name, "post_training_scale",
             "a positive number or array of positive numbers", value)
    return arr

  # ------------------------------------------------------------------
  def _levels(self):
    if self.symmetric:
      return (2**(self.bits - 1) - 1) * 2
    return 2**self.bits - 1

  @staticmethod
  def _auto_codes(a, s, half_levels):
    """``min(floor(a / s + 0.5), L/2)`` for ``a = |x_n|`` (half away from 0).

    ``a = 0`` gives code 0 also where the scale is 0 (an all-zero channel,
    e.g. a pruned one, has ``s = max|x_n| * 2 / L = 0``): QKeras returns 0
    there, not ``0 / 0``.
    """
    codes = _qmath.minimum(ops.floor(_qmath.divide(a, s) + 0.5), half_levels)
    return ops.where(a == 0.0, 0.0, codes)

  @staticmethod
  def _po2_codes(a, s, half):
    """``_auto_codes`` for a power-of-two scale ``s`` in ``[2**-126,
    2**126]``, inf or NaN (two passes less).

    Dividing by such an ``s`` is exact also where a backend multiplies by
    its reciprocal instead (``1/s`` is a power of two too), and ``a = 0``
    gives code 0 by itself (``s`` is never 0; where it is NaN the output is
    NaN whatever the code).
    """
    return _qmath.minimum(ops.floor(a / s + 0.5), half)

  def _auto_quantize(self, x, m, m_i):
    """The ``alpha="auto"/"auto_po2"`` path; returns ``xq``.

    The codes are computed on ``|x_n|`` and signed at the end: the
    least-squares means of ``x_n * z`` and ``z * z`` are the same numbers.
    """
    unit = _qmath.is_python_number(m_i) and m_i == 1.0
    axis = _auto_scale_axes(len(x.shape), self.scale_axis)
    levels = self._levels()
    half = levels / 2
    x = ops.stop_gradient(x)
    up = None
    if not self.freeze_scale:
      # Huge inputs: the scale is computed from x * 2**-k (k = 0, and the
      # numbers unchanged, unless its sums could overflow float32).
      x_abs = ops.abs(x)
      mx = ops.max(x_abs, axis=axis, keepdims=True) if (
          self.elements_per_scale is None) else ops.max(x_abs)
      k = _qmath.overflow_shift(
          mx, _qmath.sum_headroom(half, _qmath.element_count(x)),
          self.integer)
      up = _qmath.pow2_exact(k)
      down = _qmath.pow2_exact(-k)
      x = x * down
    # No gradient flows through xq (the straight-through estimator passes
    # it to x): not recording one saves work in eager training.
    x_n = x if unit else x / m_i
    a = ops.abs(x_n)
    if self.freeze_scale:
      s = ops.convert_to_tensor(self.post_training_scale, x.dtype) / m
      z = self._auto_codes(a, s, half)
    else:
      if self.elements_per_scale is None:
        # max|x_n| per channel from max|x|: the factors are powers of two,
        # which commute with the maximum (one pass less).
        max_a = mx * down if unit else (mx * down) / m_i
      else:
        max_a = ops.max(a, axis=axis, keepdims=True)
      # (max * 2) / levels, written as one division so that graph rewrites
      # cannot fold the constants into an inexact reciprocal.
      s = _qmath.divide(max_a, levels / 2)
      if self.alpha == "auto_po2":
        # The scale stays a power of two in [2**-126, 2**126] (or inf or
        # NaN) unless min_po2_exponent is 127.
        codes = self._po2_codes if (
            self.min_po2_exponent is None or self.min_po2_exponent < 127
        ) else self._auto_codes

        def refine(s):  # one least-squares round: (codes of s, new s)
          z = codes(a, s, half)
          s = _qmath.least_squares_scale(
              "auto_po2", a, z, self.scale_axis,
              elements_per_scale=self.elements_per_scale)
          return z, self._clip_shifted_po2(s, k)

        z, s = _qmath.iterate_scale(refine, _qmath.round_to_po2(s), 5)
        if self.min_po2_exponent is not None or (
            self.max_po2_exponent is not None):
          # The exponent bounds hold for the scale of x itself.
          s = _qmath.clip_po2_scale(
              s * up, self.min_po2_exponent,
              self.max_po2_exponent) * down
      else:
        z = self._auto_codes(a, s, half)
      self.scale = (s * m) * up
    xq = (s * m) * (m_i * (_qmath.sign(x_n) * z) / m)
    if up is not None:
      # xq is never infinite where x is: an infinite x makes the scale of
      # its channel NaN, or finite with a finite code (clipped exponents).
      xq = _qmath.saturate(xq * up)
    return xq

  def _clip_shifted_po2(self, s, k):
    """``s`` clipped to ``[2**(min_po2_exponent - k), 2**(max_po2_exponent
    - k)]`` (the exponent bounds of the scale of ``x * 2**-k``), exponents
    kept in float32's normal range."""
    for bound, clip in ((self.min_po2_exponent, _qmath.maximum),
                        (self.max_po2_exponent, _qmath.minimum)):
      if bound is not None:
        s = clip(s, _qmath.pow2_exact(_qmath.maximum(bound - k, -126)))
    return s

  def _fixed_quantize(self, x, m, m_i, training):
    """The fixed-scale path (alpha None or numeric); returns ``xq``."""
    unsigned_bits = self.bits - int(self.keep_negative)
    if unsigned_bits > 0:
      # m_i * clip(round(x * m / m_i), lo, m - 1) / m; the factors are powers
      # of two, so grouping them saves passes without changing a bit.
      seed = self.seed_generator if self.use_stochastic_rounding else None
      rounded = _qmath.round_value(x * (m / m_i), self.use_stochastic_rounding,
                                   1.0, training, seed)
      lo = float(self.keep_negative) * (-m + float(self.symmetric))
      xq = _qmath.clip(rounded, lo, m - 1.0) * (m_i / m)
    else:
      xq = _qmath.sign_nonzero(x)
    scale = 1.0 if self.alpha is None else self.alpha
    _check_alpha_fits(type(self).__name__, scale, x)
    self.scale = scale
    if self.alpha is None:
      return xq
    return _as_scale(scale, x.dtype) * xq

  def call(self, x, training=None):
    m = 2.0**(self.bits - int(self.keep_negative))
    m_i = _qmath.pow2(self.integer)
    if isinstance(self.alpha, str):
      xq = self._auto_quantize(x, m, m_i)
    else:
      xq = self._fixed_quantize(x, m, m_i, training)
    return _qmath.mix_quantization_noise(x, xq, self.qnoise_factor,
                                         self.use_ste)

  def _set_trainable_parameter(self):
    # A 1-bit quantizer has no levels to scale: it stays a plain sign
    # (QKeras switched it to "auto_po2", which quantizes every value to 0).
    if self.alpha is None and self.bits > 1:
      self.alpha = "auto_po2"
      self.freeze_scale = False
      self.symmetric = True

  def max(self):
    """``max(1, 2**integer)`` (QKeras's bound; not the largest code)."""
    if self.bits - int(self.keep_negative) > 0:
      return max(1.0, float(_pow2_f32(_integer_f32(self.integer))))
    return 1.0

  def min(self):
    """``-max(1, 2**integer)``, or 0 for unsigned quantizers."""
    if not self.keep_negative:
      return 0.0
    if self.bits - int(self.keep_negative) > 0:
      return -max(1.0, float(_pow2_f32(_integer_f32(self.integer))))
    return -1.0

  def range(self):
    """All ``2**bits`` values in two's-complement code order.

    Only for asymmetric signed quantizers with alpha None or 1.0.
    """
    if self.symmetric or not self.keep_negative or not (
        self.alpha is None or (_qmath.is_python_number(self.alpha) and
                               float(self.alpha) == 1.0)):
      raise ValueError(
          f"{type(self).__name__}.range() needs symmetric=0, keep_negative="
          f"True and alpha None or 1.0; got {self}.")
    x = np.arange(2**self.bits, dtype=np.float32)
    half = 2**(self.bits - 1)
    codes = np.where(x >= half, x - 2 * half, x)
    step = _pow2_f32(_integer_f32(self.integer) - self.bits + 1)
    return (codes * step).astype(np.float32)

  @property
  def format(self):
    return _fixed_point_format("quantized_bits", self.bits, self.integer)


@_register
class quantized_hswish(quantized_bits):  # pylint: disable=invalid-name
  """Quantized hard swish: ``quantized_bits(x * relu6_like(x + shift) / upper)``.

  ``h(x) = x * min(relu(x + relu_shift), relu_upper_bound) / relu_upper_bound``
  (MobileNetV3's h-swish for the defaults 3 and 6), then quantized with
  ``quantized_bits(bits, integer, symmetric, keep_negative=True, alpha, ...)``.

  Args:
    bits, integer, symmetric, alpha, use_stochastic_rounding, scale_axis,
    qnoise_factor, var_name, use_ste, use_variables, elements_per_scale,
    min_po2_exponent, max_po2_exponent, post_training_scale: as in
      ``quantized_bits``.
    relu_shift: the positive shift added before the clipped relu (3).
    relu_upper_bound: the positive clip of the relu, also the divisor (6).
    keep_negative: must be true (h-swish is signed).
  """

  _ARGS = quantized_bits._ARGS + (  # pylint: disable=protected-access
      A.Arg("relu_shift", _check_positive, style=A.KEYWORD, shown=A.always),
      A.Arg("relu_upper_bound", _check_positive, style=A.KEYWORD,
            shown=A.always),
  )
  _STR_ORDER = ("bits", "integer", "symmetric", "relu_shift",
                "relu_upper_bound", "alpha", "use_stochastic_rounding")

  def __init__(self, bits=8, integer=0, symmetric=0, alpha=None,
               use_stochastic_rounding=False, scale_axis=None,
               qnoise_factor=1.0, var_name=None, use_ste=True,
               use_variables=False, relu_shift=3, relu_upper_bound=6,
               keep_negative=True, elements_per_scale=None,
               min_po2_exponent=None, max_po2_exponent=None,
               post_training_scale=None):
    if not keep_negative:
      V.fail(type(self).__name__, "keep_negative",
             "True (h-swish is signed)", keep_negative)
    super().__init__(
        **self._arguments_of(quantized_bits, locals(), keep_negative=True))
    self._init_args({"relu_shift": relu_shift,
                     "relu_upper_bound": relu_upper_bound})

  def call(self, x, training=None):
    shift_x = x + self.relu_shift
    relu_x = ops.where(shift_x <= self.relu_upper_bound, ops.relu(shift_x),
                       self.relu_upper_bound)
    product = ops.multiply(x, relu_x)
    hswish_x = _qmath.divide(product, self.relu_upper_bound)
    # x * relu_x overflows for |x| near float32's limit: divide first there.
    hswish_x = ops.where(
        ops.logical_and(ops.isinf(product), ops.isfinite(x)),
        x * _qmath.divide(relu_x, self.relu_upper_bound), hswish_x)
    # h(-inf) is the limit -0.0 of the finite x <= -relu_shift (x * 0 / 6),
    # not -inf * 0 = NaN.
    hswish_x = ops.where(ops.logical_and(ops.isinf(x), x < 0.0), -0.0,
                         hswish_x)
    return super().call(hswish_x, training)

  def min(self):
    """The smaller of ``quantized_bits.min()`` and the quantized h-swish minimum.

    The h-swish minimum is ``-relu_shift**2 / (4 * relu_upper_bound)``; when it
    lies above the quantizer's lower bound its quantized value is returned.
    """
    min_quant = super().min()
    min_parabolic = -self.relu_shift * self.relu_shift / (
        4 * self.relu_upper_bound)
    if min_quant >= min_parabolic:
      return min_quant
    m = 2.0**(self.bits - 1)
    m_i = float(_pow2_f32(_integer_f32(self.integer)))
    code = np.clip(np.round(np.float32(min_parabolic) * m / m_i),
                   -m + float(self.symmetric), m - 1)
    alpha = self.alpha if _qmath.is_python_number(self.alpha) else 1.0
    return float(np.float32(alpha) * np.float32(m_i * code / m))

  @property
  def format(self):
    """No QTools data type (``family`` and ``mode`` None)."""
    return QuantizerFormat(None, None, int(self.bits))


# ==========================================================================
# Binary and ternary quantizers.
# ==========================================================================
def _alpha_max(alpha):
  if alpha is None or isinstance(alpha, str):
    return 1.0
  return max(1.0, float(np.max(alpha)))


def _channel_axes_or_global(rank, global_axis):
  """Channel-reduction axes, or ``global_axis`` for rank <= 1 tensors."""
  if rank <= 1:
    return global_axis if rank == 1 else None
  return _qmath.channel_reduction_axes(rank)


def _check_alpha_fits(owner, alpha, x):
  """A per-channel ``alpha`` array must broadcast to ``x``'s shape without
  changing it (one value per channel of the last axis, or a single one).

  Raises a ValueError naming ``alpha``, its length and the input's channel
  count instead of the backend's broadcasting error. Unknown (None) axes are
  not checked.
  """
  if not isinstance(alpha, np.ndarray) or alpha.size == 1:
    return
  shape = tuple(x.shape)
  known = tuple(1 if d is None else d for d in shape)
  try:
    out = np.broadcast_shapes(alpha.shape, known)
  except ValueError:
    out = None
  if out is None or tuple(out) != known:
    channels = shape[-1] if shape else 1
    raise ValueError(
        f"{owner}: argument 'alpha' has {alpha.size} values (shape "
        f"{alpha.shape}) but the input has {channels} channels (shape "
        f"{shape}); give one value per channel of the last axis, or one "
        "number.")


def _as_scale(scale, dtype):
  """A scale usable in tensor arithmetic (NumPy arrays become tensors)."""
  if isinstance(scale, np.ndarray):
    return ops.convert_to_tensor(scale, dtype)
  return scale


def _sample_sign(p, seed):
  """``sign(p - U[0,1))`` with 0 -> +1."""
  r = keras.random.uniform(ops.shape(p), dtype=p.dtype, seed=seed)
  return _qmath.sign_nonzero(p - r)


def _sigmoid_for(use_real_sigmoid):
  return ops.sigmoid if use_real_sigmoid else _internal_sigmoid


class _ScaledCodes(BaseQuantizer):
  """What binary, bernoulli and ternary share: codes times a scale ``alpha``
  (None, a number, or "auto"/"auto_po2" found by least squares)."""

  def _call_checked(self, x, training):
    """``call`` on ``x * 2**-k``, scaled back by ``2**k``, for a string alpha.

    The least-squares sums (and the stochastic quantizers' standard
    deviations, sums of squares) of inputs near float32's limit overflow;
    ``k`` (``_qmath.overflow_shift``) is 0 for ordinary inputs, so their
    numbers are unchanged, and the gradient is unchanged for every input.
    """
    if not isinstance(self.alpha, str):
      return self.call(x, training)
    count = _qmath.element_count(x)
    headroom = 64 + _qmath.sum_headroom(1, count)  # squares for std
    k = _qmath.overflow_shift(ops.max(ops.abs(ops.stop_gradient(x))),
                              headroom)
    up = _qmath.pow2_exact(k)
    y = self.call(x * _qmath.pow2_exact(-k), training)
    if self.scale is not None and not isinstance(self.scale, np.ndarray):
      self.scale = self.scale * up
    return _qmath.saturate_overflow(x, y * up)

  def _scaled_output(self, x, scale, codes):
    """``ste(x, scale * codes)``; keeps ``scale`` (tools read it)."""
    _check_alpha_fits(type(self).__name__, scale, x)
    self.scale = scale
    return _qmath.ste(x, _as_scale(scale, x.dtype) * codes)

  def _sampled_sign(self, x):
    """``sign(sigmoid(temperature * x / std) - U)``, with ``std`` per channel
    for a string ``alpha`` (else 1): the stochastic quantizers' draw."""
    if isinstance(self.alpha, str):
      axis = _channel_axes_or_global(len(x.shape), [0])
      std = ops.std(x, axis=axis, keepdims=True) + _qmath.epsilon()
    else:
      std = 1.0
    p = _sigmoid_for(self.use_real_sigmoid)(self.temperature * x / std)
    return _sample_sign(p, self.seed_generator)

  def _set_trainable_parameter(self):
    if self.alpha is None:
      self.alpha = "auto_po2"

  def max(self):
    """1 (alpha None or auto), else ``max(1, alpha)``."""
    return _alpha_max(self.alpha)

  @property
  def format(self):
    """The class's fixed ``_FORMAT``."""
    return self._FORMAT


class _SampledInTraining:
  """Mixin of the sampling quantizers (``stochastic_binary``,
  ``stochastic_ternary``): ``_stochastic_output(x)`` when called with
  ``training=True``, else the deterministic parent's ``call``."""

  _always_stochastic = True

  def call(self, x, training=None):
    deterministic = super().call
    return _qmath.select_training(training,
                                  lambda: self._stochastic_output(x),
                                  lambda: deterministic(x, False))


@_register
class binary(_ScaledCodes):  # pylint: disable=invalid-name
  """Sign quantizer: ``{-s, +s}`` (or ``{0, s}`` with ``use_01``).

  ``k = sign(x)`` with 0 -> +1; the scale ``s`` is 1 (alpha None), the given
  number, or the least-squares ``mean(x*k)/mean(k*k)`` per channel ("auto",
  rounded to a power of two for "auto_po2"). Output ``ste(x, s*k)``; with
  alpha None the gradient is that of ``tanh(x)``. With
  ``use_stochastic_rounding`` and ``training``, ``x`` is first rounded
  stochastically at 1/8 of ``2*min(max|x|, 1)`` and zeros get a random sign.

  Args:
    use_01: if true, the values are ``{0, s}`` instead of ``{-s, +s}``.
    alpha: the scale: None (1, with a ``tanh`` gradient), a positive number
      or per-channel list/array, or ``"auto"`` / ``"auto_po2"``
      (least-squares per channel; ``"auto_po2"`` rounds it to a power of
      two).
    use_stochastic_rounding: if true, round stochastically (and give zeros a
      random sign) when called with ``training=True``.
    scale_axis: the channel axis (or axes) of the per-channel scales; None:
      the last axis.
    elements_per_scale: with a string ``alpha``, the number of consecutive
      elements along each scale axis that share one scale; None: one scale
      per channel.
    min_po2_exponent: with a string ``alpha``, the smallest exponent of the
      po2 scale (-126 to 127), or None.
    max_po2_exponent: with a string ``alpha``, the largest exponent of the
      po2 scale (-126 to 127), or None.
  """

  _default_alpha = 1.0
  # Binary -1/+1 (``use_01`` is not looked at, as in QKeras).
  _FORMAT = QuantizerFormat("binary", 3, 1)

  _ARGS = (
      A.Arg("use_01", V.check_flag, style=A.KEYWORD, text=A.int_text),
      _ALPHA, _STOCHASTIC.replace(text=_bool_text),
      _SCALE_AXIS.replace(style=A.KEYWORD, shown=A.not_none),
      _ELEMENTS_PER_SCALE, _MIN_PO2_EXPONENT, _MAX_PO2_EXPONENT,
  )
  _STR_ORDER = ("use_01", "alpha", "elements_per_scale", "scale_axis",
                "min_po2_exponent", "max_po2_exponent",
                "use_stochastic_rounding")

  def __init__(self, use_01=False, alpha=None, use_stochastic_rounding=False,
               scale_axis=None, elements_per_scale=None, min_po2_exponent=None,
               max_po2_exponent=None):
    super().__init__()
    self._init_args(locals())
    name = type(self).__name__
    self.bits = 1
    self.default_alpha = self._default_alpha
    self.scale = None
    self.min_po2_exponent, self.max_po2_exponent = _check_po2_exponents(
        name, "auto_po2" if isinstance(self.alpha, str) else self.alpha,
        self.min_po2_exponent, self.max_po2_exponent, None,
        "alpha is 'auto'/'auto_po2'")
    if self.elements_per_scale is not None and not isinstance(self.alpha, str):
      V.fail(name, "elements_per_scale",
             "None unless alpha is 'auto'/'auto_po2'", elements_per_scale)

  def _scale_for(self, x, k):
    return _qmath.least_squares_scale(
        self.alpha, x, k, self.scale_axis,
        elements_per_scale=self.elements_per_scale,
        min_po2_exponent=self.min_po2_exponent,
        max_po2_exponent=self.max_po2_exponent)

  def call(self, x, training=None):
    stochastic = self.use_stochastic_rounding and _qmath.static_training(
        training) is not False
    if stochastic:
      axis = _channel_axes_or_global(len(x.shape), None)
      m = ops.max(ops.abs(x), axis=axis, keepdims=True)
      m = ops.where(m > 1.0, 1.0, m)
      f = 2.0 * m
      # An all-zero channel (m = 0, e.g. zero-initialised biases) stays 0;
      # QKeras divided 0 by 0 there and trained on NaN.
      f_safe = ops.where(f == 0.0, 1.0, f)
      seed = self.seed_generator
      x = _qmath.select_training(
          training,
          lambda: ops.where(f == 0.0, x, f_safe * _qmath.round_through(
              x / f_safe, True, 0.125, True, seed)),
          lambda: x)
    k_sign = _qmath.sign(x)
    if stochastic:
      k_sign = k_sign + (1.0 - ops.abs(k_sign)) * _qmath.select_training(
          training,
          lambda: 2.0 * ops.round(keras.random.uniform(
              ops.shape(x), dtype=x.dtype, seed=self.seed_generator)) - 1.0,
          lambda: ops.ones_like(x))
    k_sign = k_sign + (1.0 - ops.abs(k_sign))
    if self.use_01:
      k_sign = (k_sign + 1.0) / 2.0
    if self.alpha is None:
      x = ops.tanh(x)
    return self._scaled_output(x, self._scale_for(x, k_sign), k_sign)

  def min(self):
    """0 with ``use_01``, else ``-max()``."""
    if self.use_01:
      return 0.0
    return -_alpha_max(self.alpha)


@_register
class stochastic_binary(_SampledInTraining, binary):  # pylint: disable=invalid-name
  """Binary quantizer that samples the sign in training.

  In training: ``p = sigmoid(temperature * x / std)`` (std per channel for
  auto alphas, else 1), ``q = sign(p - U)``, scale from the deterministic
  sign; output ``ste(x, scale*q)``. Otherwise it is ``binary(alpha=alpha)``.

  Args:
    alpha: the scale, as in ``binary``.
    temperature: the slope of the sigmoid that gives the probabilities.
    use_real_sigmoid: if true, ``keras.ops.sigmoid``; else the internal
      sigmoid (``set_internal_sigmoid``).
  """

  _FORMAT = QuantizerFormat("stochastic_binary", 3, 1)
  _ARGS = (_ALPHA, _TEMPERATURE, _USE_REAL_SIGMOID)

  def __init__(self, alpha=None, temperature=6.0, use_real_sigmoid=True):
    super().__init__(alpha=alpha)
    self._init_args({"temperature": temperature,
                     "use_real_sigmoid": use_real_sigmoid})

  def _stochastic_output(self, x):
    q = self._sampled_sign(x)
    scale = _qmath.least_squares_scale(self.alpha, x, _qmath.sign_nonzero(x))
    return self._scaled_output(x, scale, q)

@_register
class bernoulli(_ScaledCodes):  # pylint: disable=invalid-name
  """Stochastic {0, s} quantizer.

  In training ``q = 1`` with probability ``sigmoid(temperature * x / std)``;
  otherwise (inference) ``q = 1`` iff ``x >= 0``. The scale is the
  least-squares scale of the deterministic code; output ``ste(x, s*q)``.

  Args:
    alpha: the scale: None (1), a positive number or per-channel list/array,
      or ``"auto"`` / ``"auto_po2"`` (least squares).
    temperature: the slope of the sigmoid that gives the probabilities.
    use_real_sigmoid: if true, ``keras.ops.sigmoid``; else the internal
      sigmoid (``set_internal_sigmoid``).
  """

  _always_stochastic = True
  _FORMAT = QuantizerFormat("bernoulli", 4, 1, signed=False)
  _ARGS = (_ALPHA, _TEMPERATURE, _USE_REAL_SIGMOID)

  def __init__(self, alpha=None, temperature=6.0, use_real_sigmoid=True):
    super().__init__()
    self._init_args(locals())
    self.bits = 1
    self.default_alpha = 1.0
    self.scale = None

  def call(self, x, training=None):
    q_det = (_qmath.sign_nonzero(x) + 1.0) / 2.0
    q = _qmath.select_training(
        training, lambda: (self._sampled_sign(x) + 1.0) / 2.0, lambda: q_det)
    scale = _qmath.least_squares_scale(self.alpha, x, q_det)
    return self._scaled_output(x, scale, q)

  def min(self):
    return 0.0


def _ternary_codes(v, x, threshold):
  """``sign(x)`` where ``|v| >= threshold``, else 0 (signed as ``0 * sign(x)``),
  and NaN where ``x`` is NaN.

  The explicit ``where`` keeps the NaN under XLA (``jax.jit``, ``jit_compile``),
  which rewrites ``cast(mask) * sign(x)`` into a select giving 0 for a NaN
  ``x``; eagerly the product is already NaN there, so every value is
  unchanged.
  """
  q = ops.cast(ops.abs(v) >= threshold, x.dtype) * _qmath.sign(x)
  return ops.where(ops.isnan(x), x, q)


@_register
class ternary(_ScaledCodes):  # pylint: disable=invalid-name
  """Ternary quantizer: ``{-s, 0, +s}``.

  Numeric / None alpha: ``q = (|x| >= threshold) * sign(x)`` (threshold
  default 0.33), ``s = alpha`` (1.0 for None; the gradient is then that of
  ``tanh(x)``). "auto"/"auto_po2" (threshold must be None): per channel
  ``s = 2*max|x|/3`` (po2-rounded), then ``number_of_unrolls`` times
  ``v = s*round(x/s)``, ``q = (|v| >= s/2)*sign(x)``, ``s = LS(x, q)``.
  Output ``ste(x, s*q)``.

  Args:
    alpha: the scale: None (1, with a ``tanh`` gradient), a positive number
      or per-channel list/array, or ``"auto"`` / ``"auto_po2"`` (found
      iteratively, see above).
    threshold: with a numeric or None ``alpha``, the magnitude below which
      values become 0 (None: 0.33); must be None with a string ``alpha``.
    use_stochastic_rounding: if true (string ``alpha`` only), round
      stochastically when called with ``training=True``.
    number_of_unrolls: the number of scale refinements with a string
      ``alpha`` (1 to 1000).
  """

  _FORMAT = QuantizerFormat("ternary", 2, 2)
  _ARGS = (
      _ALPHA,
      A.Arg("threshold", _check_threshold, style=A.KEYWORD, shown=A.not_none),
      _STOCHASTIC, _NUMBER_OF_UNROLLS,
  )

  def __init__(self, alpha=None, threshold=None, use_stochastic_rounding=False,
               number_of_unrolls=5):
    super().__init__()
    self._init_args(locals())
    if isinstance(self.alpha, str) and self.threshold is not None:
      V.fail(type(self).__name__, "threshold",
             f"None when alpha is {self.alpha!r} (the threshold is derived "
             "from the scale)", threshold)
    self.bits = 2
    self.default_alpha = 1.0
    self.default_threshold = 0.33
    self.scale = None

  def call(self, x, training=None):
    if isinstance(self.alpha, str):
      axis = _channel_axes_or_global(len(x.shape), None)
      m = ops.max(ops.abs(x), axis=axis, keepdims=True)
      scale = _qmath.divide(m, 1.5)  # 2 * m / 3, as one division
      if self.alpha == "auto_po2":
        scale = _qmath.round_to_po2(scale)
      seed = self.seed_generator if self.use_stochastic_rounding else None

      def refine(scale):  # (codes, scale) of one least-squares round
        v = scale * _qmath.round_through(
            _qmath.divide(x, scale), self.use_stochastic_rounding, 1.0 / 3.0,
            training, seed)
        q = _ternary_codes(v, x, scale / 2.0)
        return q, _qmath.least_squares_scale(self.alpha, x, q)

      q, scale = _qmath.iterate_scale(refine, scale, self.number_of_unrolls,
                                      stop_early=seed is None)
    else:
      if self.use_stochastic_rounding:
        raise ValueError(
            "ternary: use_stochastic_rounding=True needs alpha='auto' or "
            f"'auto_po2', got alpha={self.alpha!r}.")
      scale = _qmath.least_squares_scale(self.alpha, x, x)
      thres = (self.default_threshold
               if self.threshold is None else self.threshold)
      q = _ternary_codes(x, x, thres)
    if self.alpha is None:
      x = ops.tanh(x)
    return self._scaled_output(x, scale, q)

  def _set_trainable_parameter(self):
    # An explicit threshold keeps the threshold quantizer (QKeras crashed).
    if self.alpha is None and self.threshold is None:
      self.alpha = "auto_po2"

  def min(self):
    return -_alpha_max(self.alpha)


@_register
class stochastic_ternary(_SampledInTraining, ternary):  # pylint: disable=invalid-name
  """Ternary quantizer that samples in training.

  In training: the scale is found as in ``ternary`` (without rounding), then
  with ``x_n = x/(std + eps)`` and ``T = s/(2(std + eps))`` two signs are
  sampled, ``q0 = sign(sigmoid(t(x_n - T)) - U)``, ``q1 = sign(sigmoid(t(x_n +
  T)) - U')``, and ``q = (q0 + q1)/2`` in {-1, 0, 1}. Otherwise it is
  ``ternary(alpha, threshold)``.

  Args:
    alpha: the scale, as in ``ternary``.
    threshold: as in ``ternary`` (not 1.0).
    temperature: the slope of the sigmoids that give the probabilities.
    use_real_sigmoid: if true, ``keras.ops.sigmoid``; else the internal
      sigmoid (``set_internal_sigmoid``).
    number_of_unrolls: the number of scale refinements (1 to 1000).
  """

  _FORMAT = QuantizerFormat("stochastic_ternary", 2, 2)
  _ARGS = (
      _ALPHA, ternary._ARGS[1], _TEMPERATURE,  # pylint: disable=protected-access
      _USE_REAL_SIGMOID.replace(text=_zero_text), _NUMBER_OF_UNROLLS,
  )

  def __init__(self, alpha=None, threshold=None, temperature=8.0,
               use_real_sigmoid=True, number_of_unrolls=5):
    if threshold is not None and not isinstance(threshold, str) and (
        threshold == 1.0):
      V.fail(type(self).__name__, "threshold", "different from 1.0",
             threshold)
    super().__init__(alpha=alpha, threshold=threshold,
                     number_of_unrolls=number_of_unrolls)
    self._init_args({"temperature": temperature,
                     "use_real_sigmoid": use_real_sigmoid})

  def _stochastic_output(self, x):
    axis = _channel_axes_or_global(len(x.shape), [0])
    x_std = ops.std(x, axis=axis, keepdims=True)
    m = ops.max(ops.abs(x), axis=axis, keepdims=True)
    scale = m / 1.5  # 2 * m / 3, as one division
    if self.alpha == "auto_po2":
      scale = _qmath.round_to_po2(scale)

    def refine(scale):  # (codes, scale) of one least-squares round
      q_ns = _ternary_codes(x, x, scale / 2.0)
      return q_ns, _qmath.least_squares_scale(self.alpha, x, q_ns)

    _, scale = _qmath.iterate_scale(refine, scale, self.number_of_unrolls)
    eps = _qmath.epsilon()
    x_norm = x / (x_std + eps)
    t = _as_scale(scale, x.dtype) / (2.0 * (x_std + eps))
    sigmoid = _sigmoid_for(self.use_real_sigmoid)
    q0 = _sample_sign(sigmoid(self.temperature * (x_norm - t)),
                      self.seed_generator)
    q1 = _sample_sign(sigmoid(self.temperature * (x_norm + t)),
                      self.seed_generator)
    return self._scaled_output(x, scale, (q0 + q1) / 2.0)

# ==========================================================================
# Activation quantizers.
# ==========================================================================
@_register
class quantized_relu(BaseQuantizer):  # pylint: disable=invalid-name
  """Quantized ReLU with ``bits`` bits, ``integer`` of them integer bits.

  With ``n = bits - (negative_slope != 0)``, ``m = 2**n``, ``m_i =
  2**integer``: ``xq = m_i * clip(round(x * m / m_i) / m, 0, 1 - 1/m)``
  (codes ``k * m_i / m``, e.g. ``quantized_relu(4)(0.3) = 0.3125``), plus a
  negative branch ``m_i * ns * clip(round(x*m/m_i * ns) / (ns*m), -1, 0)`` for
  a power-of-two ``negative_slope`` ns. ``use_sigmoid`` quantizes
  ``2*sigmoid(x/m_i) - 1`` instead. The output is ``x_u + sg(q*(xq - x_u))``
  where ``x_u`` is the (leaky) relu clipped at ``m_i - m_i/m`` (or at
  ``relu_upper_bound`` when ``is_quantized_clip=False``), so the gradient is
  that of the clipped relu.

  Args:
    bits: number of bits (1 to 64; at least 2 with a ``negative_slope``,
      whose sign takes one).
    integer: number of integer bits (-127 to 127, or an int variable).
    use_sigmoid: if true, quantize ``2*sigmoid(x/m_i) - 1`` instead of x.
    negative_slope: 0, or the power-of-two slope below 0 (leaky relu).
    use_stochastic_rounding: if true, round stochastically when called with
      ``training=True``.
    relu_upper_bound: a positive clip of the output when
      ``is_quantized_clip`` is false, or None.
    is_quantized_clip: if true, the output is clipped at the largest code;
      else at ``relu_upper_bound``.
    qnoise_factor: how much quantization noise is added, from 0 (the clipped
      relu) to 1 (fully quantized).
    var_name: name prefix of the variables made by ``use_variables``.
    use_ste: if true, the gradient is that of the clipped relu (straight
      through); else the quantization noise is differentiated too.
    use_variables: if true, ``qnoise_factor`` and ``integer`` become
      non-trainable variables when the quantizer is built.
    enable_fast_inference: if true, ``q(x)`` computes the plain quantized
      relu directly (no gradient, no noise).
  """

  _ARGS = (
      _BITS, _INTEGER, A.Arg("use_sigmoid", V.check_flag),
      A.Arg("negative_slope", V.check_power_of_two_or_zero), _STOCHASTIC,
      A.Arg("relu_upper_bound", _check_positive_or_none), _QNOISE_FACTOR,
      A.Arg("is_quantized_clip", V.check_flag), _USE_STE,
      A.Arg("enable_fast_inference", V.check_flag), _VAR_NAME, _USE_VARIABLES,
  )

  def __init__(self, bits=8, integer=0, use_sigmoid=0, negative_slope=0.0,
               use_stochastic_rounding=False, relu_upper_bound=None,
               is_quantized_clip=True, qnoise_factor=1.0, var_name=None,
               use_ste=True, use_variables=False, enable_fast_inference=False):
    super().__init__()
    self._init_args(locals())
    if self.negative_slope != 0 and self.bits < 2:
      V.fail(type(self).__name__, "bits",
             "an integer >= 2 when negative_slope is set", bits)
    # ``enable_fast_inference`` scales by 2**(bits - integer).
    _check_scale_range(type(self).__name__, self.integer, self.bits)

  def __call__(self, x, training=None):
    if self.enable_fast_inference:
      m_i = _qmath.pow2(self.integer)
      return fast_relu_quantize(
          _qmath.to_float_tensor(x) * (2.0**self.bits / m_i), m_i,
          2.0**-self.bits)
    return super().__call__(x, training)

  def call(self, x, training=None):
    slope = float(self.negative_slope)
    non_sign_bits = self.bits - (slope != 0.0)
    m = 2.0**non_sign_bits
    m_i = _qmath.pow2(self.integer)
    m_f = m_i / m  # 2**(integer - non_sign_bits)
    sr = self.use_stochastic_rounding
    seed = self.seed_generator if sr else None

    def rnd(v):
      return _qmath.round_value(v, sr, 0.5, training, seed)

    if self.use_sigmoid:
      p = _internal_sigmoid(x / m_i) * m
      xq = m_i * _qmath.clip(2.0 * (rnd(p) / m) - 1.0, 0.0, 1.0 - 1.0 / m)
      if slope > 0:
        neg_factor = 1.0 / (slope * m)
        xq = xq + m_i * slope * _qmath.clip(
            2.0 * (rnd(p * slope) * neg_factor) - 1.0, -1.0, 0.0)
    else:
      # m_i * clip(round(x * m / m_i) / m, 0, 1 - 1/m), with the power-of-two
      # factors grouped (bit-identical, fewer passes).
      p = x * (m / m_i)
      xq = _qmath.clip(rnd(p), 0.0, m - 1.0) * (m_i / m)
      if slope > 0:
        neg_factor = 1.0 / (slope * m)
        xq = xq + m_i * slope * (
            _qmath.clip(rnd(p * slope) * neg_factor, -1.0, 0.0))
    if self.relu_upper_bound and not self.is_quantized_clip:
      xq = ops.where(xq <= self.relu_upper_bound, xq, self.relu_upper_bound)
    # The straight-through reference x_u is relu(x) clipped above at
    # m_i - m_f (or relu_upper_bound); QKeras writes where(x <= c, relu(x), c).
    if self.is_quantized_clip:
      high = m_i - m_f
    elif self.relu_upper_bound is not None:
      high = self.relu_upper_bound
    else:
      high = float("inf")
    q = self.qnoise_factor
    if (not slope and self.use_ste and _qmath.is_python_number(q) and
        float(q) == 1.0):
      return _qmath.ste_window(x, xq, 0.0, high)
    relu = (lambda v: _qmath.leaky_relu(v, slope)) if slope else ops.relu
    x_u = _qmath.minimum(relu(x), high)
    return _qmath.mix_quantization_noise(x_u, xq, self.qnoise_factor,
                                         self.use_ste)

  def max(self):
    """``max(1, 2**integer)`` (QKeras's bound)."""
    if self.bits - (self.negative_slope != 0) > 0:
      return max(1.0, float(_pow2_f32(_integer_f32(self.integer))))
    return 1.0

  def min(self):
    """0, or ``min(-0, -negative_slope * 2**integer)`` with a slope."""
    if self.negative_slope == 0:
      return 0.0
    if self.bits - 1 > 0:
      return min(-0.0, -float(self.negative_slope) *
                 float(_pow2_f32(_integer_f32(self.integer))))
    return -1.0

  def range(self):
    """All ``2**bits`` values ``k * 2**(integer - bits)`` (plain relu only)."""
    if self.use_sigmoid or self.negative_slope:
      raise ValueError(
          "quantized_relu.range() is only defined without use_sigmoid and "
          f"negative_slope; got {self}.")
    x = np.arange(2**self.bits)
    return x * _pow2_f32(_integer_f32(self.integer) - self.bits)

  def __str__(self):
    # QKeras's text: a zero negative_slope is left out even when
    # use_stochastic_rounding follows it.
    flags = [str(self.bits), _integer_text(self.integer)]
    if self.use_sigmoid or self.use_stochastic_rounding or self.negative_slope:
      flags.append(str(int(self.use_sigmoid)))
    if self.negative_slope:
      flags.append(str(self.negative_slope))
    if self.use_stochastic_rounding:
      flags.append(str(int(self.use_stochastic_rounding)))
    return "quantized_relu(" + ",".join(flags) + ")"

  @property
  def format(self):
    return _fixed_point_format("quantized_relu", self.bits, self.integer,
                               signed=False)


@_register
class quantized_ulaw(BaseQuantizer):  # pylint: disable=invalid-name
  """u-law quantizer.

  ``m = 2**(bits-1)``, ``m_i = 2**integer``; ``p = sigmoid(x/m_i) * m``;
  ``r = 2*round(p)/m - 1``; ``y = sign(r) * log(1 + u|r|) / log(1 + u)``;
  output ``m_i * clip(y, -1 + symmetric/m, 1 - 1/m)``.

  Args:
    bits: number of bits, including the sign bit (2 to 64).
    integer: number of integer bits (-127 to 127, or an int variable).
    symmetric: if true, the most negative value is not used.
    u: the positive u-law compression parameter.
  """

  _ARGS = (
      _BITS.replace(check=_check_signed_bits),
      _INTEGER.replace(config=True, text=str),
      _SYMMETRIC.replace(style=A.OPTIONAL),
      A.Arg("u", _check_ulaw_u, style=A.OPTIONAL, shown=A.changed),
  )

  def __init__(self, bits=8, integer=0, symmetric=0, u=255.0):
    super().__init__()
    self._init_args(locals())
    # x / 2**integer: 2**integer must be a normal float32.
    _check_scale_range(type(self).__name__, self.integer, 0)

  def call(self, x, training=None):
    m = 2.0**(self.bits - 1)
    m_i = _qmath.pow2(self.integer)
    p = _internal_sigmoid(x / m_i) * m
    rp = 2.0 * (_qmath.round_through(p) / m) - 1.0
    log_1pu = ops.log(ops.convert_to_tensor(1.0 + float(self.u), x.dtype))
    u_law_p = _qmath.sign(rp) * ops.log(1.0 + self.u * ops.abs(rp)) / log_1pu
    return m_i * _qmath.clip(u_law_p, -1.0 + (1.0 * self.symmetric) / m,
                          1.0 - 1.0 / m)

  def max(self):
    if self.bits - 1 > 0:
      return max(1.0, float(np.power(2.0, self.integer)))
    return 1.0

  def min(self):
    if self.bits - 1 > 0:
      return -max(1.0, float(np.power(2.0, self.integer)))
    return -1.0

  @property
  def format(self):
    return _fixed_point_format("quantized_ulaw", self.bits, self.integer)


@_register
class quantized_tanh(BaseQuantizer):  # pylint: disable=invalid-name
  """Quantized tanh in ``[-1, 1)``.

  ``m = 2**(bits-1)``; ``p = tanh(x)`` (``use_real_tanh``) or
  ``2*sigmoid(x) - 1`` (QKeras's hard sigmoid by default); output
  ``clip(round(p*m)/m, -1 + symmetric/m, 1 - 1/m)``.

  Args:
    bits: number of bits, including the sign bit (1 to 64).
    use_stochastic_rounding: if true, round stochastically when called with
      ``training=True``.
    symmetric: if true, -1 is not used.
    use_real_tanh: if true, ``keras.ops.tanh``; else ``2*sigmoid(x) - 1``
      with the internal sigmoid (``set_internal_sigmoid``).
  """

  _ARGS = (
      _BITS, _SYMMETRIC.replace(style=A.OPTIONAL),
      _STOCHASTIC.replace(style=A.OPTIONAL),
      A.Arg("use_real_tanh", V.check_flag, style=A.OPTIONAL, text=A.int_text),
  )
  _STR_ORDER = ("bits", "use_stochastic_rounding", "symmetric",
                "use_real_tanh")

  def __init__(self, bits=8, use_stochastic_rounding=False, symmetric=False,
               use_real_tanh=False):
    super().__init__()
    self._init_args(locals())

  def call(self, x, training=None):
    m = 2.0**(self.bits - 1)
    p = ops.tanh(x) if self.use_real_tanh else (
        2.0 * _internal_sigmoid(x) - 1.0)
    seed = self.seed_generator if self.use_stochastic_rounding else None
    rounded = _qmath.round_through(p * m, self.use_stochastic_rounding, 0.5,
                                   training, seed)
    return _qmath.clip_window(rounded / m, -1.0 + (1.0 * self.symmetric) / m,
                              1.0 - 1.0 / m)

  def max(self):
    return 1.0 - 1.0 / pow(2, self.bits - 1)

  def min(self):
    return -1.0 + (1.0 * self.symmetric) / pow(2, self.bits - 1)

  @property
  def format(self):
    return _fixed_point_format("quantized_tanh", self.bits, None)


@_register
class quantized_sigmoid(BaseQuantizer):  # pylint: disable=invalid-name
  """Quantized sigmoid in ``[0, 1)``.

  ``m = 2**bits``; ``p = sigmoid(x)`` (``use_real_sigmoid``) or QKeras's hard
  sigmoid; output ``clip(round(p*m)/m, symmetric/m, 1 - 1/m)``.

  Args:
    bits: number of bits (1 to 64).
    symmetric: if true, 0 is not used.
    use_real_sigmoid: if true, ``keras.ops.sigmoid``; else the internal
      sigmoid (``set_internal_sigmoid``).
    use_stochastic_rounding: if true, round stochastically when called with
      ``training=True``.
  """

  _ARGS = (
      _BITS, _SYMMETRIC.replace(style=A.OPTIONAL),
      A.Arg("use_real_sigmoid", V.check_flag, style=A.OPTIONAL,
            text=A.int_text),
      _STOCHASTIC.replace(style=A.OPTIONAL),
  )

  def __init__(self, bits=8, symmetric=False, use_real_sigmoid=False,
               use_stochastic_rounding=False):
    super().__init__()
    self._init_args(locals())

  def call(self, x, training=None):
    m = 2.0**self.bits
    p = ops.sigmoid(x) if self.use_real_sigmoid else _internal_sigmoid(x)
    seed = self.seed_generator if self.use_stochastic_rounding else None
    rounded = _qmath.round_through(p * m, self.use_stochastic_rounding, 0.5,
                                   training, seed)
    return _qmath.clip(rounded / m, (1.0 * self.symmetric) / m, 1.0 - 1.0 / m)

  def max(self):
    return 1.0 - 1.0 / pow(2, self.bits)

  def min(self):
    return (1.0 * self.symmetric) / pow(2, self.bits)



# ==========================================================================
# Power-of-two quantizers.
# ==========================================================================
def _need_exponent_sign_bit_check(max_value):
  """1 if the exponent needs a sign bit (max_value None or > 1), else 0."""
  if max_value is None:
    return 1
  if max_value < 0:
    raise ValueError("po2 max_value should be non-negative.")
  return 1 if max_value > 1 else 0


def _get_min_max_exponents(non_sign_bits, need_exponent_sign_bit,
                           quadratic_approximation):
  """``(-2**e, 2**e - 1)`` with ``e = non_sign_bits - need_sign`` (max even
  with the quadratic approximation)."""
  effect_bits = non_sign_bits - need_exponent_sign_bit
  min_exp = -2**effect_bits
  max_exp = 2**effect_bits - 1
  if quadratic_approximation:
    max_exp = 2 * (max_exp // 2)
  return min_exp, max_exp


def _check_max_value(owner, name, value):
  return None if value is None else V.check_number(owner, name, value, lo=0.0)


def _check_log2_rounding(owner, name, value):
  return V.check_choice(owner, name, value, ("rnd", "floor"))


class _Po2Base(BaseQuantizer):
  """What the two power-of-two quantizers share: arguments, exponent range,
  rounding to a power of two."""

  # ``bits`` is checked by ``_init_po2`` (its lower bound needs max_value).
  _ARGS = (
      _BITS.replace(check=None),
      A.Arg("max_value", _check_max_value, style=A.OPTIONAL,
            text=_number_text, shown=A.not_none),
      _STOCHASTIC.replace(style=A.OPTIONAL),
      A.Arg("quadratic_approximation", V.check_flag, style=A.KEYWORD,
            text=A.int_text),
      _QNOISE_FACTOR,
      A.Arg("log2_rounding", _check_log2_rounding, style=A.KEYWORD,
            text=A.quoted_text, shown=A.changed),
      _USE_STE, _VAR_NAME, _USE_VARIABLES,
  )

  def _init_po2(self, values, sign_bits):
    """Stores the arguments in ``values`` (``__init__``'s ``locals()``) and
    the exponent range; ``sign_bits``: 1 if a bit holds the value's sign."""
    self._init_args(values)
    need_sign = 1 if self.max_value is None else _need_exponent_sign_bit_check(
        self.max_value)
    self.bits = V.check_bits(type(self).__name__, self.bits,
                             lo=max(1, sign_bits + need_sign),
                             hi=V.MAX_PO2_BITS)
    self._min_exp, self._max_exp = _get_min_max_exponents(
        self.bits - sign_bits, need_sign, self.quadratic_approximation)

  @property
  def format(self):
    """Power of two (mode 1); ``quantized_relu_po2`` is unsigned."""
    return QuantizerFormat(type(self)._FAMILY, 1, int(self.bits),
                           signed=type(self)._SIGNED, po2=True)

  def _power_of_two(self, x_abs, training):
    """``2**e`` for the clipped po2 exponent ``e`` of ``x_abs``."""

    def deterministic():
      return _qmath.po2_magnitude(x_abs, self._min_exp, self._max_exp,
                                  self.max_value, self.quadratic_approximation,
                                  self.log2_rounding)

    def stochastic():
      magnitude = _qmath.pow2_exact(ops.minimum(_qmath.clip_power_of_two(
          x_abs, self._min_exp, self._max_exp, self.max_value,
          self.quadratic_approximation, True, self.log2_rounding, True,
          self.seed_generator), float(_qmath.PO2_MAX_EXPONENT)))
      return ops.where(ops.isnan(x_abs), x_abs, magnitude)  # as the log

    if self.use_stochastic_rounding and self.log2_rounding == "rnd":
      return _qmath.select_training(training, stochastic, deterministic)
    return deterministic()

  def max(self):
    """``max(1, max_value)`` or ``max(1, 2**max_exp)``."""
    if self.max_value:
      return max(1.0, self.max_value)
    return max(1.0, _safe_pow2(self._max_exp))



@_register
class quantized_po2(_Po2Base):  # pylint: disable=invalid-name
  """Quantizes to ``sign(x) * 2**e`` (never 0: 0 maps to ``+2**min_exp``).

  ``bits`` covers the sign of x, the exponent's sign (when ``max_value`` is
  None or > 1) and the exponent: ``e`` in ``[-2**k, 2**k - 1]`` with
  ``k = bits - 1 - need_sign``; ``e = round(log2|x|)`` (half to even on the
  log; ``floor`` with ``log2_rounding="floor"``), ``|x|`` clipped at
  ``max_value`` first. ``quantized_po2(4)(0) = 0.0625``.

  Args:
    bits: number of bits, including the value's sign and, when needed, the
      exponent's sign (2 to 32).
    max_value: the largest magnitude (``|x|`` is clipped to it first), a
      non-negative number, or None (no clip; the exponent then has a sign).
    use_stochastic_rounding: if true, round the exponent stochastically when
      called with ``training=True``.
    quadratic_approximation: if true, the largest exponent is even (for
      square-root friendly hardware).
    log2_rounding: how the exponent is rounded: ``"rnd"`` or ``"floor"``.
    qnoise_factor: how much quantization noise is added, from 0 (the input
      unchanged) to 1 (fully quantized).
    var_name: name prefix of the variables made by ``use_variables``.
    use_ste: if true, the gradient is 1 (straight through); else the
      quantization noise is differentiated too.
    use_variables: if true, ``qnoise_factor`` becomes a non-trainable
      variable when the quantizer is built.
  """

  _FAMILY = "quantized_po2"
  _SIGNED = True
  _ARGS = _Po2Base._ARGS  # pylint: disable=protected-access

  def __init__(self, bits=8, max_value=None, use_stochastic_rounding=False,
               quadratic_approximation=False, log2_rounding="rnd",
               qnoise_factor=1.0, var_name=None, use_ste=True,
               use_variables=False):
    super().__init__()
    self._init_po2(locals(), sign_bits=1)

  def call(self, x, training=None):
    xq = _qmath.sign_nonzero(x) * self._power_of_two(ops.abs(x), training)
    return _qmath.mix_quantization_noise(x, xq, self.qnoise_factor,
                                         self.use_ste)

  def min(self):
    """``-max()``."""
    return -self.max()


@_register
class quantized_relu_po2(_Po2Base):  # pylint: disable=invalid-name
  """Power-of-two ReLU: ``2**e`` for ``x >= 0`` (also tiny ``2**min_exp`` for
  negative x without slope), ``-2**e(|x| * negative_slope)`` below 0.

  Exponents in ``[-2**k, 2**k - 1]`` with ``k = bits - need_sign`` (no bit
  for the value's sign). Output ``ste(relu(x, slope) [clipped at max_value],
  xq)``.

  Args:
    bits: number of bits, including the exponent's sign when needed (1 to
      32).
    max_value: the largest value (``x`` is clipped to it first), a
      non-negative number, or None (no clip; the exponent then has a sign).
    negative_slope: 0, or the power-of-two slope below 0.
    use_stochastic_rounding, quadratic_approximation, log2_rounding,
    qnoise_factor, var_name, use_ste, use_variables: as in
      ``quantized_po2``.
  """

  _FAMILY = "quantized_relu_po2"
  _SIGNED = False
  _ARGS = _Po2Base._ARGS + (  # pylint: disable=protected-access
      A.Arg("negative_slope", V.check_power_of_two_or_zero),
  )

  def __init__(self, bits=8, max_value=None, negative_slope=0,
               use_stochastic_rounding=False, quadratic_approximation=False,
               log2_rounding="rnd", qnoise_factor=1.0, var_name=None,
               use_ste=True, use_variables=False):
    super().__init__()
    self._init_po2(locals(), sign_bits=0)

  def call(self, x, training=None):
    slope = float(self.negative_slope)
    relu = (lambda v: _qmath.leaky_relu(v, slope)) if slope else ops.relu
    if self.max_value is None:
      x_u = relu(x)
    else:
      x_u = ops.where(x <= self.max_value, relu(x), self.max_value)
    pos = self._power_of_two(ops.relu(x), training)
    if slope == 0.0:
      xq = pos
    else:
      neg = self._power_of_two(ops.relu(-x) * slope, training)
      xq = ops.where(x >= 0.0, pos, -neg)
    return _qmath.mix_quantization_noise(x_u, xq, self.qnoise_factor,
                                         self.use_ste)

  def min(self):
    """``2**min_exp`` or, with a slope, ``min(2**min_exp, -slope*2**(bits-1))``."""
    if self.negative_slope == 0:
      return 2**self._min_exp
    if self.bits - 1 > 0:
      return min(2**self._min_exp,
                 -self.negative_slope * np.power(2.0, self.bits - 1))
    return 2**self._min_exp

  def __str__(self):
    # QKeras's text: a zero negative_slope is left out even when
    # use_stochastic_rounding follows it.
    flags = [str(self.bits)]
    if (self.max_value is not None or self.use_stochastic_rounding or
        self.negative_slope):
      flags.append(_number_text(self.max_value))
    if self.negative_slope:
      flags.append(str(self.negative_slope))
    if self.use_stochastic_rounding:
      flags.append(str(int(self.use_stochastic_rounding)))
    if self.quadratic_approximation:
      flags.append("quadratic_approximation=" +
                   str(int(self.quadratic_approximation)))
    if self.log2_rounding != "rnd":
      flags.append("log2_rounding='" + self.log2_rounding + "'")
    return "quantized_relu_po2(" + ",".join(flags) + ")"


# ==========================================================================
# Lookup.
# ==========================================================================
_QUANTIZER_FUNCTIONS = {
    f.__name__: f for f in (smooth_sigmoid, hard_sigmoid, binary_sigmoid,
                            binary_tanh, hard_tanh, smooth_tanh)
}


def _string_table():
  """Names a quantizer string may use: registered quantizers + functions."""
  table = quantizer_registry.registered_quantizers()
  table.update(_QUANTIZER_FUNCTIONS)
  return table


def _reject_function_calls(identifier):
  """Only quantizer classes take arguments in a string.

  The activation functions (``hard_sigmoid``, ``binary_tanh``, ...) are
  given by their bare name (``"hard_sigmoid"`` -> the function); with
  parentheses (``"hard_sigmoid(3)"``) the string would apply the function to
  its arguments and return a tensor, not a quantizer.
  """
  call = _safe_eval.parse_call(identifier.strip())
  if call.name in _QUANTIZER_FUNCTIONS and call.has_parens:
    quantizers = ", ".join(sorted(quantizer_registry.registered_quantizers()))
    raise ValueError(
        f"Cannot build quantizer {identifier!r}: {call.name!r} is an "
        f"activation function; give it without parentheses "
        f"({call.name!r}). Only quantizers take arguments: {quantizers}.")


def _from_dict(identifier):
  """``{"class_name", "config"}`` (Keras 2 or Keras 3 layout) -> quantizer."""
  class_name = identifier.get("class_name")
  config = identifier.get("config", {})
  if not isinstance(class_name, str):
    raise ValueError(
        "Could not interpret quantizer identifier: a quantizer dict needs a "
        f"'class_name' string, got {identifier!r}.")
  registered = identifier.get("registered_name") or class_name
  known = quantizer_registry.registered_quantizers()
  for name in (registered, class_name):
    name = name.split(">")[-1]
    if name in known:
      if not isinstance(config, dict):
        raise ValueError(
            f"Could not interpret quantizer identifier: the config of "
            f"{class_name!r} must be a dict, got {config!r}.")
      return known[name].from_config(config)
  if class_name == "function" and isinstance(config, str):
    package, _, name = config.rpartition(">")
    if package in ("", "qkeras"):
      return get_quantizer(name)
  raise ValueError(
      f"Could not interpret quantizer identifier: unknown quantizer class "
      f"{class_name!r}; known quantizers: {sorted(known)}.")


def get_quantizer(identifier):
  """Returns a quantizer from an object, a string, a config dict or None.

  * None -> None; a quantizer or any callable -> returned unchanged;
  * a string such as ``"quantized_bits(4,0,1,alpha='auto_po2')"``,
    ``"binary"`` (-> ``binary()``), ``"hard_sigmoid"`` (QKeras's function) or
    a Keras activation name (``"relu"``) — parsed by ``qkeras.safe_eval``,
    never evaluated;
  * a ``{"class_name": ..., "config": {...}}`` dict (Keras 2 or Keras 3
    serialization).

  Anything else raises ValueError.
  """
  if identifier is None:
    return None
  if isinstance(identifier, dict):
    return _from_dict(identifier)
  if isinstance(identifier, str):
    _reject_function_calls(identifier)
    try:
      return _safe_eval.safe_eval(identifier.strip(), _string_table())
    except (TypeError, OverflowError) as e:  # wrong constructor arguments
      raise ValueError(
          f"Cannot build quantizer {identifier!r}: {e}") from None
  if callable(identifier):
    return identifier
  raise ValueError("Could not interpret quantizer identifier: " +
                   str(identifier))


_INITIALIZER_SCALES = {
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
}


def get_quantized_initializer(w_initializer, w_range):
  """Scales a named initializer by the weight range ``w_range``.

  "he_normal"/"he_uniform" -> VarianceScaling(2*w_range, fan_in),
  "glorot_normal"/"glorot_uniform" -> VarianceScaling(w_range, fan_avg),
  "random_uniform" -> RandomUniform(-w_range, w_range); anything else is
  returned unchanged.
  """
  if isinstance(w_initializer, str):
    if w_initializer in _INITIALIZER_SCALES:
      factor, mode, distribution = _INITIALIZER_SCALES[w_initializer]
      return keras.initializers.VarianceScaling(
          scale=factor * w_range, mode=mode, distribution=distribution)
    if w_initializer == "random_uniform":
      return keras.initializers.RandomUniform(-w_range, w_range)
  return w_initializer

