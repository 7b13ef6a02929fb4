"""Property-based tests of every registered quantizer and of the parser.

Hypothesis generates constructor arguments (valid and invalid) for each
class in ``registered_quantizers()`` and float32 inputs with ±0,
subnormals, huge values, NaN and ±inf, and checks the invariants below;
the parser gets generated and hostile quantizer strings. Every test is
deterministic (``derandomize=True``) and bounded (``max_examples``); the
number of examples each property checked is printed at the end of the
module (run with ``-s``) and kept in ``CHECKED``.

Invariants (for valid arguments, inference mode):
* finite inputs give finite outputs;
* outputs lie in ``[min(), max()]`` where those bound the values
  (``alpha`` None for the fixed-point classes: ``max()`` is QKeras's bound
  ``max(1, 2**integer)``, not the largest code, google/qkeras#71);
* outputs lie on the quantizer's grid (multiples of the step, powers of
  two, {-1, 0, 1}) where it has one and ``qnoise_factor`` is 1;
* ``q(q(x)) == q(x)`` for the fixed-scale quantizers whose values are their
  own codes; ``x <= y`` gives ``q(x) <= q(y)`` where the quantizer is a
  non-decreasing function;
* ``from_config(get_config())`` and ``get_quantizer(str(q))`` give the
  same outputs (``str()`` leaves some arguments out: then its text must be
  a fixed point and the outputs are compared when the configs agree);
* the same outputs eagerly and compiled (``tf.function`` with and without
  XLA / ``jax.jit``; PyTorch runs eagerly, so it is skipped there);
* ``±inf`` give the values of ``±`` the largest float32 and NaN stays NaN
  (fixed scales; docs/compat.md);
* in training (stochastic rounding, sampling), finite in -> finite out and
  a finite gradient.
Invalid arguments raise ValueError/TypeError naming the argument. The parser
gets generated token strings, generated ``name(args, key=value)`` calls and
hostile strings (deep nesting, huge numbers, megabyte strings): each builds a
quantizer or raises ValueError within 10 s; ``str(q)`` of generated valid
quantizers parses back to the same text.

Rerun with the counts: ``python -m pytest -q -s tests/test_properties.py``
(also with ``KERAS_BACKEND=jax`` / ``torch``).
"""

import collections
import contextlib
import json
import os
import signal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import keras
import numpy as np
import pytest

from multibackend import TORCH, compiled, compiled_modes, gradient, np_out
from qkeras import quantizers as Q
from qkeras.quantizer_registry import registered_quantizers

# What each property checked: property -> number of generated examples.
CHECKED = collections.Counter()
# QKERAS_PROPERTY_SCALE=N runs N times as many examples (a deeper local run;
# CI uses 1, the counts printed by test_zz_report_counts).
_SCALE = max(1, int(os.environ.get("QKERAS_PROPERTY_SCALE", "1")))


def _n(count):
  return count * _SCALE


_SETTINGS = dict(derandomize=True, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck))
F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = float(np.finfo(np.float32).tiny)  # smallest normal

# ---------------------------------------------------------------------------
# Inputs.
# ---------------------------------------------------------------------------
_SPECIAL = [0.0, -0.0, 1e-45, -1e-45, 1e-40, -1e-40, F32_TINY, -F32_TINY,
            0.5, -0.5, 1.0, -1.0, 1e30, -1e30, 1e38, -1e38, F32_MAX, -F32_MAX]
_NON_FINITE = [float("nan"), float("inf"), float("-inf")]


def _floats(finite=True):
  values = [st.floats(-8.0, 8.0, width=32),
            st.sampled_from(_SPECIAL),
            st.floats(width=32, allow_nan=False, allow_infinity=False)]
  if not finite:
    values.append(st.sampled_from(_NON_FINITE))
  return st.one_of(*values)


def _inputs(finite=True):
  """float32 arrays of shape (rows, 3) (per-channel scales see 3 channels)."""
  return st.lists(st.lists(_floats(finite), min_size=3, max_size=3),
                  min_size=1, max_size=6).map(
                      lambda rows: np.asarray(rows, np.float32))


