"""Collapsing quantizers are reported (issue 19, part 4), and Keras's own
``quantize("int8")`` is refused on Q-layers.

A weight quantizer "collapses" a weight tensor when more than 90% of it
quantizes to zero or to the quantizer's clip limits. Q-layers check their
initial weights when built; ``qkeras.utils.check_quantizer_collapse(model)``
and the callback ``QuantizerCollapseCheck`` check the current / trained
weights; ``print_qstats`` prints the fractions. Every backend.
"""

import contextlib
import warnings

import keras
from keras import layers as L
import numpy as np
import pytest

import qkeras
from multibackend import np_out
from qkeras import QBatchNormalization
from qkeras import QBidirectional
from qkeras import QConv2D
from qkeras import QConv2DBatchnorm
from qkeras import QConv2DTranspose
from qkeras import QDense
from qkeras import QDenseBatchnorm
from qkeras import QDepthwiseConv2D
from qkeras import QDepthwiseConv2DTranspose
from qkeras import QGRU
from qkeras import QLSTM
from qkeras import QScaleShift
from qkeras import QSeparableConv2D
from qkeras import QSeparableConv2DTranspose
from qkeras import QSimpleRNN
from qkeras import QuantizerCollapseWarning
from qkeras import quantized_bits
from qkeras import qlayers
from qkeras.callbacks import QuantizerCollapseCheck
from qkeras.estimate import print_qstats
from qkeras.utils import check_quantizer_collapse

Q4 = "quantized_bits(4,0,1)"
TINY = keras.initializers.RandomUniform(-1e-3, 1e-3, seed=1)
LARGE = keras.initializers.RandomUniform(0.5, 1.0, seed=2)


def _collapse_warnings(record):
  return [str(w.message) for w in record
          if issubclass(w.category, QuantizerCollapseWarning)]


def _build(layer, shape):
  """Builds ``layer`` on ``shape`` (batch included), returning the
  collapse warnings it gave."""
  with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter("always")
    layer.build(shape)
  return _collapse_warnings(record)


@contextlib.contextmanager
def _no_collapse_warning():
  """A context in which a collapse warning is an error."""
  with warnings.catch_warnings():
    warnings.simplefilter("error", QuantizerCollapseWarning)
    yield


# --------------------------------------------------------------------------
# Ordinary layers do not warn.
# --------------------------------------------------------------------------
_QUANTIZERS = [Q4, "quantized_bits(4,0,1,alpha=1)",
               "quantized_bits(8,0,1,alpha=1)", "quantized_bits(6,2,1)",
               "quantized_bits(2,0,1)", "binary()", "ternary()",
               "stochastic_ternary()", "quantized_po2(4)",
               "quantized_po2(4,1)"]

_LAYERS = [
    ("QDense(784)", lambda q: QDense(64, kernel_quantizer=q,
                                     bias_quantizer=q), (None, 784)),
    ("QDense(16)", lambda q: QDense(8, kernel_quantizer=q,
                                    bias_quantizer=q), (None, 16)),
    ("QConv2D", lambda q: QConv2D(16, 3, kernel_quantizer=q,
                                  bias_quantizer=q), (None, 8, 8, 3)),
    ("QConv2D(64)", lambda q: QConv2D(32, 3, kernel_quantizer=q,
                                      bias_quantizer=q), (None, 6, 6, 64)),
    ("QDepthwiseConv2D", lambda q: QDepthwiseConv2D(
        3, depthwise_quantizer=q, bias_quantizer=q), (None, 8, 8, 4)),
    ("QSeparableConv2D", lambda q: QSeparableConv2D(
        8, 3, depthwise_quantizer=q, pointwise_quantizer=q,
        bias_quantizer=q), (None, 8, 8, 4)),
    ("QConv2DTranspose", lambda q: QConv2DTranspose(
        4, 3, kernel_quantizer=q, bias_quantizer=q), (None, 5, 5, 4)),
    ("QDepthwiseConv2DTranspose", lambda q: QDepthwiseConv2DTranspose(
        4, 3, group_size=2, depthwise_kernel_quantizer=q, bias_quantizer=q),
     (None, 5, 5, 4)),
    ("QSeparableConv2DTranspose", lambda q: QSeparableConv2DTranspose(
        4, 3, depthwise_kernel_quantizer=q, pointwise_kernel_quantizer=q,
        bias_quantizer=q), (None, 5, 5, 4)),
    ("QConv2DBatchnorm", lambda q: QConv2DBatchnorm(
        4, 3, kernel_quantizer=q, bias_quantizer=q), (None, 6, 6, 3)),
    ("QDenseBatchnorm", lambda q: QDenseBatchnorm(
        8, kernel_quantizer=q, bias_quantizer=q), (None, 32)),
    ("QScaleShift", lambda q: QScaleShift(weight_quantizer=q,
                                          bias_quantizer=q), (None, 4)),
]


