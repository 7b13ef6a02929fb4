"""Quantizers against golden outputs recorded from QKeras 0.9 (Keras 2).

The fixtures in tests/data/qkeras09_quantizers.{json,npz} were produced by
tests/fixtures/make_qkeras09_fixtures.py with the PyPI wheel qkeras==0.9.0 on
TensorFlow 2.12 (see tests/fixtures/README.md). For every recorded case this
file checks the output, the ``scale`` attribute, ``str()``, ``get_config()``,
``max()``, ``min()``, ``range()`` and the gradient.

Outputs must be bit-identical, with one documented exception
(docs/compat.md): QKeras returns ``x + (xq - x)`` computed in float32, which
differs from the quantized value ``xq`` when that subtraction rounds (huge
``|x|``, inputs below eps for po2, non-power-of-two scales). We return ``xq``
exactly; the test then requires that QKeras's value is exactly what its own
arithmetic makes of our ``xq``.

The same holds on JAX and PyTorch (the suite runs on every backend), except
where the math itself is not exact: a scale that is the mean of the input
(``binary``/``ternary`` and their stochastic versions with ``alpha="auto"``:
the backends sum in different orders) and the transcendental functions
(``quantized_ulaw``'s log, ``use_real_tanh``/``use_real_sigmoid``); there the
values may differ by at most ``ULP_BOUND`` units in the last place
(docs/compat.md, "Backends").
"""

import collections
import json
import os

import numpy as np
import pytest

from multibackend import TENSORFLOW
from multibackend import gradient
from multibackend import np_out
from qkeras import quantizers
from qkeras.quantizers import get_quantizer

DATA = os.path.join(os.path.dirname(__file__), "data")
with open(os.path.join(DATA, "qkeras09_quantizers.json")) as f:
  CASES = json.load(f)
ARRAYS = np.load(os.path.join(DATA, "qkeras09_quantizers.npz"))

BY_CLASS = collections.defaultdict(list)
for _case in CASES:
  if not _case.get("edge"):
    BY_CLASS[_case["cls"]].append(_case)
QUANTIZER_CLASSES = sorted(
    c for c in BY_CLASS if isinstance(getattr(quantizers, c, None), type))
# bernoulli is random in QKeras even in inference: only metadata recorded.
CALLED_CLASSES = [c for c in QUANTIZER_CLASSES if c != "bernoulli"]
FUNCTIONS = sorted(c for c in BY_CLASS
                   if c != "_get_integer_bits" and c not in QUANTIZER_CLASSES)

# Quantizers whose __str__ we changed on purpose where QKeras's text does not
# parse back to the same quantizer (docs/compat.md).
# Values: the config keys that the text encodes.
_PO2_KEYS = ("bits", "max_value", "use_stochastic_rounding",
             "quadratic_approximation", "log2_rounding")
STR_FIXED = {
    "quantized_po2": _PO2_KEYS,
    "quantized_relu_po2": _PO2_KEYS + ("negative_slope",),
    "quantized_relu": ("bits", "integer", "use_sigmoid", "negative_slope",
                       "use_stochastic_rounding"),
    "quantized_tanh": ("bits", "symmetric", "use_stochastic_rounding",
                       "use_real_tanh"),
    "quantized_sigmoid": ("bits", "symmetric", "use_real_sigmoid",
                          "use_stochastic_rounding"),
}


def _text_config(cls_name, text):
  """The config keys ``text`` encodes, or None if it does not build."""
  try:
    config = get_quantizer(text).get_config()
  except ValueError:  # e.g. a slope read back as use_sigmoid=0.25
    return None
  return {k: config[k] for k in STR_FIXED[cls_name]}


def _build(case):
  obj = getattr(quantizers, case["cls"])
  if not isinstance(obj, type):
    return obj
  q = obj(*case["args"], **case["kwargs"])
  if case["set_trainable"]:
    q._set_trainable_parameter()  # pylint: disable=protected-access
  return q


def _bits_equal(a, b):
  a = np.asarray(a, np.float32)
  b = np.asarray(b, np.float32)
  return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


# Units in the last place by which a backend other than TensorFlow may
# differ where the math is not exact (see the module docstring).
ULP_BOUND = 4


def backend_ulps(case):
  """0 (bit-identical) or ``ULP_BOUND`` for ``case`` on this backend."""
  if TENSORFLOW:
    return 0
  kwargs = case["kwargs"]
  mean_scale = (case["cls"] in ("binary", "ternary", "stochastic_binary",
                                "stochastic_ternary") and
                isinstance(kwargs.get("alpha"), str))
  transcendental = (case["cls"] == "quantized_ulaw" or
                    kwargs.get("use_real_tanh") or
                    kwargs.get("use_real_sigmoid"))
  return ULP_BOUND if mean_scale or transcendental else 0


def check_output(x, ours, ref, case_id, max_ulp=0):
  """Bit-equal, or exactly what QKeras's ``x + (xq - x)`` makes of ours
  (with ``max_ulp``: within that many ulps of QKeras's value)."""
  ours = np.asarray(ours, np.float32)
  assert ours.shape == ref.shape, case_id
  same = _bits_equal(ours, ref)
  if same.all():
    return 0
  if max_ulp:
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref),
                                  err_msg=case_id)
    np.testing.assert_array_max_ulp(ours[finite], ref[finite],
                                    maxulp=max_ulp)
    return 0
  x = np.broadcast_to(np.asarray(x, np.float32), ours.shape)
  upstream_arith = (x + (ours - x)).astype(np.float32)
  explained = same | _bits_equal(upstream_arith, ref)
  bad = np.nonzero(~explained.ravel())[0][:5]
  assert explained.all(), (
      f"{case_id}: x={x.ravel()[bad]} ours={ours.ravel()[bad]} "
      f"qkeras={ref.ravel()[bad]}")
  return int((~same).sum())