# ---------------------------------------------------------------------------
# Valid constructor arguments, per class.
# ---------------------------------------------------------------------------
_FLAG = st.sampled_from([False, True, 0, 1])
_QNOISE = st.sampled_from([1.0, 1.0, 1.0, 0.5, 0.0])
_ALPHA_NUM = st.sampled_from([None, None, 1.0, 0.5, 2.0, 0.25])
_ALPHA_ANY = st.sampled_from([None, 1.0, 0.5, 2.0, "auto", "auto_po2"])


def _fixed_point(bits_lo=1):
  """bits and integer with the step 2**(integer - bits) in float32's range."""
  return st.integers(bits_lo, 16).flatmap(lambda b: st.fixed_dictionaries({
      "bits": st.just(b), "integer": st.integers(max(b - 120, -8), 8)}))


def _merge(*parts):
  return st.tuples(*parts).map(
      lambda ds: {k: v for d in ds for k, v in d.items()})


def _bits_kwargs():
  def fix(d):
    if isinstance(d["alpha"], str):
      d["bits"] = max(d["bits"], 2)
    if d["alpha"] != "auto_po2":  # the exponent bounds need auto_po2
      d.pop("min_po2_exponent"), d.pop("max_po2_exponent")
    return d
  return _merge(_fixed_point(), st.fixed_dictionaries({
      "symmetric": _FLAG, "keep_negative": _FLAG, "alpha": _ALPHA_ANY,
      "use_stochastic_rounding": _FLAG, "qnoise_factor": _QNOISE,
      "use_ste": _FLAG,
      "min_po2_exponent": st.sampled_from([None, -8]),
      "max_po2_exponent": st.sampled_from([None, 4])})).map(fix)


def _hswish_kwargs():
  def fix(d):
    if isinstance(d["alpha"], str):
      d["bits"] = max(d["bits"], 2)
    return d
  return _merge(_fixed_point(2), st.fixed_dictionaries({
      "symmetric": _FLAG, "alpha": _ALPHA_ANY, "qnoise_factor": _QNOISE,
      "relu_shift": st.sampled_from([3, 1.5, 6]),
      "relu_upper_bound": st.sampled_from([6, 4.0, 1])})).map(fix)


_VALID = {
    "quantized_linear": _merge(_fixed_point(), st.fixed_dictionaries({
        "symmetric": _FLAG, "keep_negative": _FLAG, "alpha": _ALPHA_ANY,
        "use_stochastic_rounding": _FLAG, "qnoise_factor": _QNOISE})),
    "quantized_bits": _bits_kwargs(),
    "quantized_hswish": _hswish_kwargs(),
    "binary": st.fixed_dictionaries({
        "use_01": _FLAG, "alpha": _ALPHA_ANY,
        "use_stochastic_rounding": _FLAG}),
    "stochastic_binary": st.fixed_dictionaries({
        "alpha": _ALPHA_ANY, "temperature": st.sampled_from([6.0, 1, 0.5]),
        "use_real_sigmoid": _FLAG}),
    "bernoulli": st.fixed_dictionaries({
        "alpha": _ALPHA_ANY, "temperature": st.sampled_from([6.0, 1, 0.5]),
        "use_real_sigmoid": _FLAG}),
    "ternary": st.one_of(
        st.fixed_dictionaries({
            "alpha": _ALPHA_NUM,
            "threshold": st.sampled_from([None, 0.0, 0.33, 0.5, 1.0])}),
        st.fixed_dictionaries({
            "alpha": st.sampled_from(["auto", "auto_po2"]),
            "number_of_unrolls": st.integers(1, 6)})),
    "stochastic_ternary": st.fixed_dictionaries({
        "alpha": _ALPHA_ANY, "temperature": st.sampled_from([8.0, 2.0]),
        "number_of_unrolls": st.integers(1, 6)}),
    "quantized_relu": _merge(_fixed_point(2), st.fixed_dictionaries({
        "use_sigmoid": _FLAG, "negative_slope": st.sampled_from(
            [0.0, 0.0, 0.25, 0.5]),
        "use_stochastic_rounding": _FLAG,
        "relu_upper_bound": st.sampled_from([None, 1.0, 6.0]),
        "is_quantized_clip": _FLAG, "qnoise_factor": _QNOISE,
        "use_ste": _FLAG})),
    "quantized_ulaw": st.fixed_dictionaries({
        "bits": st.integers(2, 16), "integer": st.integers(-8, 8),
        "symmetric": _FLAG, "u": st.sampled_from([255.0, 1.0, 15, 1e6])}),
    "quantized_tanh": st.fixed_dictionaries({
        "bits": st.integers(1, 16), "use_stochastic_rounding": _FLAG,
        "symmetric": _FLAG, "use_real_tanh": _FLAG}),
    "quantized_sigmoid": st.fixed_dictionaries({
        "bits": st.integers(1, 16), "symmetric": _FLAG,
        "use_real_sigmoid": _FLAG, "use_stochastic_rounding": _FLAG}),
    "quantized_po2": st.fixed_dictionaries({
        "bits": st.integers(3, 8),
        "max_value": st.sampled_from([None, 1.0, 4, 0.5, 6.0]),
        "quadratic_approximation": _FLAG,
        "log2_rounding": st.sampled_from(["rnd", "floor"]),
        "qnoise_factor": _QNOISE}),
    "quantized_relu_po2": st.fixed_dictionaries({
        "bits": st.integers(2, 8),
        "max_value": st.sampled_from([None, 1.0, 4, 6.0]),
        "negative_slope": st.sampled_from([0, 0, 0.5, 0.25]),
        "quadratic_approximation": _FLAG,
        "log2_rounding": st.sampled_from(["rnd", "floor"]),
        "qnoise_factor": _QNOISE}),
}