# Every quantizer on the dense and convolution layers; three on the others
# (each build costs seconds on JAX).
_CASES = [(layer, q) for layer in _LAYERS[:4] for q in _QUANTIZERS] + [
    (layer, q) for layer in _LAYERS[4:]
    for q in (Q4, "quantized_bits(4,0,1,alpha=1)", "ternary()")]


@pytest.mark.parametrize("layer, quantizer", _CASES,
                         ids=[f"{l[0]}-{q}" for l, q in _CASES])
def test_ordinary_layers_do_not_warn_when_built(layer, quantizer):
  _, make, shape = layer
  keras.utils.set_random_seed(0)
  assert _build(make(quantizer), shape) == []


@pytest.mark.parametrize("make", [
    lambda: QSimpleRNN(8, kernel_quantizer=Q4, recurrent_quantizer=Q4,
                       bias_quantizer=Q4),
    lambda: QLSTM(8, kernel_quantizer=Q4, recurrent_quantizer=Q4,
                  bias_quantizer=Q4),
    lambda: QGRU(8, kernel_quantizer=Q4, recurrent_quantizer=Q4,
                 bias_quantizer=Q4),
    lambda: QBidirectional(QLSTM(8, kernel_quantizer=Q4,
                                 recurrent_quantizer=Q4, bias_quantizer=Q4)),
    QBatchNormalization])
def test_ordinary_recurrent_and_batchnorm_layers_do_not_warn(make):
  keras.utils.set_random_seed(0)
  with _no_collapse_warning():
    make()(keras.Input((5, 6)))


def test_default_layers_in_a_model_do_not_warn():
  """The brief's case: QDense/QConv2D with quantized_bits(4,0,1) and the
  default initializer (he_normal, as in QKeras), in a model, then trained
  one epoch."""
  keras.utils.set_random_seed(0)
  with _no_collapse_warning():
    x = keras.Input((8, 8, 1))
    y = QConv2D(8, 3, kernel_quantizer=Q4, bias_quantizer=Q4)(x)
    y = L.Flatten()(y)
    y = QDense(4, kernel_quantizer=Q4, bias_quantizer=Q4)(y)
    model = keras.Model(x, y)
    model.compile("adam", "mse")
    data = np.random.default_rng(0).normal(size=(16, 8, 8, 1))
    model.fit(data.astype("float32"), np.zeros((16, 4), "float32"),
              epochs=1, verbose=0, callbacks=[QuantizerCollapseCheck()])


@pytest.mark.parametrize("quantizer", [quantized_bits(4, 0, 1),
                                       quantized_bits(4, 0, 1, alpha=1)])
