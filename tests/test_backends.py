"""Every Keras backend: each Q-layer trains and saves, files cross backends.

The whole suite runs on TensorFlow, JAX and PyTorch (``KERAS_BACKEND``; see
tests/conftest.py). This module adds what only makes sense across backends:

* every Q-layer of ``from qkeras import *`` in a model that ``fit``s (with
  the backend's default compilation: XLA on JAX), ``evaluate``s,
  ``predict``s, trains in a custom loop, and round-trips a ``.keras`` file;
* stochastic quantizers draw new numbers at every compiled step and repeat
  with ``keras.utils.set_random_seed``;
* ``.keras`` files written on each backend (tests/data/backends, made by
  tests/backend_files.py) load here with bit-identical weights and
  predictions, and a file written here loads on the other installed
  backends in a fresh process;
* ``import qkeras`` (and every submodule) imports no TensorFlow on the other
  backends.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import keras
from keras import ops
import numpy as np
import pytest

import backend_files
from multibackend import BACKEND
from multibackend import np_out
from multibackend import tensor
from multibackend import variable_gradients
import qkeras as q
from qkeras import quantizers as Q

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F32 = np.float32
K4 = "quantized_bits(4,0,1)"
B4 = "quantized_bits(4,2,1)"
SR = Q.quantized_relu(4, 2, use_stochastic_rounding=True)


def _installed(backend):
  module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
  return importlib.util.find_spec(module[backend]) is not None


# --------------------------------------------------------------------------
# Every Q-layer: fit, evaluate, predict, custom loop, .keras round trip.
# --------------------------------------------------------------------------
def _image(layer):
  return (8, 8, 3), layer


def _flat(layer):
  return (6,), layer


def _sequence(layer):
  return (5, 3), layer


LAYERS = {
    "QDense": lambda: _flat(q.QDense(
        4, kernel_quantizer="stochastic_ternary", bias_quantizer=B4,
        activation=SR)),
    "QConv1D": lambda: _sequence(q.QConv1D(
        4, 2, kernel_quantizer=K4, bias_quantizer=B4,
        activation="quantized_relu(4,2)")),
    "QConv2D": lambda: _image(q.QConv2D(
        4, 3, kernel_quantizer="stochastic_binary", bias_quantizer=B4)),
    "QConv2DTranspose": lambda: _image(q.QConv2DTranspose(
        2, 2, strides=2, kernel_quantizer=K4, bias_quantizer=B4)),
    "QDepthwiseConv2D": lambda: _image(q.QDepthwiseConv2D(
        3, depthwise_quantizer=K4, bias_quantizer=B4,
        activation="quantized_po2(4)")),
    "QSeparableConv1D": lambda: _sequence(q.QSeparableConv1D(
        4, 2, depthwise_quantizer=K4, pointwise_quantizer="ternary",
        bias_quantizer=B4)),
    "QSeparableConv2D": lambda: _image(q.QSeparableConv2D(
        4, 3, depthwise_quantizer=K4, pointwise_quantizer=K4,
        depthwise_activation="quantized_bits(6,2,1)", bias_quantizer=B4)),
    "QDepthwiseConv2DTranspose": lambda: _image(q.QDepthwiseConv2DTranspose(
        3, 2, strides=2, depthwise_kernel_quantizer=K4, bias_quantizer=B4)),
    "QSeparableConv2DTranspose": lambda: _image(q.QSeparableConv2DTranspose(
        4, 2, strides=2, depthwise_kernel_quantizer=K4,
        pointwise_kernel_quantizer=K4, bias_quantizer=B4)),
    "QConv2DBatchnorm": lambda: _image(q.QConv2DBatchnorm(
        4, 3, kernel_quantizer=K4, bias_quantizer="quantized_bits(8,3,1)",
        ema_freeze_delay=2)),
    "QDepthwiseConv2DBatchnorm": lambda: _image(q.QDepthwiseConv2DBatchnorm(
        3, depthwise_quantizer=K4, bias_quantizer="quantized_bits(8,3,1)",
        folding_mode="batch_stats_folding")),
    "QDenseBatchnorm": lambda: _flat(q.QDenseBatchnorm(
        4, kernel_quantizer=K4, bias_quantizer="quantized_bits(8,3,1)")),
    "QBatchNormalization": lambda: _image(q.QBatchNormalization()),
    "QAveragePooling2D": lambda: _image(q.QAveragePooling2D(
        2, average_quantizer="quantized_bits(8,0,1)",
        activation="quantized_bits(8,3,1)")),
    "QGlobalAveragePooling2D": lambda: _image(q.QGlobalAveragePooling2D(
        average_quantizer="quantized_bits(8,0,1)")),
    "QActivation": lambda: _flat(q.QActivation(SR)),
    "QActivation(po2)": lambda: _flat(q.QActivation(
        Q.quantized_po2(4, quadratic_approximation=True))),
    "QAdaptiveActivation": lambda: _flat(q.QAdaptiveActivation(
        "quantized_bits", 6, ema_freeze_delay=3)),
    "QScaleShift": lambda: _flat(q.QScaleShift(
        weight_quantizer=K4, bias_quantizer=K4)),
    "QSimpleRNN": lambda: _sequence(q.QSimpleRNN(
        4, kernel_quantizer=K4, recurrent_quantizer=K4, bias_quantizer=B4,
        state_quantizer="quantized_bits(8,2,1)", dropout=0.2)),
    "QLSTM": lambda: _sequence(q.QLSTM(
        4, kernel_quantizer=K4, recurrent_quantizer=K4, bias_quantizer=B4,
        state_quantizer="quantized_bits(8,2,1)",
        activation="quantized_tanh(6)")),
    "QGRU": lambda: _sequence(q.QGRU(
        4, kernel_quantizer=K4, recurrent_quantizer=K4, bias_quantizer=B4,
        activation="quantized_tanh(6)", reset_after=True)),
    "QBidirectional": lambda: _sequence(q.QBidirectional(q.QLSTM(
        3, kernel_quantizer=K4, recurrent_quantizer=K4, bias_quantizer=B4))),
}


def _model(name):
  keras.utils.set_random_seed(1)
  shape, layer = LAYERS[name]()
  inp = keras.Input(shape)
  x = layer(inp)
  x = keras.layers.Flatten()(x) if len(x.shape) > 2 else x
  out = q.QDense(2, kernel_quantizer="quantized_bits(6,0,1)")(x)
  model = keras.Model(inp, out)
  rng = np.random.RandomState(2)
  data = rng.uniform(-1, 1, (16,) + shape).astype(F32)
  target = rng.uniform(-1, 1, (16, 2)).astype(F32)
  return model, data, target


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_fits_predicts_and_round_trips(name, tmp_path):
  model, x, y = _model(name)
  model.compile(keras.optimizers.Adam(0.01), "mse")
  before = [np_out(w) for w in model.trainable_weights]
  history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
  assert np.all(np.isfinite(history.history["loss"]))
  after = [np_out(w) for w in model.trainable_weights]
  assert any(not np.array_equal(a, b) for a, b in zip(before, after))
  loss = model.evaluate(x, y, verbose=0)
  assert np.isfinite(loss)
  predicted = model.predict(x, verbose=0)
  np.testing.assert_array_equal(predicted, model.predict(x, verbose=0))
  np.testing.assert_allclose(np_out(model(x)), predicted, rtol=1e-5,
                             atol=1e-5)
  path = str(tmp_path / "m.keras")
  model.save(path)
  loaded = keras.models.load_model(path)
  for a, b in zip(model.weights, loaded.weights):
    np.testing.assert_array_equal(np_out(a), np_out(b), err_msg=a.path)
  np.testing.assert_array_equal(loaded.predict(x, verbose=0), predicted)


@pytest.mark.parametrize("name", ["QDense", "QConv2DBatchnorm",
                                  "QBatchNormalization", "QLSTM",
                                  "QAdaptiveActivation"])
def test_layer_trains_in_a_custom_loop(name):
  """Gradients of the backend (GradientTape / jax.grad / autograd) reach
  every trainable weight through the straight-through estimators."""
  model, x, y = _model(name)
  optimizer = keras.optimizers.SGD(0.1)
  variables = model.trainable_weights
  x, y = tensor(x), tensor(y)
  grads = variable_gradients(
      lambda: ops.mean((model(x, training=True) - y)**2), variables)
  assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
  assert any(np.any(g != 0) for g in grads)
  before = [np_out(v) for v in variables]
  optimizer.apply([tensor(g) for g in grads], variables)
  assert any(not np.array_equal(np_out(v), b)
             for v, b in zip(variables, before))


# --------------------------------------------------------------------------
# Randomness: new draws at every compiled step, repeatable with a seed.
# --------------------------------------------------------------------------
def _stochastic_fit(seed):
  keras.utils.set_random_seed(seed)
  inp = keras.Input((32,))
  out = q.QActivation(Q.quantized_relu(4, 0, use_stochastic_rounding=True))(
      inp)
  model = keras.Model(inp, out)
  model.compile(keras.optimizers.SGD(0.0), "mse")
  x = np.full((64, 32), 0.3, F32)
  history = model.fit(x, np.zeros_like(x), batch_size=64, epochs=4,
                      verbose=0)
  return history.history["loss"]


def test_stochastic_quantizers_draw_anew_at_every_compiled_step():
  losses = _stochastic_fit(3)
  assert len(set(losses)) == len(losses), losses  # not frozen by the jit
  assert _stochastic_fit(3) == losses  # set_random_seed repeats them
  assert _stochastic_fit(4) != losses


def test_quantizer_state_is_layer_state_not_weights():
  layer = q.QDense(3, kernel_quantizer="stochastic_ternary",
                   activation=SR)
  layer.build((None, 4))
  seeds = [v for v in layer.variables if "seed" in v.path]
  assert len(seeds) == 2  # the kernel quantizer's and the activation's
  assert all(not v.trainable for v in seeds)
  assert all(id(v) not in {id(w) for w in layer.weights} for v in seeds)
  assert len(layer.weights) == 2


@pytest.mark.skipif(BACKEND != "jax", reason="JAX's stateless training")
def test_jax_stateless_call_carries_the_quantizers_seeds():
  """The JAX custom-loop idiom: ``stateless_call`` under ``jax.jit`` with
  ``model.non_trainable_variables`` (which hold the quantizers' seeds)."""
  import jax  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(5)
  inp = keras.Input((64,))
  out = q.QActivation(Q.quantized_relu(4, 0, use_stochastic_rounding=True))(
      q.QDense(64, kernel_quantizer="stochastic_ternary")(inp))
  model = keras.Model(inp, out)
  trainable = [v.value for v in model.trainable_variables]
  state = [v.value for v in model.non_trainable_variables]
  assert len(state) == 2  # the two quantizers' seed generators

  @jax.jit
  def step(trainable, state, x):
    return model.stateless_call(trainable, state, x, training=True)

  x = np.full((8, 64), 0.3, F32)
  y1, state1 = step(trainable, state, x)
  y2, state2 = step(trainable, state1, x)
  assert not np.array_equal(np_out(y1), np_out(y2))
  assert all(not np.array_equal(a, b) for a, b in zip(state1, state2))
  y1_again, _ = step(trainable, state, x)
  np.testing.assert_array_equal(np_out(y1_again), np_out(y1))


# --------------------------------------------------------------------------
# Files across backends.
# --------------------------------------------------------------------------
@pytest.mark.parametrize("saved_on", backend_files.BACKENDS)
def test_keras_file_saved_on_each_backend_loads_here(saved_on):
  path = os.path.join(backend_files.DATA, saved_on + ".keras")
  data = np.load(os.path.join(backend_files.DATA, saved_on + ".npz"))
  model = keras.models.load_model(path)  # safe_mode, no custom_objects
  values = backend_files.weight_values(model)
  assert len(values) == len([k for k in data.files if k.startswith("w_")])
  for i, value in enumerate(values):
    np.testing.assert_array_equal(value, data[f"w_{i}"],
                                  err_msg=model.weights[i].path)
  x = {"image": data["image"], "sequence": data["sequence"]}
  np.testing.assert_array_equal(model.predict(x, verbose=0), data["y"])


def test_backends_compute_the_file_model_alike():
  """The recorded predictions of the three backends are the same numbers."""
  ys = [np.load(os.path.join(backend_files.DATA, b + ".npz"))["y"]
        for b in backend_files.BACKENDS]
  for y in ys[1:]:
    np.testing.assert_array_equal(y, ys[0])
  assert len(np.unique(ys[0])) > 8  # not a degenerate model


_LOAD_ELSEWHERE = textwrap.dedent("""
    import sys
    import numpy as np
    import keras
    import qkeras  # no custom_objects below
    model = keras.models.load_model(sys.argv[1])
    data = np.load(sys.argv[2])
    y = model.predict({"image": data["image"], "sequence": data["sequence"]},
                      verbose=0)
    np.save(sys.argv[3], y)
    print(keras.backend.backend())
""")


@pytest.mark.parametrize("other", [b for b in backend_files.BACKENDS
                                   if b != BACKEND])
def test_keras_file_written_here_loads_on_the_other_backends(other, tmp_path):
  if not _installed(other):
    pytest.skip(f"{other} is not installed here (CI runs it in the backend "
                "environment)")
  model = backend_files.build_model()
  x = backend_files.inputs()
  y = model.predict(x, verbose=0)
  path = str(tmp_path / "m.keras")
  model.save(path)
  np.savez(str(tmp_path / "x.npz"), **x)
  env = dict(os.environ, KERAS_BACKEND=other, PYTHONPATH=ROOT,
             TF_CPP_MIN_LOG_LEVEL="3")
  out = subprocess.run(
      [sys.executable, "-c", _LOAD_ELSEWHERE, path, str(tmp_path / "x.npz"),
       str(tmp_path / "y.npy")], env=env, capture_output=True, text=True,
      check=False, timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  assert out.stdout.strip().splitlines()[-1] == other
  np.testing.assert_array_equal(np.load(str(tmp_path / "y.npy")), y)


# --------------------------------------------------------------------------
# No TensorFlow on the other backends.
# --------------------------------------------------------------------------
_IMPORTS = textwrap.dedent("""
    import json, sys
    import keras
    import qkeras
    from qkeras import *  # noqa
    import qkeras.autoqkeras, qkeras.callbacks, qkeras.codebook
    import qkeras.estimate, qkeras.qtools, qkeras.utils, qkeras.b2t
    import qkeras.bn_folding_utils  # noqa
    print(json.dumps({"backend": keras.backend.backend(),
                      "tensorflow": sorted(m for m in sys.modules
                                           if m.split(".")[0] in
                                           ("tensorflow", "tf_keras"))}))
""")


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_import_without_tensorflow(backend):
  if not _installed(backend):
    pytest.skip(f"{backend} is not installed here")
  env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=ROOT)
  out = subprocess.run([sys.executable, "-c", _IMPORTS], env=env,
                       capture_output=True, text=True, check=False,
                       timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result == {"backend": backend, "tensorflow": []}


def test_readme_install_without_tensorflow_lists_the_requirements():
  """README "Backends" names every requirement of setup.py but TensorFlow."""
  import re  # pylint: disable=g-import-not-at-top
  with open(os.path.join(ROOT, "setup.py")) as f:
    setup = f.read()
  block = setup[setup.index("install_requires=["):]
  block = re.sub(r"#.*", "", block[:block.index("]")])
  required = {re.split(r"[<>=\[]", name)[0]
              for name in re.findall(r'"([^"]+)"', block)}
  with open(os.path.join(ROOT, "README.md")) as f:
    readme = f.read()
  line = next(l for l in readme.splitlines()
              if l.startswith("| JAX or PyTorch without TensorFlow"))
  command = line.split("`")[1]
  listed = set(command.split()[4:])
  assert required - {"tensorflow"} <= listed, (required, listed)
  assert "tensorflow" not in listed