NAMES = sorted(_VALID)


def test_every_registered_quantizer_is_covered():
  # A newly registered QKeras quantizer must get argument strategies here.
  known = {n for n, c in registered_quantizers().items()
           if c.__module__ == "qkeras.quantizers"}
  assert known == set(NAMES)


def _make(name, kwargs):
  return registered_quantizers()[name](**kwargs)


def _run(q, x, training=False):
  return np.asarray(np_out(q(x, training=training)), np.float32)


def _alpha(q):
  return getattr(q, "alpha", None)


def _full_noise(q):
  value = getattr(q, "qnoise_factor", 1.0)
  return isinstance(value, (int, float)) and float(value) == 1.0


# ---------------------------------------------------------------------------
# Value invariants.
# ---------------------------------------------------------------------------
def _bounded(q):
  """True when ``[min(), max()]`` bounds every output of ``q``."""
  name = type(q).__name__
  if name in ("quantized_bits", "quantized_linear", "binary", "ternary",
              "stochastic_binary", "stochastic_ternary", "bernoulli"):
    return _alpha(q) is None and _full_noise(q) and name != "quantized_linear"
  if name == "quantized_relu":
    # min() of a leaky relu is -slope * 2**integer (the limit, not a code).
    return _full_noise(q)
  return name in ("quantized_ulaw", "quantized_tanh", "quantized_sigmoid")


def _po2_bounds(q):
  """``(smallest, largest)`` magnitude of a power-of-two quantizer's output.

  Not ``min()``/``max()``: QKeras's ``max()`` is ``max(1, max_value)`` (the
  output is ``max_value``'s power of two, up to ``2**ceil(log2(max_value))``)
  or ``2**max_exp``, while the quadratic approximation doubles the clipped
  exponent (outputs up to ``2**(2 * max_exp)``); kept for compatibility.
  """
  factor = 2 if q.quadratic_approximation else 1
  hi = 2.0**(factor * q._max_exp)  # pylint: disable=protected-access
  if q.max_value is not None:
    top = factor * np.ceil(np.log2(max(float(q.max_value), 1e-30)) / factor)
    hi = min(hi, 2.0**top)
  lowest = min(q._min_exp, factor * q._min_exp)  # pylint: disable=protected-access
  # Below 2**-126 the power of two flushes to 0 (TensorFlow's rule, kept).
  lo = 2.0**lowest if lowest >= -126 else 0.0
  return lo, min(hi, 2.0**127)


def _po2_within_bounds(q, y):
  """True when ``y`` lies within ``_po2_bounds`` (signed for quantized_po2,
  positive for quantized_relu_po2 without a negative slope)."""
  lo, hi = _po2_bounds(q)
  m = np.abs(y.astype(np.float64))
  if type(q).__name__ == "quantized_relu_po2" and np.any(y < 0):
    return False
  return bool(np.all((m >= lo) & (m <= hi)))