@pytest.mark.parametrize("initializer", ["glorot_uniform", "he_normal"])
def test_the_briefs_dense_layer_does_not_warn(quantizer, initializer):
  """QDense(64, kernel_quantizer=quantized_bits(4,0,1)) on 784 inputs:
  with alpha=1, |w| < 1/16 quantizes to 0, about 74% of glorot_uniform's
  and 79% of he_normal's values: below 90%."""
  keras.utils.set_random_seed(0)
  layer = QDense(64, kernel_quantizer=quantizer,
                 kernel_initializer=initializer)
  assert _build(layer, (None, 784)) == []
  zeros = check_quantizer_collapse(layer, warn=False)[layer.name][
      "kernel"].zeros
  assert zeros < (0.8 if quantizer.alpha == 1 else 0.2), zeros


# --------------------------------------------------------------------------
# Collapsing layers warn at build.
# --------------------------------------------------------------------------
def test_tiny_weights_all_quantize_to_zero():
  quantizer = quantized_bits(4, 0, alpha=1)
  layer = QDense(8, kernel_quantizer=quantizer, kernel_initializer=TINY,
                 name="tiny")
  messages = _build(layer, (None, 32))
  assert len(messages) == 1
  message = messages[0]
  for part in ("QDense(name='tiny')", "100.0%", "initial",
               "weight 'kernel'", "quantize to zero", str(quantizer),
               "more bits", "alpha='auto_po2'", "larger initializer scale"):
    assert part in message, (part, message)


def test_large_weights_are_clipped():
  quantizer = quantized_bits(3, -2, alpha=1)
  layer = QConv2D(4, 3, kernel_quantizer=quantizer, kernel_initializer=LARGE,
                  name="big")
  messages = _build(layer, (None, 6, 6, 2))
  assert len(messages) == 1
  message = messages[0]
  for part in ("QConv2D(name='big')", "100.0%", "weight 'kernel'",
               "clipped", str(quantizer), "more integer bits",
               "smaller initializer scale"):
    assert part in message, (part, message)


def test_one_warning_per_layer_and_weight():
  """Depthwise and pointwise kernels collapse: two warnings, each naming
  its weight. The bias collapses too, but biases are not checked."""
  q = quantized_bits(4, 0, alpha=1)
  layer = QSeparableConv2D(4, 3, depthwise_quantizer=q, pointwise_quantizer=q,
                           bias_quantizer=q, depthwise_initializer=TINY,
                           pointwise_initializer=TINY, bias_initializer=TINY,
                           name="sep")
  messages = _build(layer, (None, 6, 6, 6))
  assert len(messages) == 2
  assert "'depthwise_kernel'" in messages[0]
  assert "'pointwise_kernel'" in messages[1]


def test_small_initial_tensors_are_not_reported_at_build():
  """Fewer than 16 initial weights: 15 tiny ones quantize to 0, no
  warning at build; the explicit check reports them."""
  layer = QDense(5, kernel_quantizer=quantized_bits(4, 0, alpha=1),
                 kernel_initializer=TINY, name="small")
  assert _build(layer, (None, 3)) == []
  with pytest.warns(QuantizerCollapseWarning, match="'small'.*100.0%"):
    check_quantizer_collapse(layer)


def test_large_tensors_are_sampled_at_build():
  """The build-time check quantizes about 4096 evenly spaced rows' worth
  of a large kernel (its cost does not grow with the layer), and still
  finds the collapse; the explicit check looks at every weight."""
  kernel = np.arange(4096 * 32, dtype="float32").reshape(4096, 32)
  sample = qlayers._build_sample(kernel, quantized_bits(4, 0, 1))  # pylint: disable=protected-access
  assert sample.shape == (128, 32)
  assert sample[0, 0] == 0 and sample[-1, -1] == kernel[-1, -1]
  assert len(np.unique(sample[:, 0])) == 128
  # Other scale axes, groups of scales, vectors, small tensors: all values.
  for quantizer, weight in [
      (quantized_bits(4, 0, 1, alpha="auto_po2", scale_axis=0), kernel),
      (quantized_bits(4, 0, 1, alpha="auto_po2", elements_per_scale=[4]),
       kernel),
      (quantized_bits(4, 0, 1), kernel.ravel()),
      (quantized_bits(4, 0, 1), kernel[:100])]:
    assert qlayers._build_sample(weight, quantizer) is weight  # pylint: disable=protected-access
  layer = QDense(32, kernel_quantizer=quantized_bits(4, 0, alpha=1),
                 kernel_initializer=TINY, name="wide")
  messages = _build(layer, (None, 4096))
  assert len(messages) == 1 and "'wide'" in messages[0]
  report = check_quantizer_collapse(layer, warn=False)
  assert report["wide"]["kernel"].size == 4096 * 32