def _output_cases(cls_name):
  return [c for c in BY_CLASS[cls_name] if c["output"] is not None]


@pytest.mark.parametrize("cls_name", CALLED_CLASSES + FUNCTIONS)
def test_outputs_and_scales_match_qkeras09(cls_name):
  cases = _output_cases(cls_name)
  assert cases, cls_name
  for case in cases:
    q = _build(case)
    x = ARRAYS[case["input"]]
    ulps = backend_ulps(case)
    check_output(x, np_out(q(x)), ARRAYS[case["output"]], case["id"], ulps)
    if case["scale"] is not None:
      ref = ARRAYS[case["scale"]]
      ours = np.asarray(np_out(q.scale), np.float32)
      assert ours.shape == ref.shape, case["id"]
      if ulps:
        np.testing.assert_array_max_ulp(ours, ref, maxulp=ulps)
      else:
        assert _bits_equal(ours, ref).all(), case["id"]


def test_exact_output_deviations_are_rare():
  """The STE-arithmetic exception stays an exception."""
  total = deviating = 0
  for cls_name in QUANTIZER_CLASSES:
    for case in _output_cases(cls_name):
      x = ARRAYS[case["input"]]
      total += x.size
      deviating += check_output(x, np_out(_build(case)(x)),
                                ARRAYS[case["output"]], case["id"],
                                backend_ulps(case))
  assert total > 50000
  assert deviating < total * 0.002, (deviating, total)


@pytest.mark.parametrize("cls_name", QUANTIZER_CLASSES)
def test_str_config_min_max_range_match_qkeras09(cls_name):
  for case in BY_CLASS[cls_name]:
    q = _build(case)
    if case["str"] is not None and str(q) != case["str"]:
      # Only where QKeras's text is ambiguous: it re-parses to a different
      # quantizer, ours re-parses to this one.
      assert cls_name in STR_FIXED, (case["id"], str(q), case["str"])
      wanted = {k: q.get_config()[k] for k in STR_FIXED[cls_name]}
      assert _text_config(cls_name, str(q)) == wanted, case["id"]
      assert _text_config(cls_name, case["str"]) != wanted, (case["id"],
                                                             case["str"])
    if case["config"] is not None:
      config = q.get_config()
      for key, value in case["config"].items():
        assert key in config, (case["id"], key)
        assert config[key] == value, (case["id"], key, config[key], value)
    for name in ("max", "min"):
      if case[name] is not None:
        assert float(getattr(q, name)()) == case[name], (case["id"], name)
    if case["range"] is not None:
      ref = case["range"]
      ref = ARRAYS[ref] if isinstance(ref, str) else np.array(ref, np.float32)
      np.testing.assert_array_equal(np.asarray(q.range(), np.float32), ref)


def _uses_transcendental(case):
  """tanh / sigmoid / log gradients differ by ulps between TF releases."""
  kwargs = case["kwargs"]
  return (case["cls"] in ("binary", "ternary", "stochastic_binary",
                          "stochastic_ternary", "quantized_ulaw") or
          kwargs.get("use_real_tanh") or kwargs.get("use_real_sigmoid"))


@pytest.mark.parametrize("cls_name", CALLED_CLASSES + FUNCTIONS)
def test_gradients_match_qkeras09(cls_name):
  checked = 0
  for case in _output_cases(cls_name):
    if not case.get("grad"):
      continue
    q = _build(case)
    g = gradient(q, ARRAYS[case["input"]], ARRAYS[case["grad_w"]])
    ref = ARRAYS[case["grad"]]
    if _uses_transcendental(case):
      np.testing.assert_allclose(g, ref, rtol=2e-5, atol=2e-6,
                                 err_msg=case["id"])
    else:
      np.testing.assert_array_equal(g, ref, err_msg=case["id"])
    checked += 1
  assert checked


def test_get_integer_bits_matches_qkeras09():
  cases = BY_CLASS["_get_integer_bits"]
  assert cases
  for case in cases:
    bounds = ARRAYS[case["input"]]
    ours = quantizers._get_integer_bits(bounds[0], bounds[1], **case["kwargs"])  # pylint: disable=protected-access
    np.testing.assert_array_equal(
        np_out(ours).astype(np.float32), ARRAYS[case["output"]],
        err_msg=case["id"])


def test_qkeras09_edge_inputs_are_now_finite():
  """Where QKeras returned NaN for +-inf, we saturate (docs/compat.md)."""
  edge = [c for c in CASES if c.get("edge") and c["output"] is not None]
  assert edge
  for case in edge:
    q = _build(case)
    x = ARRAYS[case["input"]]
    ours = np_out(q(x))
    inf = np.isinf(x)
    assert np.all(np.isfinite(ours[inf])), case["id"]
    assert np.all(np.isnan(ours[np.isnan(x)])), case["id"]
    big = np_out(q(np.where(inf, np.sign(x) * 3e38, x).astype(np.float32)))
    np.testing.assert_array_equal(ours[inf], big[inf], err_msg=case["id"])