def _on_grid(q, y):
  """True when every finite value of ``y`` is on ``q``'s grid (or ``q`` has
  no grid to check)."""
  name = type(q).__name__
  y = y[np.isfinite(y)].astype(np.float64)
  if not _full_noise(q):
    return True
  if name in ("quantized_bits", "quantized_linear") and _alpha(q) is None:
    kn = int(bool(q.keep_negative))
    step = 2.0**(q.integer - q.bits + kn)
    if q.bits - kn == 0:  # the sign function: ±1 (bits), ±step/2 (linear)
      step = 1.0 if name == "quantized_bits" else step / 2.0
      return bool(np.all(np.abs(y) == step))
    return bool(np.all(np.mod(y / step, 1.0) == 0.0))
  if name == "quantized_relu" and not q.use_sigmoid:
    nsb = q.bits - (q.negative_slope != 0)
    step = 2.0**(q.integer - nsb) * (q.negative_slope or 1.0)
    return bool(np.all(np.mod(y / step, 1.0) == 0.0))
  if name in ("quantized_po2", "quantized_relu_po2"):
    m = np.abs(y[y != 0])
    return bool(np.all(np.exp2(np.round(np.log2(m))) == m))
  if name in ("binary", "stochastic_binary") and _alpha(q) is None:
    return set(np.unique(y)) <= ({0.0, 1.0} if getattr(q, "use_01", False)
                                 else {-1.0, 1.0})
  if name in ("ternary", "stochastic_ternary") and _alpha(q) is None:
    return set(np.unique(y)) <= {-1.0, 0.0, 1.0}
  if name == "bernoulli" and _alpha(q) is None:
    return set(np.unique(y)) <= {0.0, 1.0}
  if name == "quantized_tanh":
    return bool(np.all(np.mod(y * 2.0**(q.bits - 1), 1.0) == 0.0))
  if name == "quantized_sigmoid":
    return bool(np.all(np.mod(y * 2.0**q.bits, 1.0) == 0.0))
  return True


def _po2_bounded(q):
  name = type(q).__name__
  return _full_noise(q) and (name == "quantized_po2" or (
      name == "quantized_relu_po2" and not q.negative_slope))


def _idempotent(q):
  name = type(q).__name__
  if not _full_noise(q):
    return False
  if name in ("quantized_bits", "quantized_linear"):
    return _alpha(q) is None
  if name == "quantized_relu":
    return not q.use_sigmoid and not q.negative_slope and q.is_quantized_clip
  if name == "binary":  # with use_01, q(0) = 1
    return _alpha(q) is None and not q.use_01
  if name in ("ternary", "stochastic_ternary", "stochastic_binary"):
    return _alpha(q) is None
  if name == "quantized_relu_po2":  # the slope applies again to q(x) < 0
    return not q.negative_slope
  # bernoulli: q(0) = 1 (its codes 0, 1 are not fixed points).
  return name == "quantized_po2"