def test_the_warning_names_the_users_line():
  with pytest.warns(QuantizerCollapseWarning) as record:
    QDense(4, kernel_quantizer=quantized_bits(4, 0, alpha=1),
           kernel_initializer=TINY)(keras.Input((4,)))
  ours = [w for w in record if w.category is QuantizerCollapseWarning]
  assert [w.filename for w in ours] == [__file__]


def test_a_collapse_warning_can_be_an_error():
  with warnings.catch_warnings():
    warnings.simplefilter("error", QuantizerCollapseWarning)
    with pytest.raises(QuantizerCollapseWarning, match="quantize to zero"):
      QDense(4, kernel_quantizer=quantized_bits(4, 0, alpha=1),
             kernel_initializer=TINY).build((None, 4))


def test_recurrent_cells_are_named_with_their_path():
  with pytest.warns(QuantizerCollapseWarning,
                    match=r"QSimpleRNNCell\(name='.*'\) at 'rnn/.*'.*"
                    "weight 'kernel'"):
    QSimpleRNN(4, kernel_quantizer=quantized_bits(4, 0, alpha=1),
               kernel_initializer=TINY, name="rnn")(keras.Input((3, 5)))


# --------------------------------------------------------------------------
# The fractions.
# --------------------------------------------------------------------------
def test_fractions_by_hand():
  # quantized_bits(4,0,1,alpha=1): step 1/8, limits +-0.875. Non-zero
  # weights: 5, of which 0.01 and -0.02 round to 0; at or beyond the limits:
  # 2.0 and -3.0 of 6 weights.
  weight = np.array([0.01, -0.02, 0.5, 2.0, -3.0, 0.0], "float32")
  fractions = qlayers.collapse_fractions(
      weight, quantized_bits(4, 0, 1, alpha=1))
  assert fractions.zeros == pytest.approx(2 / 5)
  assert fractions.clipped == pytest.approx(2 / 6)
  assert fractions.size == 6
  assert fractions.quantizer == "quantized_bits(4,0,1,alpha=1)"


def test_an_unsigned_quantizer_clips_only_at_its_top():
  # quantized_relu(4): step 1/16, top 15/16. -0.8 becomes 0 (a zero, not a
  # clip: 0 is the sign cut); 2.0 is clipped; 0.3 is kept.
  fractions = qlayers.collapse_fractions(
      np.array([0.3, -0.8, 2.0, 0.0], "float32"),
      qkeras.quantizers.get_quantizer("quantized_relu(4)"))
  assert fractions.zeros == pytest.approx(1 / 3)
  assert fractions.clipped == pytest.approx(1 / 4)
  # quantized_relu_po2(4) maps negatives to its smallest power of two.
  fractions = qlayers.collapse_fractions(
      np.array([-0.3, -0.8], "float32"),
      qkeras.quantizers.get_quantizer("quantized_relu_po2(4)"))
  assert (fractions.zeros, fractions.clipped) == (0.0, 0.0)


def test_constant_and_empty_tensors_are_not_checked():
  q = quantized_bits(4, 0, 1, alpha=1)
  assert qlayers.collapse_fractions(np.zeros((3, 2)), q) is None
  assert qlayers.collapse_fractions(np.full((4,), 1e-4), q) is None
  assert qlayers.collapse_fractions(np.zeros((0, 3)), q) is None


@pytest.mark.parametrize("quantizer", ["binary()", "ternary()",
                                       "quantized_bits(2,0,1,alpha=1)",
                                       "quantized_bits(1,0,1,alpha=1)",
                                       "quantized_bits(4,0,1,alpha='auto_po2')",
                                       "quantized_bits(4,0,1,alpha='auto')"])
