# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Shared quantizer math: every formula the quantizers (and later the layers)
use lives here, written with ``keras.ops`` so it runs eagerly, inside
``tf.function`` and under XLA.

Conventions (same as QKeras 0.9):

* ``round`` is round-half-to-even (``tf.round``), except where a caller
  explicitly uses ``floor(v + 0.5)``.
* ``eps`` is ``keras.config.epsilon()`` (1e-7 by default), read at call time.
* ``log2(v)`` is computed as ``log(v) / log(2)`` in the input dtype, exactly as
  QKeras does, so that power-of-two rounding ties fall the same way.
* Straight-through estimators return the quantized value *exactly* in the
  forward pass (QKeras computes ``x + (xq - x)``, which equals ``xq`` except
  when ``|x|`` is so large that ``xq - x`` rounds, or ``x`` is infinite) and
  pass the incoming gradient unchanged to ``x``.
"""

import contextlib
import functools

import numpy as np
import keras
from keras import ops

LOG_2 = float(np.log(2.0))


# --------------------------------------------------------------------------
# Tensors, dtypes, training flag.
# --------------------------------------------------------------------------
def to_float_tensor(x):
  """Converts ``x`` to a floating tensor.

  NumPy / Python inputs become floatx tensors (float64 arrays are cast, as
  QKeras's ``K.cast_to_floatx`` does); tensors keep a floating dtype and are
  cast to floatx otherwise.
  """
  if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
    return ops.convert_to_tensor(np.asarray(x, dtype=keras.config.floatx()))
  if not isinstance(x, keras.KerasTensor):
    x = ops.convert_to_tensor(x)
  if "float" not in keras.backend.standardize_dtype(x.dtype):
    return ops.cast(x, keras.config.floatx())
  return x


def to_numpy(value):
  """NumPy value of a tensor or Keras variable."""
  if isinstance(value, keras.Variable):
    return np.asarray(value.numpy())
  return ops.convert_to_numpy(value)


def epsilon():
  return keras.config.epsilon()


def is_python_number(v):
  return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
      v, bool)


def pow2(v):
  """2**v as a Python float for Python numbers, else as a tensor."""
  if is_python_number(v):
    return float(2.0 ** float(v))
  return ops.power(2.0, ops.cast(v, keras.config.floatx()))


def static_training(training):
  """Returns True/False for a Python training flag, None for a tensor flag."""
  if training is None:
    return False
  if isinstance(training, (bool, np.bool_, int)):
    return bool(training)
  return None


def select_training(training, true_fn, false_fn):
  """Runs ``true_fn`` when training, else ``false_fn`` (tensor flags: cond)."""
  flag = static_training(training)
  if flag is None:
    return ops.cond(ops.cast(training, "bool"), true_fn, false_fn)
  return true_fn() if flag else false_fn()


# --------------------------------------------------------------------------
# Straight-through estimators.
# --------------------------------------------------------------------------
def _zero_grad(upstream):
  if keras.backend.backend() == "tensorflow":
    return None
  return ops.zeros_like(upstream)


@ops.custom_gradient
def _ste(x, xq):
  def grad(*args, upstream=None):
    if upstream is None:
      (upstream,) = args
    return upstream, _zero_grad(upstream)

  return xq, grad


def ste(x, xq):
  """Forward value ``xq``; gradient w.r.t. ``x`` is the identity.

  Equivalent to QKeras's ``x + stop_gradient(xq - x)`` but exact for every
  input (no cancellation for huge ``|x|``, no NaN for infinite ``x``). Adding
  0.0 turns a -0.0 result into +0.0, as QKeras's sum does.
  """
  return _ste(x, ops.stop_gradient(ops.cast(xq, x.dtype)) + 0.0)


def ste_window(x, xq, low, high):
  """Forward ``xq``; gradient 1 where ``low < x <= high``, else 0.

  The straight-through estimator of ``min(relu(x), high)`` (``low = 0``)
  without computing that reference in the forward pass.
  """

  @ops.custom_gradient
  def window(x, xq):
    def grad(*args, upstream=None):
      if upstream is None:
        (upstream,) = args
      inside = ops.logical_and(x > low, x <= high)
      return ops.where(inside, upstream, 0.0), _zero_grad(upstream)

    return xq, grad

  return window(x, ops.stop_gradient(ops.cast(xq, x.dtype)) + 0.0)


def mix_quantization_noise(x, xq, qnoise_factor=1.0, use_ste=True):
  """Blends the float value ``x`` and its quantization ``xq``.

  Forward value ``(1 - q) * x + q * xq`` with ``q = qnoise_factor``:
  * ``use_ste=True``: ``x + sg(q * (xq - x))`` -> gradient 1;
  * ``use_ste=False``: ``(1 - q) * x + sg(q * xq)`` -> gradient ``1 - q``.
  For ``q == 1`` the forward value is exactly ``xq``.
  """
  q = qnoise_factor
  if is_python_number(q):
    if float(q) == 1.0:
      if use_ste:
        return ste(x, xq)
      # QKeras: 0*x + xq; the sign of a zero result follows x's sign.
      return ops.stop_gradient(xq) + 0.0 * ops.sign(x)
    if use_ste:
      return x + ops.stop_gradient(q * (xq - x))
    return (1.0 - q) * x + ops.stop_gradient(q * xq)
  # qnoise_factor is a variable / tensor (use_variables=True).
  q = ops.cast(q, x.dtype)
  if use_ste:
    blended = x + ops.stop_gradient(q * (xq - x))
    return ops.where(q == 1.0, ste(x, xq), blended)
  blended = (1.0 - q) * x + ops.stop_gradient(q * xq)
  return ops.where(q == 1.0, ops.stop_gradient(xq) + 0.0 * ops.sign(x),
                   blended)


def stochastic_round(x, precision=0.5, seed=None):
  """Unbiased random rounding of ``x`` to a multiple of ``precision``.

  With ``s = 1/precision`` and ``f = x*s - floor(x*s)``: returns
  ``floor(x*s)/s`` if ``f < U[0,1)`` else ``ceil(x*s)/s``.
  """
  scale = 1.0 / precision
  scale_x = x * scale
  fraction = scale_x - ops.floor(scale_x)
  r = keras.random.uniform(ops.shape(x), dtype=x.dtype, seed=seed)
  result = ops.where(fraction < r, ops.floor(scale_x), ops.ceil(scale_x))
  return result / scale


def stochastic_round_po2(x, seed=None):
  """Random power-of-two exponent of ``|x|`` with ``E[2**e] = |x|``.

  ``e0 = round(log2(|x| + eps))``; the bracket ``[l, r]`` is ``[e0-1, e0]``
  when ``2**e0 > |x|`` else ``[e0, e0+1]``; draw ``v ~ U[2**l, 2**r)`` and
  return ``l`` if ``|x| < v`` else ``r``.
  """
  y = ops.abs(x)
  x_log2 = ops.round(log2(y + epsilon()))
  po2 = ops.power(2.0, x_log2)
  left = ops.where(po2 > y, x_log2 - 1.0, x_log2)
  right = ops.where(po2 > y, x_log2, x_log2 + 1.0)
  lo = ops.power(2.0, left)
  hi = ops.power(2.0, right)
  u = keras.random.uniform(ops.shape(y), dtype=y.dtype, seed=seed)
  val = lo + u * (hi - lo)
  return ops.where(y < val, left, right)


def round_value(x, use_stochastic_rounding=False, precision=0.5,
                training=None, seed=None):
  """``round(x)`` (half to even), or in training a stochastic rounding.

  No gradient path: for values that only reach the output through a
  straight-through estimator (``ste`` / ``mix_quantization_noise``).
  With ``use_stochastic_rounding`` and ``training`` true, rounds randomly to
  a multiple of ``precision`` (QKeras's default precision 0.5 is kept:
  callers that do not pass ``precision=1.0`` round to half integers).
  """
  if use_stochastic_rounding:
    return select_training(training,
                           lambda: stochastic_round(x, precision, seed),
                           lambda: ops.round(x))
  return ops.round(x)


def round_through(x, use_stochastic_rounding=False, precision=0.5,
                  training=None, seed=None):
  """``round_value`` with a straight-through gradient (identity)."""
  return ste(x, round_value(x, use_stochastic_rounding, precision, training,
                            seed))


def sign_through(x):
  """``sign(x)`` (0 -> 0) with a straight-through gradient."""
  return ste(x, ops.sign(x))


def floor_through(x):
  """``floor(x)`` with a straight-through gradient."""
  return ste(x, ops.floor(x))


def ceil_through(x):
  """``ceil(x)`` with a straight-through gradient."""
  return ste(x, ops.ceil(x))


def sign_nonzero(x):
  """``sign(x)`` with 0 mapped to +1 (computed as ``s + (1 - |s|)``)."""
  s = ops.sign(x)
  return s + (1.0 - ops.abs(s))


# --------------------------------------------------------------------------
# Logs and power-of-two scales.
# --------------------------------------------------------------------------
def log2(x):
  """``log(x) / log(2)``, as QKeras computes it."""
  return ops.log(x) / LOG_2


def round_to_po2(scale):
  """``2 ** round(log2(scale + eps))``."""
  return ops.power(2.0, ops.round(log2(scale + epsilon())))


def clip_po2_scale(scale, min_po2_exponent=None, max_po2_exponent=None):
  """Clips a power-of-two scale to ``[2**min_po2_exponent, 2**max_po2_exponent]``."""
  if min_po2_exponent is not None:
    scale = ops.maximum(scale, 2.0 ** min_po2_exponent)
  if max_po2_exponent is not None:
    scale = ops.minimum(scale, 2.0 ** max_po2_exponent)
  return scale


# --------------------------------------------------------------------------
# Axes and least-squares scales.
# --------------------------------------------------------------------------
def channel_reduction_axes(rank):
  """Every axis except the channel axis (last, or 1 for channels_first)."""
  if keras.config.image_data_format() == "channels_last":
    return list(range(rank - 1))
  return list(range(1, rank))


def normalize_axes(axes, rank):
  return sorted({a % rank for a in axes}) if rank else []


def scaling_axes(scale_axis, rank):
  """Axes reduced when computing per-channel scales.

  ``scale_axis`` None -> channel reduction axes; an int -> every axis but that
  one; a list -> every axis not in the list.
  """
  if scale_axis is None:
    return channel_reduction_axes(rank)
  keep = scale_axis if isinstance(scale_axis, (list, tuple)) else [scale_axis]
  keep = normalize_axes(keep, rank)
  return [a for a in range(rank) if a not in keep]


def _static_shape(x):
  shape = tuple(x.shape)
  if any(d is None for d in shape):
    raise ValueError(
        "elements_per_scale needs a fully known input shape, got "
        f"{shape}.")
  return shape


def grouped_mean(v, reduce_axes, elements_per_scale):
  """Mean of ``v`` over ``reduce_axes``, plus groups along the other axes.

  Each kept axis of length ``n`` is split into ``n / e`` consecutive groups of
  ``e`` elements (``e`` from ``elements_per_scale``, one value or one per kept
  axis); every group gets the mean over its elements and all reduced axes.
  The result has the input's shape with the reduced axes set to 1.
  """
  shape = _static_shape(v)
  rank = len(shape)
  kept = [a for a in range(rank) if a not in reduce_axes]
  if isinstance(elements_per_scale, (list, tuple)):
    eps_list = list(elements_per_scale)
  else:
    eps_list = [elements_per_scale] * len(kept)
  if len(eps_list) != len(kept):
    raise ValueError(
        f"elements_per_scale={elements_per_scale!r} must give one value per "
        f"scale axis {kept}.")
  split_shape, mean_axes, group_of = [], [], {}
  for a in range(rank):
    if a in kept:
      e = int(eps_list[kept.index(a)])
      if e <= 0 or shape[a] % e:
        raise ValueError(
            f"elements_per_scale={e} must divide the length {shape[a]} of "
            f"scale axis {a}.")
      split_shape += [shape[a] // e, e]
      mean_axes.append(len(split_shape) - 1)
      group_of[a] = e
    else:
      split_shape.append(shape[a])
      mean_axes.append(len(split_shape) - 1)
  m = ops.mean(ops.reshape(v, split_shape), axis=mean_axes, keepdims=True)
  full = []
  for a in range(rank):
    if a in kept:
      full += [shape[a] // group_of[a], group_of[a]]
    else:
      full.append(1)
  m = ops.broadcast_to(m, full)
  return ops.reshape(m, [shape[a] if a in kept else 1 for a in range(rank)])


def least_squares_scale(alpha, x, q, scale_axis=None, per_channel_scale=True,
                        elements_per_scale=None, min_po2_exponent=None,
                        max_po2_exponent=None):
  """Least-squares scale ``s`` minimising ``|x - s*q|^2`` (QKeras ``_get_scale``).

  For ``alpha`` "auto"/"auto_po2": ``s = mean(x*q) / (mean(q*q) + eps)`` over
  every axis but the scale axis (one scale per element for rank-1 tensors,
  one global scale when ``per_channel_scale`` is False); "auto_po2" rounds
  ``s`` to ``2**round(log2(s + eps))`` and clips its exponent. ``alpha`` None
  gives 1.0, an array is returned as is, a number as a float.
  """
  if isinstance(alpha, str):
    rank = len(x.shape)
    if not per_channel_scale:
      qx = ops.mean(x * q, keepdims=True)
      qq = ops.mean(q * q, keepdims=True)
    elif rank > 1:
      axes = scaling_axes(scale_axis, rank)
      if elements_per_scale is None:
        qx = ops.mean(x * q, axis=axes, keepdims=True)
        qq = ops.mean(q * q, axis=axes, keepdims=True)
      else:
        qx = grouped_mean(x * q, axes, elements_per_scale)
        qq = grouped_mean(q * q, axes, elements_per_scale)
    else:
      qx = x * q
      qq = q * q
    scale = qx / (qq + epsilon())
    if alpha == "auto_po2":
      scale = clip_po2_scale(round_to_po2(scale), min_po2_exponent,
                             max_po2_exponent)
    return scale
  if alpha is None:
    return 1.0
  if isinstance(alpha, np.ndarray):
    return alpha
  return float(alpha)


# --------------------------------------------------------------------------
# Sigmoid family (QKeras's slopes, not Keras's).
# --------------------------------------------------------------------------
def hard_sigmoid(x):
  """``clip(0.5 * x + 0.5, 0, 1)`` (QKeras slope 0.5)."""
  return ops.clip(0.5 * x + 0.5, 0.0, 1.0)


def smooth_sigmoid(x):
  """``clip(0.1875 * x + 0.5, 0, 1)``."""
  return ops.clip(0.1875 * x + 0.5, 0.0, 1.0)


def binary_sigmoid(x):
  """``round_through(hard_sigmoid(x))`` -> {0, 1}."""
  return round_through(hard_sigmoid(x))


def real_sigmoid(x):
  return ops.sigmoid(x)


# --------------------------------------------------------------------------
# Power-of-two quantization.
# --------------------------------------------------------------------------
def clip_power_of_two(x_abs, min_exp, max_exp, max_value,
                      quadratic_approximation=False,
                      use_stochastic_rounding=False, log2_rounding="rnd",
                      training=None, seed=None):
  """Exponent of the power of two closest to ``x_abs`` (>= 0), clipped.

  Values below eps get ``min_exp``; values at or above ``max_value`` are
  clipped to it first. The exponent is ``round(log2(v))`` (half to even, on
  the log), ``floor`` for ``log2_rounding="floor"``, or a stochastic po2
  rounding in training; it is clipped to ``[min_exp, max_exp]``. With the
  quadratic approximation the exponent of ``sqrt(v)`` is used and doubled.
  """
  eps = epsilon()
  x_filter = _po2_filter(x_abs, max_value)
  if quadratic_approximation:
    q_factor = 2.0
    x_input = ops.sqrt(x_filter)
  else:
    q_factor = 1.0
    x_input = x_filter
  if log2_rounding == "floor":
    x_log2 = floor_through(log2(x_input))
  elif use_stochastic_rounding:
    x_log2 = select_training(
        training,
        lambda: stochastic_round_po2(x_input, seed),
        lambda: round_through(log2(x_input)))
  else:
    x_log2 = round_through(log2(x_input))
  x_clipped = q_factor * ops.clip(x_log2, float(min_exp), float(max_exp))
  return ops.where(x_abs < eps, float(min_exp), x_clipped)


def _po2_filter(x_abs, max_value):
  """``x_abs`` floored at eps and, with a ``max_value``, clipped to it."""
  x_filter = ops.where(x_abs < epsilon(), epsilon(), x_abs)
  if max_value is not None:
    x_filter = ops.where(x_filter >= max_value, max_value, x_filter)
  return x_filter


# Exponents outside this window cannot be told apart in float32 (every
# positive float has a log2 in [-150, 128]); clipping the table there keeps
# it small for any bit width.
_PO2_WINDOW = 200


def _eager():
  """A context in which keras.ops run eagerly, even inside a trace."""
  if keras.backend.backend() == "tensorflow":
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.init_scope()
  return contextlib.nullcontext()


def _log2_code(v, quadratic, floor):
  """The exponent code QKeras computes for ``v``, before clipping."""
  x = ops.sqrt(v) if quadratic else v
  code = log2(x)
  return ops.floor(code) if floor else ops.round(code)


@functools.lru_cache(maxsize=256)
def po2_table(min_exp, max_exp, quadratic=False, floor=False):
  """Cut-offs that replace ``clip(round(log2(v)), min_exp, max_exp)``.

  The exponent code ``k(v) = round(log(v)/log(2))`` (or ``floor``, of
  ``sqrt(v)`` with the quadratic approximation) is non-decreasing in ``v``.
  For each exponent ``e`` in ``(lo, hi]`` the cut-off ``c_e`` is the smallest
  float32 ``v`` with ``k(v) >= e``, found by bisection over float32 bit
  patterns with the *same* eager kernels the log path uses. Then
  ``clip(k(v), min_exp, max_exp) == lo + #{e : v >= c_e}`` for every ``v``.
  Returns ``(cutoffs, lo)``; exponents beyond +-200 are clipped (no float32
  value can tell them apart).
  """
  lo = max(min_exp, -_PO2_WINDOW)
  hi = max(lo, min(max_exp, _PO2_WINDOW))
  ks = np.arange(lo + 1, hi + 1, dtype=np.float64)
  with _eager():
    def code(bits):
      # Each candidate is repeated 64 times so that every value goes through
      # the kernels' vectorized path, the one nearly all elements of a real
      # tensor take (TensorFlow's scalar tail path can differ by an ulp).
      v = np.asarray(bits, np.int64).astype(np.uint32).view(np.float32)
      tiled = ops.convert_to_tensor(np.repeat(v, 64))
      return to_numpy(_log2_code(tiled, quadratic, floor))[::64]

    low = np.full(ks.shape, 1, np.int64)  # smallest positive float32
    high = np.full(ks.shape, 0x7F800000, np.int64)  # +inf
    for _ in range(32):
      mid = (low + high) // 2
      ok = code(mid) >= ks
      high = np.where(ok, mid, high)
      low = np.where(ok, low, mid + 1)
    always = code(np.ones_like(low)) >= ks
  cutoffs = np.where(always, 0.0, low.astype(np.uint32).view(np.float32))
  return tuple(float(c) for c in cutoffs), lo


def _exponent_to_int(e):
  """A float exponent as int32 (beyond +-1000 every power is 0 or inf)."""
  return ops.cast(ops.clip(e, -1000.0, 1000.0), "int32")


def pow2_exact(e):
  """``2**e`` for an int32 tensor ``e``, built from float32 bit patterns.

  Exact for every exponent: normal powers, subnormals down to ``2**-149``,
  0 below and +inf above ``2**127`` (``ops.power`` may flush subnormals and
  costs a log and an exp per element).
  """
  exponent = e
  is_float = "float" in keras.backend.standardize_dtype(e.dtype)
  e = _exponent_to_int(e) if is_float else ops.cast(e, "int32")
  normal = ops.view(ops.left_shift(ops.clip(e, -126, 127) + 127, 23),
                    "float32")
  subnormal = ops.view(ops.left_shift(1, ops.clip(e + 149, 0, 22)), "float32")
  value = ops.where(e < -126, ops.where(e < -149, 0.0, subnormal), normal)
  value = ops.where(e > 127, float("inf"), value)
  if is_float:  # a NaN exponent gives NaN, as 2.0**nan does
    value = ops.where(ops.isnan(exponent), float("nan"), value)
  return value


# Up to this many cut-offs the exponent is found by comparisons (one fused
# pass under XLA); beyond, by the log as in QKeras.
_MAX_COMPARISONS = 32


def po2_exponent(x_abs, min_exp, max_exp, max_value,
                 quadratic_approximation=False, log2_rounding="rnd"):
  """Integer exponent of ``clip_power_of_two`` (deterministic paths), int32.

  With few exponents it counts cut-offs (``po2_table``), which gives the
  eager result bit for bit in eager, graph and XLA modes; otherwise it takes
  the log like QKeras.
  """
  floor = log2_rounding == "floor"
  factor = 2 if quadratic_approximation else 1
  eps = epsilon()
  cutoffs, lo = po2_table(int(min_exp), int(max_exp),
                          bool(quadratic_approximation), floor)
  top = np.finfo(np.float32).max if max_value is None else float(max_value)
  below = sum(1 for c in cutoffs if c <= eps)
  inner = [c for c in cutoffs if eps < c <= top]
  infinite = sum(1 for c in cutoffs if c > top) if max_value is None else 0
  v = _po2_filter(x_abs, max_value)
  if len(inner) <= _MAX_COMPARISONS:
    e = ops.full_like(v, lo + below, dtype="int32")
    for c in inner:
      e = e + ops.cast(v >= c, "int32")
    if infinite:
      e = e + infinite * ops.cast(v > top, "int32")
    e = factor * e
  else:
    e = _exponent_to_int(clip_power_of_two(
        x_abs, min_exp, max_exp, max_value, quadratic_approximation, False,
        log2_rounding))
  return ops.where(x_abs < eps, int(min_exp), e)


def po2_magnitude(x_abs, min_exp, max_exp, max_value,
                  quadratic_approximation=False, log2_rounding="rnd"):
  """``2**clip_power_of_two(x_abs, ...)`` for the deterministic paths.

  NaN inputs give NaN, as the log does.
  """
  magnitude = ops.cast(pow2_exact(po2_exponent(
      x_abs, min_exp, max_exp, max_value, quadratic_approximation,
      log2_rounding)), x_abs.dtype)
  return ops.where(ops.isnan(x_abs), x_abs, magnitude)