def _monotonic(q):
  name = type(q).__name__
  if name in ("quantized_bits", "quantized_linear", "binary", "ternary",
              "stochastic_binary", "stochastic_ternary", "bernoulli"):
    return not isinstance(_alpha(q), str) and _alpha(q) is not None or (
        _alpha(q) is None)
  if name in ("quantized_po2", "quantized_relu_po2"):
    # With the quadratic approximation, |x| < eps maps to 2**min_exp but
    # small |x| to 2**(2 * min_exp) (QKeras's rule, kept): not monotonic.
    return not q.quadratic_approximation
  return name in ("quantized_relu", "quantized_tanh", "quantized_sigmoid",
                  "quantized_ulaw")


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=_n(12), **_SETTINGS)
@given(data=st.data())
def test_value_invariants(name, data):
  q = _make(name, data.draw(_VALID[name], label="kwargs"))
  x = data.draw(_inputs(finite=True), label="x")
  y = _run(q, x)
  assert y.shape == x.shape
  assert np.all(np.isfinite(y)), (str(q), x, y)
  CHECKED["finite in -> finite out"] += 1
  if _bounded(q):
    lo, hi = float(np.min(q.min())), float(np.max(q.max()))
    assert np.all((y >= lo) & (y <= hi)), (str(q), lo, hi, y)
    CHECKED["within [min(), max()]"] += 1
  if _po2_bounded(q):
    assert _po2_within_bounds(q, y), (str(q), _po2_bounds(q), y)
    CHECKED["within the power-of-two range"] += 1
  assert _on_grid(q, y), (str(q), y)
  CHECKED["on the grid"] += 1
  if _idempotent(q):
    np.testing.assert_array_equal(_run(q, y), y, err_msg=str(q))
    CHECKED["idempotent q(q(x)) == q(x)"] += 1
  if _monotonic(q):
    flat = np.sort(x.ravel())
    y_sorted = _run(q, flat)
    assert np.all(np.diff(y_sorted.astype(np.float64)) >= 0), (str(q), flat,
                                                               y_sorted)
    CHECKED["monotonic"] += 1


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=_n(6), **_SETTINGS)
@given(data=st.data())
def test_non_finite_inputs_keep_their_place(name, data):
  """NaN stays NaN (never a code); other values are unaffected by it."""
  q = _make(name, data.draw(_VALID[name], label="kwargs"))
  x = data.draw(_inputs(finite=False), label="x")
  y = _run(q, x)
  assert y.shape == x.shape
  if not isinstance(_alpha(q), str) and _full_noise(q):
    finite = np.isfinite(x)
    assert np.all(np.isfinite(y[finite])), (str(q), x, y)
    # docs/compat.md: +-inf saturate to the quantizer's extreme values.
    ends = _run(q, np.array([[np.inf, -np.inf, F32_MAX, -F32_MAX]],
                            np.float32))
    np.testing.assert_array_equal(ends[:, :2], ends[:, 2:], err_msg=str(q))
    assert np.all(np.isnan(y[np.isnan(x)])), (str(q), x, y)
    CHECKED["+-inf saturate like +-float32 max, NaN stays NaN"] += 1
  CHECKED["non-finite inputs (shape, finite elsewhere)"] += 1


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=_n(6), **_SETTINGS)
@given(data=st.data())
def test_training_mode_finite_in_finite_out(name, data):
  """Training (stochastic rounding and sampling, noise, fresh scales) keeps
  finite inputs finite and the shape."""
  q = _make(name, data.draw(_VALID[name], label="kwargs"))
  x = data.draw(_inputs(finite=True), label="x")
  y = _run(q, x, training=True)
  assert y.shape == x.shape
  assert np.all(np.isfinite(y)), (str(q), x, y)
  CHECKED["training: finite in -> finite out"] += 1
  g = gradient(lambda v: q(v, training=True), x)
  assert g.shape == x.shape and np.all(np.isfinite(g)), (str(q), x, g)
  CHECKED["training: finite in -> finite gradient"] += 1


def _same(a, b):
  np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
  np.testing.assert_array_equal(a[~np.isnan(a)], b[~np.isnan(b)])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=_n(8), **_SETTINGS)
@given(data=st.data())
def test_config_and_string_round_trips(name, data):
  kwargs = data.draw(_VALID[name], label="kwargs")
  q = _make(name, kwargs)
  x = data.draw(_inputs(finite=False), label="x")
  y = _run(q, x)
  config = json.loads(json.dumps(q.get_config()))
  _same(_run(type(q).from_config(config), x), y)
  CHECKED["from_config(get_config()) same outputs"] += 1
  text = str(q)
  parsed = Q.get_quantizer(text)
  assert type(parsed) is type(q) and str(parsed) == text
  CHECKED["str() re-parses to the same str()"] += 1
  if parsed.get_config() == q.get_config():
    _same(_run(parsed, x), y)
    CHECKED["get_quantizer(str(q)) same outputs"] += 1


def _same_up_to_flush(a, b):
  """``_same``, except that a subnormal result may be flushed to (signed)
  zero on one side: graphs and XLA flush subnormals on CPU, eager kernels do
  not always (e.g. ``qnoise_factor`` mixing ``x + f * (xq - x)`` of a tiny
  ``x``; docs/compat.md)."""
  np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
  keep = ~np.isnan(a)
  a, b = a[keep], b[keep]
  flushed = (np.abs(a) < F32_TINY) & (np.abs(b) < F32_TINY)
  np.testing.assert_array_equal(a[~flushed], b[~flushed])