def test_no_clip_fraction_without_fixed_limits(quantizer):
  weight = np.random.default_rng(0).normal(size=(64,))
  fractions = qlayers.collapse_fractions(
      weight, qkeras.quantizers.get_quantizer(quantizer))
  assert fractions.clipped is None


# 240 generated (quantizer, weights) pairs against the grid of
# quantized_bits(bits, integer, symmetric, alpha=1): step 2**(integer - bits
# + 1), levels k * step for k in [-(2**(bits-1)) + symmetric, 2**(bits-1)-1].
# With 2 bits no positive level lies below the top: no clip fraction.
GENERATED_CASES = 240


def test_fractions_match_the_grid_on_generated_cases():
  rng = np.random.default_rng(19)
  for _ in range(GENERATED_CASES):
    bits = int(rng.integers(2, 9))
    integer = int(rng.integers(-3, 4))
    symmetric = int(rng.integers(0, 2))
    scale = float(10.0 ** rng.uniform(-4, 1))
    # One shape: JAX compiles each eager op once per shape.
    weight = (rng.normal(size=128) * scale).astype("float32")
    step = 2.0 ** (integer - bits + 1)
    top = (2 ** (bits - 1) - 1) * step
    bottom = (-(2 ** (bits - 1)) + symmetric) * step
    # Ties (exactly half a step) are measure-zero: skip such draws.
    if np.any(np.isclose(np.abs(weight) / step % 1.0, 0.5, atol=1e-4)):
      continue
    nonzero = weight != 0
    zeros = np.sum(nonzero & (np.abs(weight) < step / 2)) / np.sum(nonzero)
    clipped = np.mean((weight >= top) | (weight <= bottom))
    quantizer = quantized_bits(bits, integer, symmetric, alpha=1)
    fractions = qlayers.collapse_fractions(weight, quantizer)
    case = (bits, integer, symmetric, scale)
    assert fractions.zeros == pytest.approx(zeros), case
    if bits == 2:  # no positive level below the top: ternary in effect
      assert fractions.clipped is None, case
    else:
      assert fractions.clipped == pytest.approx(clipped), case


# --------------------------------------------------------------------------
# The model check, the callback and print_qstats.
# --------------------------------------------------------------------------
def _model():
  keras.utils.set_random_seed(3)
  x = keras.Input((6,))
  y = QDense(5, kernel_quantizer=quantized_bits(4, 0, 1, alpha=1),
             bias_quantizer=quantized_bits(4, 0, 1, alpha=1), name="d1")(x)
  y = QDense(2, kernel_quantizer=Q4, name="d2")(y)
  return keras.Model(x, y)


def test_check_quantizer_collapse_returns_fractions_and_warns():
  model = _model()
  with _no_collapse_warning():
    report = check_quantizer_collapse(model)
  assert list(report) == ["d1", "d2"]
  assert list(report["d1"]) == ["kernel"]  # biases are not checked
  assert report["d2"]["kernel"].clipped is None  # alpha="auto_po2"
  layer = model.get_layer("d1")
  layer.set_weights([np.full((6, 5), 3.0) * np.sign(
      np.random.default_rng(0).normal(size=(6, 5))), np.full((5,), 1e-3)])
  with pytest.warns(QuantizerCollapseWarning) as record:
    report = check_quantizer_collapse(model)
  messages = _collapse_warnings(record)
  assert len(messages) == 1
  assert ("QDense(name='d1'): 100.0% of the current values of weight "
          "'kernel' are clipped") in messages[0]
  assert "initializer" not in messages[0]
  assert report["d1"]["kernel"].clipped == 1.0
  with _no_collapse_warning():
    assert check_quantizer_collapse(model, warn=False) == report


