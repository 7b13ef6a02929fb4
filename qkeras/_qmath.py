# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Shared quantizer math: every formula the quantizers (and later the layers)
use lives here, written with ``keras.ops`` so it runs eagerly, inside
``tf.function`` and under XLA.

Conventions (same as QKeras 0.9):

* ``round`` is round-half-to-even (``tf.round``), except where a caller
  explicitly uses ``floor(v + 0.5)``.
* ``eps`` is ``keras.config.epsilon()`` (1e-7 by default), read at call time.
* Power-of-two exponents are QKeras's ``round(log(v) / log(2))`` in float32
  as TensorFlow computes it, taken from a table (``log2_code``), so that
  rounding ties fall the same way on every backend and in every mode.
* Where backends differ in gradients (clip ends, min/max ties) or values
  (PyTorch's ``sign(NaN)``), the helpers below follow TensorFlow.
* Straight-through estimators return the quantized value *exactly* in the
  forward pass (QKeras computes ``x + (xq - x)``, which equals ``xq`` except
  when ``|x|`` is so large that ``xq - x`` rounds, or ``x`` is infinite) and
  pass the incoming gradient unchanged to ``x``.
"""

import functools

import numpy as np
import keras
from keras import ops


def _memoized(fn):
  """Caches ``fn``'s results by its arguments in a plain dict (unlike
  ``functools.lru_cache``, ``torch.compile`` traces through the lookup)."""
  cache = {}

  @functools.wraps(fn)
  def wrapper(*args):
    if args not in cache:
      cache[args] = fn(*args)
    return cache[args]

  wrapper.cache_clear = cache.clear
  return wrapper


# --------------------------------------------------------------------------
# Tensors, dtypes, training flag.
# --------------------------------------------------------------------------
def _not_real(owner, x, what):
  return TypeError(
      f"{owner}: input 'x' must be a real number or an array/tensor of real "
      f"numbers (float, int or bool), got {what}: {_short_repr(x)}.")


def _short_repr(x, limit=80):
  text = repr(x)
  return text if len(text) <= limit else text[:limit] + "..."


def to_float_tensor(x, owner="quantizer"):
  """Converts ``x`` to a floating tensor.

  NumPy / Python inputs become floatx tensors (float64 arrays are cast, as
  QKeras's ``K.cast_to_floatx`` does); tensors keep a floating dtype and are
  cast to floatx otherwise. Strings, bytes, objects and complex numbers
  raise a ``TypeError`` naming ``owner`` and the input (they would otherwise
  reach the backend's cast).
  """
  if isinstance(x, (str, bytes, complex)):
    raise _not_real(owner, x, type(x).__name__)
  if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
    try:
      array = np.asarray(x)
    except ValueError as e:  # ragged nested lists
      raise _not_real(owner, x, f"a ragged sequence ({e})") from None
    if array.dtype.kind not in "biuf":
      raise _not_real(owner, x, f"dtype {array.dtype}")
    return ops.convert_to_tensor(array.astype(keras.config.floatx()))
  if not isinstance(x, keras.KerasTensor):
    x = ops.convert_to_tensor(x)
  dtype = keras.backend.standardize_dtype(x.dtype)
  if "float" not in dtype:
    if not (dtype == "bool" or "int" in dtype):
      raise _not_real(owner, x, f"dtype {dtype}")
    return ops.cast(x, keras.config.floatx())
  return x


def has_no_elements(x):
  """True when ``x``'s static shape has a zero-length axis (an empty
  tensor); unknown (None) axes do not count."""
  return any(d == 0 for d in tuple(x.shape) if d is not None)


class HostArray(np.ndarray):
  """A NumPy array with TensorFlow's ``numpy()`` method.

  What a quantizer returns on the JAX backend for a NumPy (or Python) input:
  QKeras code and hls4ml call ``q(array).numpy()``, which TensorFlow and
  PyTorch tensors support and JAX arrays do not.
  """

  def numpy(self):
    return np.asarray(self)


def returns_host(x, y):
  """True when a quantizer's output ``y`` for input ``x`` should be a
  ``HostArray``: on JAX, for a NumPy or Python input (or a TensorFlow eager
  tensor, which hls4ml passes), outside any trace."""
  if keras.backend.backend() != "jax":
    return False
  if not isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)) and (
      not type(x).__module__.startswith("tensorflow")):
    return False
  import jax  # pylint: disable=g-import-not-at-top
  return not isinstance(y, jax.core.Tracer)


def host_array(value):
  """``value`` (a concrete tensor) as a ``HostArray``."""
  return np.asarray(value).view(HostArray)


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
  return ops.cast(pow2_exact(ops.convert_to_tensor(v)), keras.config.floatx())


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
    if keras.backend.backend() == "jax":
      # lax.cond traces each branch in its own scope, from which a seed
      # generator's update could not escape: compute both and select.
      return ops.where(ops.cast(training, "bool"), true_fn(), false_fn())
    return ops.cond(ops.cast(training, "bool"), true_fn, false_fn)
  return true_fn() if flag else false_fn()


def divide(a, b):
  """``a / b`` as an IEEE division on every backend and in every mode.

  XLA (JAX always, TensorFlow with ``jit_compile``) and TensorFlow's graph
  optimizer turn a division by a constant or by a broadcast tensor (a
  per-channel scale) into a multiplication by its reciprocal, which is an
  ulp off for about a quarter of the inputs and then flips rounding ties;
  QKeras divided eagerly. Adding ``0 * sign(a)`` makes the divisor a tensor
  computed from ``a``, which they divide as written; the value is unchanged
  (``sign(a)`` is finite, and NaN only where ``a / b`` is NaN anyway).
  PyTorch divides as written, except that on CUDA it multiplies by the
  reciprocal of a divisor that is a Python number (a "CPU scalar"): such a
  divisor is made a tensor on ``a``'s device first.
  """
  if keras.backend.backend() == "torch":
    if is_python_number(b) and getattr(a, "is_cuda", False):
      import torch  # pylint: disable=g-import-not-at-top
      b = torch.full((), b, dtype=a.dtype, device=a.device)
    return a / b
  return a / (b + 0.0 * ops.sign(a))


# --------------------------------------------------------------------------
# Elementwise ops with TensorFlow's (QKeras's) gradients on every backend.
# --------------------------------------------------------------------------
# QKeras's straight-through and clipped gradients are TensorFlow's: clip passes
# the gradient on [lo, hi] including both ends, minimum/maximum give it all to
# their first argument on a tie, leaky_relu has slope ``alpha`` at 0. JAX
# splits the gradient 50/50 at clip ends and ties (and gives leaky_relu slope
# 1 at 0), PyTorch splits it at minimum/maximum ties. Where a backend differs,
# these take the portable form (selects, whose gradient follows the chosen
# branch); elsewhere the native op, which has the same values and gradients.
def _torch():
  import torch  # pylint: disable=g-import-not-at-top
  return torch


def _native(*backends):
  return keras.backend.backend() in backends


def _no_gradient(*values):
  """PyTorch only: no value records a gradient (so ties cannot matter)."""
  return _native("torch") and not any(
      getattr(v, "requires_grad", False) for v in values)


def _value(x):
  """A Keras variable's tensor (the select ops below take tensors)."""
  return x.value if isinstance(x, keras.Variable) else x


def clip(x, lo, hi):
  """``clip(x, lo, hi)``; gradient 1 on ``[lo, hi]`` (both ends), NaN kept."""
  if _native("torch") and is_python_number(lo) and is_python_number(hi) and (
      not isinstance(x, keras.Variable)):
    return _torch().clamp(ops.convert_to_tensor(x), lo, hi)  # ops.clip's op
  if _native("tensorflow", "torch"):
    return ops.clip(x, lo, hi)
  x, lo, hi = _value(x), _value(lo), _value(hi)
  return ops.where(x < lo, lo, ops.where(x > hi, hi, x))


def clip_window(x, lo, hi, low_margin=None):
  """``clip(x, lo, hi)`` where its gradient matters (activations).

  Value and gradient (``upstream`` on ``[lo, hi]``, both ends included) are
  ``clip``'s. On TensorFlow with float32 ``x`` and Python-number bounds the
  backward pass is two ``ReluGrad`` kernels, ``[x + a > 0]`` and ``[b - x >
  0]`` with ``a = -nextafter(lo, -inf)`` and ``b = nextafter(hi, inf)``,
  instead of comparisons and selects (whose boolean tensors cost several
  times a multiply in a TensorFlow graph); outside the window the gradient
  is then ``upstream * 0`` (see ``ste_window``). For ``lo = 0`` (whose
  neighbour is subnormal) the caller passes ``low_margin``: a positive
  ``a`` smaller than every negative value ``x`` can take (e.g. ``2**-25``
  for ``0.5 * v + 0.5`` with float32 ``v``).
  """
  if keras.backend.backend() == "tensorflow":
    shifts = _tf_clip_shifts(x, lo, hi, low_margin)
    if shifts is not None:
      return _tf_functions()["clip"](x, float(lo), float(hi), *shifts)
  return clip(x, lo, hi)


def _normal_bound(v):
  return v == 0.0 or 2.0**-100 <= abs(v) <= 2.0**100


def _tf_clip_shifts(x, lo, hi, low_margin):
  """``(a, b)`` of ``clip_window``'s TensorFlow path, or None."""
  if not (is_python_number(lo) and is_python_number(hi)):
    return None
  if keras.backend.standardize_dtype(x.dtype) != "float32":
    return None
  lo, hi = float(lo), float(hi)
  if not (_normal_bound(lo) and _normal_bound(hi) and lo <= hi):
    return None
  if lo == 0.0:
    if low_margin is None:
      return None
    a = float(low_margin)
  else:
    a = -float(np.nextafter(np.float32(lo), np.float32(-np.inf)))
  if hi == 0.0:
    return None
  b = float(np.nextafter(np.float32(hi), np.float32(np.inf)))
  return a, b


def minimum(x, y):
  """``minimum(x, y)``; on a tie the gradient goes to ``x``; NaN ``x`` kept."""
  if _native("tensorflow") or _no_gradient(x, y):
    return ops.minimum(x, y)
  x, y = _value(x), _value(y)
  return ops.where(x > y, y, x)


def maximum(x, y):
  """``maximum(x, y)``; on a tie the gradient goes to ``x``; NaN ``x`` kept."""
  if _native("tensorflow") or _no_gradient(x, y):
    return ops.maximum(x, y)
  x, y = _value(x), _value(y)
  return ops.where(x < y, y, x)


def leaky_relu(x, alpha):
  """``x`` for ``x > 0``, else ``alpha * x``; gradient ``alpha`` at 0."""
  if _native("tensorflow", "torch"):
    return ops.leaky_relu(x, alpha)
  x = _value(x)
  return ops.where(x > 0.0, x, alpha * x)


def sign(x):
  """``sign(x)`` (0 -> 0) with NaN kept as NaN on every backend.

  PyTorch's ``sign`` maps NaN to 0 (TensorFlow and JAX keep it): the NaN is
  put back there only.
  """
  s = ops.sign(x)
  if keras.backend.backend() == "torch":
    s = ops.where(ops.isnan(x), x, s)
  return s


def is_eager(x):
  """True when ``x`` is a concrete tensor whose values can be read now: not
  inside a ``tf.function``, a JAX trace or ``torch.compile``."""
  backend = keras.backend.backend()
  if backend == "torch":
    import torch  # pylint: disable=g-import-not-at-top
    return not torch.compiler.is_compiling()
  if backend == "tensorflow":
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.executing_eagerly()
  if backend == "jax":
    import jax  # pylint: disable=g-import-not-at-top
    return not isinstance(x, jax.core.Tracer)
  return False


def converged(old, new):
  """True when an iteration ``old -> new`` has reached its fixed point.

  Only when running eagerly (compiled functions keep the loop unrolled, at no
  cost to the values): a loop that stops there gives, bit for bit, what the
  remaining iterations would give. NaN never equals itself, so a NaN scale
  runs the full loop.
  """
  return is_eager(new) and bool(ops.all(ops.equal(old, new)))


def _torch_compiling():
  if keras.backend.backend() != "torch":
    return False
  import torch  # pylint: disable=g-import-not-at-top
  return torch.compiler.is_compiling()


def iterate_scale(step, scale, rounds, stop_early=True):
  """``rounds`` rounds of ``aux, scale = step(scale)``; the last ``(aux,
  scale)``.

  What QKeras's unrolled scale refinements compute (``aux`` is what the
  last round made, e.g. the codes of the scale it started from). Once a
  round returns the scale it was given, that scale is a fixed point and the
  remaining rounds would return the same ``(aux, scale)`` bit for bit, so
  they are skipped (``stop_early``; not for rounds that draw random
  numbers):

  * eagerly, as soon as that happens (``converged``);
  * in a compiled function (``tf.function``, XLA, ``jax.jit``), the first
    round is computed, and the other ``rounds - 1`` run under a ``cond``
    only when it did not return its input. Ordinary weights start at their
    fixed point almost always, so a step costs one round instead of five;
  * under ``torch.compile`` (which does not branch on data) all rounds run.
  """
  if not stop_early or _torch_compiling():
    return _unrolled(step, scale, rounds)
  previous = scale
  aux, scale = step(scale)
  if rounds == 1:
    return aux, scale
  if is_eager(scale):
    for _ in range(rounds - 1):
      if converged(previous, scale):
        break
      previous = scale
      aux, scale = step(scale)
    return aux, scale
  first = (aux, scale)
  return ops.cond(ops.all(ops.equal(previous, scale)), lambda: first,
                  lambda: _unrolled(step, scale, rounds - 1))


def _unrolled(step, scale, rounds):
  aux = None
  for _ in range(rounds):
    aux, scale = step(scale)
  return aux, scale


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


def ste_portable(x, xq):
  """``ste`` in ``keras.ops`` (what TensorFlow and JAX run)."""
  return _ste(x, ops.stop_gradient(ops.cast(xq, x.dtype)) + 0.0)


def ste(x, xq):
  """Forward value ``xq``; gradient w.r.t. ``x`` is the identity.

  Equivalent to QKeras's ``x + stop_gradient(xq - x)`` but exact for every
  input (no cancellation for huge ``|x|``, no NaN for infinite ``x``). Adding
  0.0 turns a -0.0 result into +0.0, as QKeras's sum does. On PyTorch a
  plain ``torch.autograd.Function`` does the same (``ste_portable`` is
  bit-identical, tested): Keras's generic custom gradient costs several
  times more per call in eager mode and returns its input, which
  ``torch.compile`` rejects.
  """
  if keras.backend.backend() == "torch":
    x, xq = _same_device(x, xq)
    return _torch_functions()["ste"].apply(x, ops.cast(xq, x.dtype))
  return ste_portable(x, xq)


def ste_window_portable(x, xq, low, high):
  """``ste_window`` in ``keras.ops`` (what JAX runs, and TensorFlow for
  windows ``_tf_window_bound`` does not take)."""

  @ops.custom_gradient
  def window(x, xq):
    def grad(*args, upstream=None):
      if upstream is None:
        (upstream,) = args
      inside = ops.logical_and(x > low, x <= high)
      return upstream * ops.cast(inside, upstream.dtype), _zero_grad(upstream)

    return xq, grad

  return window(x, ops.stop_gradient(ops.cast(xq, x.dtype)) + 0.0)


def ste_window(x, xq, low, high):
  """Forward ``xq``; gradient ``upstream * [low < x <= high]``.

  The straight-through estimator of ``min(relu(x), high)`` (``low = 0``)
  without computing that reference in the forward pass. Outside the window
  the gradient is ``upstream * 0``, as Keras's ``relu`` gives it (-0.0 for a
  negative upstream gradient, NaN for a non-finite one; XLA compiles
  TensorFlow's kernel below into a select, which gives 0 there).

  Backend paths, bit-identical to ``ste_window_portable`` (tested):
  * TensorFlow, ``low = 0`` and a float32 ``x``: two ``ReluGrad`` kernels,
    ``[x > 0]`` and ``[above - x > 0]`` with ``above`` the float32 after
    ``high`` (``x <= high`` exactly). Comparisons that make boolean tensors
    cost several times a multiply in a TensorFlow graph; this backward pass
    costs about a fifth of theirs.
  * PyTorch: a plain ``torch.autograd.Function`` (see ``ste``).
  """
  if keras.backend.backend() == "torch":
    x, xq = _same_device(x, xq)
    return _torch_functions()["window"].apply(
        x, ops.cast(xq, x.dtype), _value(low), _value(high))
  if keras.backend.backend() == "tensorflow":
    above = _tf_window_bound(x, low, high)
    if above is not None:
      return _tf_functions()["window"](x, ops.cast(xq, x.dtype), above)
  return ste_window_portable(x, xq, low, high)


def _tf_window_bound(x, low, high):
  """The ``above`` of ``ste_window``'s TensorFlow path (``inf`` for an
  infinite ``high``), or None where that path does not apply.

  ``above - x > 0`` is ``x <= high`` for every float32 ``x`` (also
  infinite or NaN) when the difference of two floats that close cannot be
  flushed to zero: ``high`` at least ``2**-100``.
  """
  if not (is_python_number(low) and float(low) == 0.0 and
          is_python_number(high)):
    return None
  if keras.backend.standardize_dtype(x.dtype) != "float32":
    return None
  high = float(high)
  if high == float("inf"):
    return high
  if not 2.0**-100 <= high < FLOAT32_MAX:
    return None
  return float(np.nextafter(np.float32(high), np.float32(np.inf)))


@_memoized
def _tf_functions():
  """TensorFlow's straight-through window (made on first use)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  def masked(upstream, x, a, b):
    """``upstream * [x + a > 0] * [b - x > 0]`` as ``ReluGrad`` kernels
    (``a = 0``: ``[x > 0]``; ``b = inf``: no upper bound)."""
    g = tf.raw_ops.ReluGrad(gradients=upstream,
                            features=x if a == 0.0 else x + a)
    if b != float("inf"):
      g = tf.raw_ops.ReluGrad(gradients=g, features=b - x)
    return g

  def window(x, xq, above):
    @tf.custom_gradient
    def fn(x, xq):
      return tf.stop_gradient(xq) + 0.0, lambda up: (
          masked(up, x, 0.0, above), None)

    return fn(x, xq)

  def clip_fn(x, lo, hi, a, b):
    @tf.custom_gradient
    def fn(x):
      return tf.clip_by_value(x, lo, hi), lambda up: masked(up, x, a, b)

    return fn(x)

  return {"window": window, "clip": clip_fn}


def _same_device(x, xq):
  """PyTorch: ``x`` (and its gradient) on ``xq``'s device.

  Keras ops move inputs to the default device (the GPU, where there is one),
  so a CPU tensor given to a quantizer yields a CUDA ``xq``; the autograd
  functions below must return the gradient on the device of their input.
  """
  device = getattr(xq, "device", None)
  if device is not None and getattr(x, "device", device) != device:
    x = x.to(device)  # differentiable: the gradient flows back to the CPU
  return x, xq


@_memoized
def _torch_functions():
  """The PyTorch straight-through functions (made on first use)."""
  import torch  # pylint: disable=g-import-not-at-top

  class StraightThrough(torch.autograd.Function):
    """Value ``xq + 0.0``; the gradient passes to ``x`` unchanged."""

    @staticmethod
    def forward(ctx, x, xq):  # pylint: disable=arguments-differ
      del ctx, x
      return xq + 0.0

    @staticmethod
    def backward(ctx, upstream):  # pylint: disable=arguments-differ
      return upstream, None

  class Window(torch.autograd.Function):
    """Value ``xq + 0.0``; gradient ``upstream * [low < x <= high]``."""

    @staticmethod
    def forward(ctx, x, xq, low, high):  # pylint: disable=arguments-differ
      ctx.save_for_backward(x)
      ctx.bounds = (low, high)
      return xq + 0.0

    @staticmethod
    def backward(ctx, upstream):  # pylint: disable=arguments-differ
      (x,) = ctx.saved_tensors
      low, high = ctx.bounds
      inside = torch.logical_and(x > low, x <= high)
      return upstream * inside, None, None, None

  return {"ste": StraightThrough, "window": Window}


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
      return ops.stop_gradient(xq) + 0.0 * sign(x)
    if use_ste:
      return x + ops.stop_gradient(q * (xq - x))
    return (1.0 - q) * x + ops.stop_gradient(q * xq)
  # qnoise_factor is a variable / tensor (use_variables=True).
  q = ops.cast(q, x.dtype)
  if use_ste:
    blended = x + ops.stop_gradient(q * (xq - x))
    return ops.where(q == 1.0, ste(x, xq), blended)
  blended = (1.0 - q) * x + ops.stop_gradient(q * xq)
  return ops.where(q == 1.0, ops.stop_gradient(xq) + 0.0 * sign(x),
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

  ``e0 = round(log2(|x| + eps))`` (``log2_code``); the bracket ``[l, r]`` is
  ``[e0-1, e0]`` when ``2**e0 > |x|`` else ``[e0, e0+1]``; draw
  ``v ~ U[2**l, 2**r)`` and return ``l`` if ``|x| < v`` else ``r`` (float).
  """
  y = ops.abs(x)
  e0 = clip(log2_code(y + epsilon()), -1000, 1000)
  above = pow2_exact(e0) > y
  left = ops.where(above, e0 - 1, e0)
  right = ops.where(above, e0, e0 + 1)
  lo = ops.cast(pow2_exact(left), y.dtype)
  hi = ops.cast(pow2_exact(right), y.dtype)
  u = keras.random.uniform(ops.shape(y), dtype=y.dtype, seed=seed)
  val = lo + u * (hi - lo)
  return ops.cast(ops.where(y < val, left, right), y.dtype)


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
  return ste(x, sign(x))


def floor_through(x):
  """``floor(x)`` with a straight-through gradient."""
  return ste(x, ops.floor(x))


def ceil_through(x):
  """``ceil(x)`` with a straight-through gradient."""
  return ste(x, ops.ceil(x))


def sign_nonzero(x):
  """``sign(x)`` with 0 mapped to +1 (computed as ``s + (1 - |s|)``)."""
  s = sign(x)
  return s + (1.0 - ops.abs(s))


# --------------------------------------------------------------------------
# Power-of-two scales.
# --------------------------------------------------------------------------
def round_to_po2(scale):
  """``2 ** round(log2(scale + eps))``, exactly as QKeras computes it.

  The exponent is ``log2_code`` (TensorFlow's float32 rounding, on every
  backend) and the power is built from bits; ``scale + eps`` of 0 gives 0 and
  a negative or NaN one NaN, as the log does. Since that rounding is exact
  at powers of two (the code of ``2**e`` is ``e``), the power is the float
  whose exponent field is ``v``'s, plus one where ``v`` is at or above its
  binade's cut-off: one table lookup per value.
  """
  v = scale + epsilon()
  bits = ops.view(ops.cast(v, "float32"), "int32")
  # The biased exponent, also of a negative v (whose result is NaN anyway).
  binade = ops.bitwise_and(ops.right_shift(bits, 23), 255)
  (cut,) = _table_tensors("rnd", False, bits)[1:]
  up = ops.cast(bits >= lookup(cut, binade), "int32")
  magnitude = ops.view(ops.left_shift(binade + up, 23), "float32")
  if keras.backend.standardize_dtype(v.dtype) != "float32":
    magnitude = ops.cast(magnitude, v.dtype)
  # Zero and subnormals give 0 already; negative values and NaN give NaN.
  return ops.where(v >= 0.0, magnitude, float("nan"))


def clip_po2_scale(scale, min_po2_exponent=None, max_po2_exponent=None):
  """Clips a power-of-two scale to ``[2**min_po2_exponent, 2**max_po2_exponent]``."""
  if min_po2_exponent is not None:
    scale = maximum(scale, 2.0 ** min_po2_exponent)
  if max_po2_exponent is not None:
    scale = minimum(scale, 2.0 ** max_po2_exponent)
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
  """``clip(0.5 * x + 0.5, 0, 1)`` (QKeras slope 0.5).

  ``u = 0.5 * x + 0.5`` is never in ``(-2**-24, 0)`` for float32 ``x``
  (below -1, ``x`` steps by ``2**-23``), hence the margin ``2**-25`` of
  ``clip_window``.
  """
  return clip_window(0.5 * x + 0.5, 0.0, 1.0, low_margin=2.0**-25)


def smooth_sigmoid(x):
  """``clip(0.1875 * x + 0.5, 0, 1)``."""
  return clip(0.1875 * x + 0.5, 0.0, 1.0)


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
  """Exponent of the power of two closest to ``x_abs`` (>= 0), clipped (float).

  Values below eps get ``min_exp``; values at or above ``max_value`` are
  clipped to it first. The exponent is ``round(log2(v))`` (half to even, on
  the log; ``log2_code``), ``floor`` for ``log2_rounding="floor"``, or a
  stochastic po2 rounding in training; it is clipped to ``[min_exp,
  max_exp]``. With the quadratic approximation the exponent of ``sqrt(v)`` is
  used and doubled. No gradient (the quantizers pass it straight through).
  """
  x_filter = _po2_filter(x_abs, max_value)
  q_factor = 2.0 if quadratic_approximation else 1.0
  mode = "floor" if log2_rounding == "floor" else "rnd"

  def deterministic():
    code = log2_code(x_filter, mode, quadratic_approximation)
    return ops.cast(clip(code, -1000, 1000), x_abs.dtype)

  if use_stochastic_rounding and mode == "rnd":
    x_input = ops.sqrt(x_filter) if quadratic_approximation else x_filter
    x_log2 = select_training(training,
                             lambda: stochastic_round_po2(x_input, seed),
                             deterministic)
  else:
    x_log2 = deterministic()
  x_clipped = q_factor * clip(x_log2, float(min_exp), float(max_exp))
  return ops.where(x_abs < epsilon(), float(min_exp), x_clipped)


def _po2_filter(x_abs, max_value):
  """``x_abs`` floored at eps and, with a ``max_value``, clipped to it."""
  x_filter = ops.where(x_abs < epsilon(), epsilon(), x_abs)
  if max_value is not None:
    x_filter = ops.where(x_filter >= max_value, max_value, x_filter)
  return x_filter


# --------------------------------------------------------------------------
# Exact log2 codes: TensorFlow's float32 rounding of log(v)/log(2), from bits.
# --------------------------------------------------------------------------
_INT32_MIN = -2**31
_INT32_MAX = 2**31 - 1
_NO_CUTOFF = 0x7FFFFFFF  # above every bit pattern of a finite float32


@_memoized
def _binade_tables(mode, quadratic):
  """Per-binade lookup tables of ``log2_code``: ``(base, cuts)``.

  For the biased exponent ``i`` of ``v`` (its bits ``>> 23``): ``base[i]`` is
  the code of ``2**(i - 127)``, and each array in ``cuts`` holds, per binade,
  the bit pattern of a cut-off strictly inside it (or a value above every
  finite float). A binade holds at most two cut-offs: consecutive ones are a
  factor of about 2 apart (floor/ceil codes have theirs near the binade
  edges, on either side). Zero and subnormals (TensorFlow flushes them:
  ``log`` gives -inf) get INT32_MIN, +inf and NaN INT32_MAX.
  """
  from qkeras import _po2_table  # pylint: disable=g-import-not-at-top
  k_low, cutoffs = _po2_table.CUTOFFS[(mode, bool(quadratic))]
  cutoffs = np.asarray(cutoffs, np.int64)
  starts = np.arange(256, dtype=np.int64) << 23
  base = k_low + np.searchsorted(cutoffs, starts, side="right")
  base[0], base[255] = _INT32_MIN, _INT32_MAX
  inner = cutoffs[(cutoffs & 0x7FFFFF) != 0]
  cuts = []
  while inner.size:
    binades, first = np.unique(inner >> 23, return_index=True)
    cut = np.full(256, _NO_CUTOFF, np.int64)
    cut[binades] = inner[first]
    cuts.append(cut.astype(np.int32))
    inner = np.delete(inner, first)
  if len(cuts) > 2:
    raise AssertionError(f"more than two log2 cut-offs in a binade ({mode})")
  if (mode, quadratic) == ("rnd", False) and (
      len(cuts) != 1 or np.any(base[1:255] != np.arange(1, 255) - 127)):
    raise AssertionError("round_to_po2 needs the code of 2**e to be e")
  return base.astype(np.int32), tuple(cuts)


def log2_code(v, mode="rnd", quadratic=False):
  """``mode(log(v) / log(2))`` as TensorFlow computes it in float32, int32.

  ``mode`` is "rnd" (half to even), "floor" or "ceil"; with ``quadratic``
  the code of ``sqrt(v)``. This is the exponent QKeras's power-of-two
  quantizers and scales compute, reproduced exactly on every backend and in
  every compilation mode without evaluating a logarithm: the code is a step
  function of ``v`` whose steps (``qkeras/_po2_table.py``, taken from
  TensorFlow's vectorized kernels and checked on every float32) are looked up
  from ``v``'s bit pattern. Zero, subnormals (TensorFlow flushes them) and
  negative values give INT32_MIN, +inf gives INT32_MAX; NaN is undefined
  (callers keep NaN).
  """
  bits = ops.view(ops.cast(v, "float32"), "int32")
  base, *cuts = _table_tensors(mode, bool(quadratic), bits)
  binade = clip(ops.right_shift(bits, 23), 0, 255)
  code = lookup(base, binade)
  for cut in cuts:
    code = code + ops.cast(bits >= lookup(cut, binade), "int32")
  return code


def lookup(table, index):
  """``table[index]`` for a 1-D table and int32 indices within it.

  ``ops.take`` also wraps negative indices (four more ops per lookup in a
  TensorFlow graph, three more PyTorch calls); these indices never are.
  """
  backend = keras.backend.backend()
  if backend == "tensorflow":
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.gather(table, index)
  if backend == "torch":
    return table[index]
  return ops.take(table, index)


def _table_tensors(mode, quadratic, like):
  """``_binade_tables`` as tensors for an input like ``like``.

  TensorFlow and JAX get the NumPy arrays, which they make constants of
  where they are used (a cached tensor could belong to another graph or
  trace). PyTorch gets tensors cached on the CPU (converting them at every
  call costs more than the lookup), moved to ``like``'s device: not made by
  ``keras.ops``, whose device scope is Keras's scratch device while a model
  is being built.
  """
  if keras.backend.backend() == "torch":
    return tuple(t.to(like.device)
                 for t in _torch_table_tensors(mode, quadratic))
  base, cuts = _binade_tables(mode, quadratic)
  return (base,) + cuts


@_memoized
def _torch_table_tensors(mode, quadratic):
  base, cuts = _binade_tables(mode, quadratic)
  torch = _torch()
  return tuple(torch.tensor(t, dtype=torch.int32, device="cpu")
               for t in (base,) + cuts)


def pow2_exact(e):
  """``2**e`` for an exponent tensor ``e`` (int or integral float), float32.

  Built from float32 bit patterns, so exact for every exponent on every
  backend: normal powers, 0 below ``2**-126`` (TensorFlow, and so QKeras,
  flushes subnormal results to zero; PyTorch would keep them) and +inf above
  ``2**127``; a NaN exponent gives NaN, as ``2.0**nan`` does (``ops.power``
  costs a log and an exp per element and is not exact on every backend).
  """
  dtype = keras.backend.standardize_dtype(e.dtype)
  is_float = "float" in dtype
  # (Clipped first so that no exponent overflows the cast to int32.)
  clipped = e if dtype == "int32" else ops.cast(clip(e, -1000, 1000), "int32")
  value = ops.view(ops.left_shift(clip(clipped, -127, 128) + 127, 23),
                   "float32")  # 2**-127 -> bits 0 (+0.0), 2**128 -> +inf
  if is_float:
    value = ops.where(ops.isnan(e), float("nan"), value)
  return value


def po2_exponent(x_abs, min_exp, max_exp, max_value,
                 quadratic_approximation=False, log2_rounding="rnd"):
  """Integer exponent of ``clip_power_of_two`` (deterministic paths), int32.

  ``factor * clip(code(v), min_exp, max_exp)`` for ``v = |x|`` floored at
  eps and clipped at ``max_value`` (``factor`` 2 with the quadratic
  approximation), ``min_exp`` below eps; the code is ``log2_code``, so the
  result is QKeras's, bit for bit, on every backend.
  """
  mode = "floor" if log2_rounding == "floor" else "rnd"
  factor = 2 if quadratic_approximation else 1
  # Beyond +-1000 every power of two is 0 or inf in float32.
  lo, hi = max(int(min_exp), -1000), min(int(max_exp), 1000)
  if _takes_rnd_path(min_exp, max_exp, quadratic_approximation,
                     log2_rounding):
    return _rnd_po2_exponent(x_abs, lo, hi, max_value)
  code = log2_code(_po2_filter(x_abs, max_value), mode,
                   quadratic_approximation)
  e = factor * clip(code, lo, hi)
  return ops.where(x_abs < epsilon(), lo, e)


def _takes_rnd_path(min_exp, max_exp, quadratic_approximation,
                    log2_rounding):
  """Whether ``_rnd_po2_exponent`` computes the exponent."""
  return (log2_rounding != "floor" and not quadratic_approximation and
          -127 <= int(min_exp) <= int(max_exp) <= 127)


def _rnd_po2_exponent(x_abs, lo, hi, max_value, biased=False):
  """``po2_exponent`` for ``log2_rounding="rnd"`` without the quadratic
  approximation and ``-127 <= lo <= hi <= 127``, in fewer passes.

  The "rnd" code of ``v`` is its binade's exponent, plus one at or above
  the binade's cut-off (``_binade_tables`` checks that), so only the
  cut-off is looked up. The floor at eps is a ``maximum`` (NaN kept), and
  the final ``where`` for inputs below eps is left out when ``lo`` is at
  least the code of eps (those inputs are clipped to ``lo`` anyway).
  Binades 0 (zero, subnormals) and 255 (inf, NaN), whose table codes are
  the int32 extremes, give -127 and 128 here: the same after the clip.
  ``biased``: the exponent plus 127 (float32's exponent field).
  """
  eps = epsilon()
  v = maximum(x_abs, eps)
  if max_value is not None:
    v = ops.where(v >= max_value, max_value, v)
  bits = ops.view(ops.cast(v, "float32"), "int32")
  binade = ops.bitwise_and(ops.right_shift(bits, 23), 255)
  (cut,) = _table_tensors("rnd", False, bits)[1:]
  code = binade + ops.cast(bits >= lookup(cut, binade), "int32")
  e = clip(code, lo + 127, hi + 127)
  if lo < _rnd_code(eps):
    e = ops.where(x_abs < eps, lo + 127, e)
  return e if biased else e - 127


@_memoized
def _rnd_code(value):
  """``log2_code(value)`` ("rnd") of a Python float, in NumPy."""
  base, (cut,) = _binade_tables("rnd", False)
  bits = int(np.float32(value).view(np.int32))
  binade = (bits >> 23) & 255
  return int(base[binade]) + int(bits >= int(cut[binade]))


# The largest power of two in float32 is 2**127.
PO2_MAX_EXPONENT = 127


def po2_magnitude(x_abs, min_exp, max_exp, max_value,
                  quadratic_approximation=False, log2_rounding="rnd"):
  """``2**clip_power_of_two(x_abs, ...)`` for the deterministic paths.

  NaN inputs give NaN, as the log does. The exponent is capped at 127
  (``PO2_MAX_EXPONENT``): with the quadratic approximation the doubled
  exponent of a huge input could reach 128, i.e. inf (QKeras's value) for a
  finite input.
  """
  if _takes_rnd_path(min_exp, max_exp, quadratic_approximation,
                     log2_rounding):
    biased = _rnd_po2_exponent(x_abs, int(min_exp), int(max_exp), max_value,
                               biased=True)
    magnitude = ops.cast(ops.view(ops.left_shift(biased, 23), "float32"),
                         x_abs.dtype)
    return ops.where(ops.isnan(x_abs), x_abs, magnitude)
  e = po2_exponent(x_abs, min_exp, max_exp, max_value,
                   quadratic_approximation, log2_rounding)
  factor = 2 if quadratic_approximation else 1
  if -127 <= factor * int(min_exp) and factor * int(max_exp) <= 127:
    # e is within float32's exponents already: the power from its bits.
    magnitude = ops.view(ops.left_shift(e + 127, 23), "float32")
  else:
    magnitude = pow2_exact(ops.minimum(e, PO2_MAX_EXPONENT))
  magnitude = ops.cast(magnitude, x_abs.dtype)
  return ops.where(ops.isnan(x_abs), x_abs, magnitude)


# --------------------------------------------------------------------------
# Huge inputs of the data-scaled quantizers.
# --------------------------------------------------------------------------
FLOAT32_MAX = float(np.finfo(np.float32).max)


def sum_headroom(code_max, count):
  """Bits of headroom a least-squares sum ``sum(x * code)`` needs: the
  codes' magnitude (``<= code_max``) times ``count`` terms, plus one."""
  code_bits = int(np.ceil(np.log2(float(code_max) + 1.0)))
  count_bits = int(np.ceil(np.log2(float(max(count, 1)))))
  return code_bits + count_bits + 1


def element_count(x):
  """The static number of elements of ``x`` (2**31 per unknown axis)."""
  return int(np.prod([2**31 if d is None else d for d in tuple(x.shape)],
                     dtype=np.float64))


def overflow_shift(x_abs_max, headroom, offset=0):
  """Exponent ``k >= 0`` with ``x_abs_max * 2**(-k - offset)`` below
  ``2**(127 - headroom)``, as an int32 tensor.

  Data-scaled quantizers compute their scales from ``x * 2**-k`` and scale
  the result back by ``2**k``: powers of two are exact, so the outputs are
  the same as without the shift, except that sums and products that would
  overflow float32 stay finite (and values below ``2**(k - 126)`` flush to
  zero). ``k`` is 0 for every ``x_abs_max`` below that bound (ordinary
  inputs: bit-identical results) and where ``x_abs_max`` is not finite
  (inf and NaN keep their old results). ``offset`` (an int or int tensor)
  is the exponent of a divisor applied to ``x`` afterwards (``2**integer``).
  """
  m = ops.cast(x_abs_max, "float32")
  exponent = ops.right_shift(ops.view(m, "int32"), 23) - 127
  if not is_python_number(offset):
    offset = ops.cast(offset, "int32")
  k = ops.maximum(exponent - offset - (126 - int(headroom)), 0)
  return ops.where(ops.isfinite(m), k, 0)


def saturate(xq):
  """``xq`` with ``±inf`` replaced by ``±FLOAT32_MAX`` (NaN kept):
  ``saturate_overflow`` for a quantizer whose ``xq`` is never infinite
  where ``x`` is (two passes instead of six)."""
  return clip(xq, -FLOAT32_MAX, FLOAT32_MAX)


def saturate_overflow(x, xq):
  """``xq`` with ``±inf`` replaced by ``±FLOAT32_MAX`` where ``x`` is
  finite: a finite input whose quantized value lies beyond float32
  saturates at the largest float32 instead of becoming infinite."""
  overflow = ops.logical_and(ops.isinf(xq), ops.isfinite(x))
  return ops.where(overflow, ops.sign(xq) * FLOAT32_MAX, xq)