def _bit_identical_when_compiled(q):
  """False where docs/compat.md ("Graph mode and XLA") allows an ulp: u-law,
  the real tanh/sigmoid, and data-dependent scales (string alphas: means and
  least-squares refinements; XLA's max reductions may also skip a NaN that
  makes the channel's scale NaN eagerly)."""
  name = type(q).__name__
  return not (name == "quantized_ulaw" or getattr(q, "use_real_tanh", False)
              or (name == "quantized_sigmoid" and q.use_real_sigmoid)
              or isinstance(_alpha(q), str))


@pytest.mark.skipif(TORCH, reason="PyTorch runs eagerly (no compiled mode)")
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=_n(2), **_SETTINGS)
@given(data=st.data())
def test_eager_and_compiled_agree(name, data):
  q = _make(name, data.draw(_VALID[name], label="kwargs"))
  x = data.draw(_inputs(finite=False), label="x")
  eager = _run(q, x)
  for mode in compiled_modes():  # tf.function with and without XLA; jax.jit
    graph = np.asarray(np_out(compiled(lambda v: q(v, training=False),
                                       **mode)(
        keras.ops.convert_to_tensor(x))), np.float32)
    if _bit_identical_when_compiled(q):
      _same_up_to_flush(graph, eager)
      CHECKED["eager == compiled (bit-identical)"] += 1
    elif isinstance(_alpha(q), str) and np.any(np.isnan(x)):
      # A NaN makes the data-dependent scale NaN eagerly; XLA's max
      # reductions may skip it (docs/compat.md): only the NaN is kept.
      assert np.all(np.isnan(graph[np.isnan(x)])), (str(q), x, graph)
      CHECKED["eager == compiled (NaN of a data-scaled input kept)"] += 1
    else:
      np.testing.assert_allclose(graph, eager, rtol=2**-20, atol=0,
                                 err_msg=str(q))
      CHECKED["eager == compiled (within the documented ulps)"] += 1


# ---------------------------------------------------------------------------
# Invalid arguments.
# ---------------------------------------------------------------------------
_BAD_BITS = [0, -1, 65, 2.5, "4", None, True, 10**400, float("nan")]
# -127: the grid step 2**(integer - value bits) (u-law: 2**integer) would
# be subnormal for every number of value bits.
_BAD_INTEGER = [128, -128, 1.5, "x", None, 10**400, -127]
_BAD_ALPHA = ["bad", -1, 0, float("inf"), float("nan"), 1e39, [], [-1.0],
              True, 1e308]
_BAD_FLAG = [0.5, "yes", None, float("nan")]
_BAD_NUMBER = [float("nan"), float("inf"), 1e39, "x", None, -1.0]
_BAD_UNIT = [1.5, -0.1, float("nan"), "x"]