def test_check_quantizer_collapse_threshold():
  model = _model()
  model.get_layer("d1").set_weights([
      np.linspace(-0.2, 0.2, 30).reshape(6, 5), np.zeros(5)])
  # |w| < 1/16 quantizes to 0: 10 of the 30 (-0.2 + k * 0.4 / 29 for k in
  # 10..19; none is 0 exactly).
  zeros = check_quantizer_collapse(model, warn=False)["d1"]["kernel"].zeros
  assert zeros == pytest.approx(10 / 30)
  with pytest.warns(QuantizerCollapseWarning, match="33.3% of the non-zero"):
    check_quantizer_collapse(model, threshold=0.25)
  with pytest.raises(ValueError, match="threshold"):
    check_quantizer_collapse(model, threshold=1.5)


def test_nested_recurrent_folded_and_wrapped_layers_are_checked():
  q = quantized_bits(4, 0, 1, alpha=1)
  inner = keras.Sequential([keras.Input((4,)), QDense(3, kernel_quantizer=q,
                                                      name="inner")])
  x = keras.Input((3, 4))
  y = QBidirectional(QLSTM(2, kernel_quantizer=q, recurrent_quantizer=q),
                     name="bi")(x)
  z = L.TimeDistributed(QDense(2, kernel_quantizer=q), name="td")(x)
  w = QDenseBatchnorm(2, kernel_quantizer=q, name="fold")(L.Flatten()(x))
  v = inner(L.Flatten()(x)[:, :4])
  model = keras.Model(x, [y, z, w, v])
  report = check_quantizer_collapse(model, warn=False)
  paths = list(report)
  assert [p for p in paths if p.startswith("bi/")] and len(
      [p for p in paths if p.startswith("bi/")]) == 2
  assert {"kernel", "recurrent_kernel"} <= set(
      report[[p for p in paths if p.startswith("bi/forward")][0]])
  assert "fold" in report and "kernel" in report["fold"]
  assert [p for p in paths if p.endswith("/inner")]  # "sequential/inner"
  assert [p for p in paths if p.startswith("td/")]


def test_callback_warns_after_fit():
  model = _model()
  model.compile(keras.optimizers.SGD(0.0), "mse")
  model.get_layer("d1").set_weights([np.full((6, 5), 1e-3), np.zeros(5)])
  model.get_layer("d1").set_weights([
      np.random.default_rng(1).uniform(-1e-3, 1e-3, (6, 5)), np.zeros(5)])
  check = QuantizerCollapseCheck()
  x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
  with pytest.warns(QuantizerCollapseWarning,
                    match="QDense.name='d1'.: 100.0% of the non-zero trained "
                    "values of weight 'kernel' quantize to zero"):
    model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0,
              callbacks=[check])
  assert check.report["d1"]["kernel"].zeros == 1.0
  with pytest.raises(ValueError, match="threshold"):
    QuantizerCollapseCheck(threshold=-0.1)


def test_print_qstats_shows_the_fractions(capsys):
  model = _model()
  model.get_layer("d1").set_weights([
      np.linspace(-0.2, 0.2, 30).reshape(6, 5), np.zeros(5)])
  report = check_quantizer_collapse(model, warn=False)
  capsys.readouterr()
  with _no_collapse_warning():
    print_qstats(model)
  out = capsys.readouterr().out
  section = out[out.index("Weight quantization (zeros, clipped):"):]
  assert section.splitlines()[1:] == [
      f"    d1/kernel                      : "
      f"{report['d1']['kernel'].zeros:.4f}  "
      f"{report['d1']['kernel'].clipped:.4f}",
      f"    d2/kernel                      : "
      f"{report['d2']['kernel'].zeros:.4f}  -"]


# --------------------------------------------------------------------------
# Keras's own quantization.
# --------------------------------------------------------------------------
# "gptq" and "awq" need a config object, which Keras checks before it calls
# the layer's ``quantize``.
@pytest.mark.parametrize("mode", ["int8", "int4", "float8"])
@pytest.mark.parametrize("type_check", [True, False])
@pytest.mark.parametrize("kind", ["QDense", "QConv2D"])
def test_layer_quantize_is_refused(mode, type_check, kind):
  if kind == "QDense":
    layer = QDense(3, kernel_quantizer=Q4, name="qd")
    layer.build((None, 4))
  else:
    layer = QConv2D(3, 2, kernel_quantizer=Q4, name="qd")
    layer.build((None, 4, 4, 2))
  before = [np_out(w) for w in layer.weights]
  with pytest.raises(NotImplementedError,
                     match=rf"{kind}\(name='qd'\): Keras's quantize\('{mode}'"
                     r"\) is not supported on a Q-layer, which is already "
                     r"quantized by its quantizers \(quantized_bits"):
    layer.quantize(mode, type_check=type_check)
  assert layer.dtype_policy.quantization_mode is None
  assert [w.dtype for w in layer.weights] == ["float32"] * len(before)
  for old, new in zip(before, layer.weights):
    np.testing.assert_array_equal(old, np_out(new))


def test_model_quantize_skips_q_layers_with_a_warning():
  keras.utils.set_random_seed(4)
  x = keras.Input((4,))
  y = QDense(3, kernel_quantizer=Q4, name="qd")(x)
  y = L.Dense(2, name="plain")(y)
  model = keras.Model(x, y)
  data = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
  q_out = np_out(model.get_layer("qd")(data))
  with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter("always")
    model.quantize("int8")
  messages = [str(w.message) for w in record]
  assert any(m.startswith("QDense(name='qd'): Keras's quantize('int8') is "
                          "not supported") and "Model.quantize skips it" in m
             for m in messages), messages
  assert model.get_layer("plain").dtype_policy.quantization_mode == "int8"
  assert model.get_layer("qd").dtype_policy.quantization_mode is None
  np.testing.assert_array_equal(np_out(model.get_layer("qd")(data)), q_out)
  assert np.all(np.isfinite(np_out(model(data))))


def test_a_quantized_dtype_policy_is_refused():
  with pytest.raises(ValueError, match=r"QConv2D\(name='c'\): argument "
                     "'dtype'='int8_from_float32'"):
    QConv2D(2, 3, dtype="int8_from_float32", name="c")
  layer = QDense(3, kernel_quantizer=Q4, name="qd")
  layer.build((None, 4))
  with pytest.raises(NotImplementedError, match="quantize"):
    layer.dtype_policy = "int8_from_float32"
  assert layer.dtype_policy.name == "float32"


def test_the_names_are_exported():
  assert qkeras.QuantizerCollapseWarning is QuantizerCollapseWarning
  assert issubclass(QuantizerCollapseWarning, UserWarning)
  assert qkeras.check_quantizer_collapse is check_quantizer_collapse
  assert qkeras.estimate.check_quantizer_collapse is check_quantizer_collapse
  assert qkeras.callbacks.QuantizerCollapseCheck is QuantizerCollapseCheck
  namespace = {}
  exec("from qkeras import *", namespace)  # pylint: disable=exec-used
  assert {"QuantizerCollapseWarning", "check_quantizer_collapse"} <= set(
      namespace)


def test_check_leaves_the_quantizers_scale_as_it_was():
  """QTools reads an auto_po2 kernel quantizer's ``scale`` after a call:
  the build-time check and check_quantizer_collapse must not replace it."""
  weight = quantized_bits(4, 2, alpha="auto_po2")
  weight(np.array([[7.0, 1.75, 0.875], [-7.0, 1.75, -0.875]], np.float32))
  before = np.array(weight.scale)
  layer = QDense(3, kernel_quantizer=weight)
  layer.build((None, 40))  # 120 weights: checked at build
  np.testing.assert_array_equal(np.array(weight.scale), before)
  model = keras.Sequential([keras.Input((40,)), layer])
  qkeras.check_quantizer_collapse(model, warn=False)
  np.testing.assert_array_equal(np.array(weight.scale), before)