_INVALID = {
    "quantized_linear": {"bits": _BAD_BITS, "integer": _BAD_INTEGER,
                         "alpha": _BAD_ALPHA, "keep_negative": [2, 1e38, 0.5],
                         "symmetric": _BAD_FLAG, "qnoise_factor": _BAD_UNIT},
    "quantized_bits": {"bits": _BAD_BITS, "integer": _BAD_INTEGER,
                       "alpha": _BAD_ALPHA, "keep_negative": [2, 1e38, 0.5],
                       "symmetric": _BAD_FLAG, "qnoise_factor": _BAD_UNIT,
                       "elements_per_scale": [2], "min_po2_exponent": [-3],
                       "post_training_scale": [1.0]},
    "quantized_hswish": {"bits": _BAD_BITS, "integer": _BAD_INTEGER,
                         "alpha": _BAD_ALPHA, "relu_shift": _BAD_NUMBER + [0],
                         "relu_upper_bound": _BAD_NUMBER + [0],
                         "keep_negative": [False]},
    "binary": {"alpha": _BAD_ALPHA, "use_01": _BAD_FLAG,
               "elements_per_scale": [2, 0]},
    "stochastic_binary": {"alpha": _BAD_ALPHA,
                          "temperature": [float("nan"), 1e39, "x"]},
    "bernoulli": {"alpha": _BAD_ALPHA, "temperature": [float("inf"), 1e39],
                  "use_real_sigmoid": _BAD_FLAG},
    "ternary": {"alpha": _BAD_ALPHA, "threshold": [-0.1, "auto", 1e39],
                "number_of_unrolls": [0, 1001, 1.5]},
    "stochastic_ternary": {"alpha": _BAD_ALPHA, "threshold": [1.0, -1.0],
                           "temperature": [float("nan"), 1e39]},
    "quantized_relu": {"bits": _BAD_BITS, "integer": _BAD_INTEGER,
                       "negative_slope": [0.3, -0.5, float("nan"), 1e39],
                       "relu_upper_bound": [0, -1.0, 1e39],
                       "qnoise_factor": _BAD_UNIT, "use_sigmoid": _BAD_FLAG},
    "quantized_ulaw": {"bits": _BAD_BITS + [1], "integer": _BAD_INTEGER,
                       "u": [0, -1.0, 1e308, 1e-30, float("nan")]},
    "quantized_tanh": {"bits": _BAD_BITS, "symmetric": _BAD_FLAG,
                       "use_real_tanh": _BAD_FLAG},
    "quantized_sigmoid": {"bits": _BAD_BITS, "symmetric": _BAD_FLAG},
    "quantized_po2": {"bits": _BAD_BITS + [33], "max_value": [-1.0, 1e39],
                      "log2_rounding": ["ceil", 1],
                      "qnoise_factor": _BAD_UNIT},
    "quantized_relu_po2": {"bits": _BAD_BITS + [33],
                           "max_value": [-1.0, float("nan")],
                           "negative_slope": [0.3, -1.0],
                           "log2_rounding": ["ceil"]},
}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=_n(25), **_SETTINGS)
@given(data=st.data())
def test_invalid_arguments_name_the_argument(name, data):
  kwargs = data.draw(_VALID[name], label="kwargs")
  arg = data.draw(st.sampled_from(sorted(_INVALID[name])), label="arg")
  kwargs[arg] = data.draw(st.sampled_from(_INVALID[name][arg]), label="value")
  if arg in ("elements_per_scale", "min_po2_exponent",
             "post_training_scale"):
    kwargs["alpha"] = None  # valid only with a string alpha
    for other in ("min_po2_exponent", "max_po2_exponent"):
      if other != arg:
        kwargs.pop(other, None)
  with pytest.raises((ValueError, TypeError), match=f"'{arg}'"):
    _make(name, kwargs)
  CHECKED["invalid argument -> error naming it"] += 1


# ---------------------------------------------------------------------------
# The parser.
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def _time_limit(seconds=10):
  """Fails (instead of hanging) when the block runs longer than
  ``seconds`` (POSIX only; elsewhere no guard)."""
  if not hasattr(signal, "SIGALRM"):
    yield
    return

  def expired(signum, frame):
    raise AssertionError(f"parser ran longer than {seconds} s")

  previous = signal.signal(signal.SIGALRM, expired)
  signal.alarm(seconds)
  try:
    yield
  finally:
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


_TOKENS = (["quantized_bits", "binary", "hard_sigmoid", "relu", "ternary",
            "quantized_po2", "bits", "alpha", "os", "eval", "__import__",
            "lambda", "x", "auto_po2", "True", "None"] +
           list("()[],=.+-*'\" ") +
           ["4", "0", "1", "-1", "1e9999", "1e-9999", "0x10", "1_0", "1j",
            "'auto'", "\\", "\n", "[[", "]]", "**", "(((", ")))"])


@st.composite
def _token_strings(draw):
  return "".join(draw(st.lists(st.sampled_from(_TOKENS), max_size=12)))


_ARG_NAMES = sorted({
    "alpha", "bits", "elements_per_scale", "enable_fast_inference",
    "integer", "is_quantized_clip", "keep_negative", "log2_rounding",
    "max_po2_exponent", "max_value", "min_po2_exponent", "negative_slope",
    "number_of_unrolls", "post_training_scale", "qnoise_factor",
    "quadratic_approximation", "relu_shift", "relu_upper_bound",
    "scale_axis", "symmetric", "temperature", "threshold", "u", "use_01",
    "use_real_sigmoid", "use_real_tanh", "use_sigmoid", "use_ste",
    "use_stochastic_rounding", "use_variables", "var_name", "unknown"})
_ARG_VALUES = ["0", "1", "2", "4", "8", "-1", "-125", "64", "65", "1000",
               "0.5", "2.5", "-0.5", "1e39", "1e308", "1e-45", "inf", "nan",
               "True", "False", "None", "'auto'", "'auto_po2'", "'rnd'",
               "'x'", "[1.0, 2.0]", "[[1]]", "[]", "10**9", "-0.0"]


@st.composite
def _call_strings(draw):
  """``name(arg, ..., key=value, ...)`` with a quantizer, function or unknown
  name and arguments from ``_ARG_VALUES`` (most such calls are invalid)."""
  name = draw(st.sampled_from(NAMES + ["hard_sigmoid", "binary_tanh",
                                       "quantized_nothing", "eval"]))
  args = draw(st.lists(st.sampled_from(_ARG_VALUES), max_size=4))
  kwargs = draw(st.dictionaries(st.sampled_from(_ARG_NAMES),
                                st.sampled_from(_ARG_VALUES), max_size=3))
  parts = args + [f"{k}={v}" for k, v in kwargs.items()]
  return f"{name}({', '.join(parts)})"


_HOSTILE = [
    "[" * 100_000 + "]" * 100_000,
    "quantized_bits(" + "[" * 10_000 + "1" + "]" * 10_000 + ")",
    "quantized_bits(" * 10_000,
    "quantized_bits(1e" + "9" * 100_000 + ")",
    "quantized_bits(" + "9" * 1_000_000 + ")",
    "quantized_bits(4," + " " * 1_000_000 + "0)",
    "quantized_bits(4, alpha='" + "a" * 1_000_000 + "')",
    "a" * 1_000_000,
    "quantized_bits(" + "1," * 200_000 + ")",
    "quantized_bits(alpha=[" + "1 " * 300_000 + "])",
    "quantized_bits(4)" + "\x00" * 1000,
    "quantized_bits(4, alpha=1e308)",
    "quantized_bits(10**9)",
    "quantized_bits(4, -127)",
    "hard_sigmoid(3)",
    "hard_tanh('x')",
    "__import__('os').system('true')",
    # Within the parser's length limit (MAX_SPEC_LENGTH), so that the
    # nesting, number and list limits themselves are exercised.
    "quantized_bits(" * 6_000,
    "quantized_bits(4, 0, 1, alpha=" + "[" * 9 + "1" + "]" * 9 + ")",
    "quantized_bits(1e" + "9" * 97 + ")",
    "quantized_bits(" + "9" * 99 + ")",
    "quantized_bits(4, alpha=[" + "1e39," * 15_000 + "])",
    "quantized_bits(" + ", ".join(["4"] * 65) + ")",
    "quantized_bits(4, alpha=[" + "1.0, " * 15_000 + "-1.0])",
]


def _parse_or_value_error(text):
  with _time_limit():
    try:
      result = Q.get_quantizer(text)
    except ValueError:
      return "refused"
  assert result is None or callable(result), (text[:80], result)
  return "built"


@settings(max_examples=_n(500), **_SETTINGS)
@given(text=st.one_of(_token_strings(), _call_strings(),
                      st.text(max_size=40)))
def test_generated_strings_build_or_raise_value_error(text):
  outcome = _parse_or_value_error(text)
  CHECKED[f"parser: generated strings ({outcome})"] += 1


@pytest.mark.parametrize("index", range(len(_HOSTILE)))
def test_hostile_strings_are_refused_quickly(index):
  assert _parse_or_value_error(_HOSTILE[index]) == "refused"
  CHECKED["parser: hostile strings refused"] += 1


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=_n(10), **_SETTINGS)
@given(data=st.data())
def test_valid_strings_round_trip(name, data):
  q = _make(name, data.draw(_VALID[name], label="kwargs"))
  text = str(q)
  spaced = text.replace(",", data.draw(st.sampled_from([",", ", ", " ,\t"])))
  with _time_limit():
    parsed = Q.get_quantizer(spaced)
  assert str(parsed) == text
  CHECKED["parser: valid strings round trip"] += 1


def test_zz_report_counts():
  """Prints what the properties above checked (run the module alone, in one
  process, with ``-s``; under pytest-xdist each worker counts only its own
  share, so nothing is asserted here)."""
  print("\nproperty examples checked (" + keras.backend.backend() + "):")
  for key, count in sorted(CHECKED.items()):
    print(f"  {count:6d}  {key}")
