"""qkeras/_inference_cache.py: quantized weights kept between inference
calls (TensorFlow graphs) are always those of the current weights."""

import keras
import numpy as np
import pytest

from multibackend import TENSORFLOW
from qkeras import _inference_cache
from qkeras import QActivation
from qkeras import QDense
from qkeras import binary
from qkeras import quantized_bits
from qkeras.qrecurrent import QLSTM

F32 = np.float32


def _model(kernel=None, seed=0):
  keras.utils.set_random_seed(seed)
  inp = keras.Input((16,))
  x = QDense(24, kernel_quantizer=kernel or quantized_bits(6, 0, 1),
             bias_quantizer=quantized_bits(6, 0, 1))(inp)
  x = QActivation("quantized_relu(4)")(x)
  out = QDense(5, kernel_quantizer=kernel or quantized_bits(4, 0, 1))(x)
  model = keras.Model(inp, out)
  model.compile(keras.optimizers.Adam(0.01), "mse")
  return model


def _data(seed=0):
  rng = np.random.RandomState(seed)
  return rng.randn(64, 16).astype(F32), rng.randn(64, 5).astype(F32)


def _entries(model):
  return sum(len(layer.__dict__.get(_inference_cache._ATTRIBUTE, {}))  # pylint: disable=protected-access
             for layer in model.layers)


def _check(model, x):
  """predict (cached weights on TensorFlow) == an eager call (quantizing)."""
  got = model.predict(x, verbose=0)
  np.testing.assert_array_equal(got, keras.ops.convert_to_numpy(model(x)))
  return got


def test_predict_follows_every_weight_change():
  model = _model()
  x, y = _data()
  first = _check(model, x)
  if TENSORFLOW:
    assert _entries(model) == 2  # both auto_po2 kernels, not the biases
  model.fit(x, y, epochs=2, batch_size=16, verbose=0)
  trained = _check(model, x)
  assert not np.array_equal(first, trained)
  weights = model.get_weights()
  model.set_weights([w * 0.5 for w in weights])
  _check(model, x)
  model.layers[1].kernel.assign(weights[0])  # one variable, directly
  _check(model, x)
  model.set_weights(weights)
  np.testing.assert_array_equal(_check(model, x), trained)
  model.evaluate(x, y, verbose=0)
  _check(model, x)


def test_one_element_and_the_sign_of_zero():
  """A single changed element, and +0.0 -> -0.0, are seen (bit patterns)."""
  model = _model()
  x, _ = _data(1)
  _check(model, x)
  kernel = model.layers[1].kernel
  w = keras.ops.convert_to_numpy(kernel).copy()
  w[3, 2] = np.nextafter(w[3, 2], F32(np.inf))
  kernel.assign(w)
  _check(model, x)
  w[:, 0] = 0.0
  kernel.assign(w)
  _check(model, x)
  w[:, 0] = -0.0
  kernel.assign(w)
  _check(model, x)
  w[0, 0] = np.nan
  kernel.assign(w)
  for _ in range(2):
    got = model.predict(x, verbose=0)
    np.testing.assert_array_equal(got, keras.ops.convert_to_numpy(model(x)))


def test_first_call_with_zero_weights():
  """A weight that equals the cache's initial contents (zeros) on the first
  call is still quantized: binary maps 0 to +scale, not 0."""
  inp = keras.Input((16,))
  model = keras.Model(inp, QDense(4, kernel_quantizer=binary(
      alpha="auto_po2"), use_bias=False)(inp))
  model.layers[1].kernel.assign(np.zeros((16, 4), F32))
  x, _ = _data(6)
  got = _check(model, x)
  assert np.all(got != 0)
  if TENSORFLOW:
    assert _entries(model) == 1


def test_weights_files_and_export_are_unchanged(tmp_path):
  model = _model()
  x, _ = _data(2)
  want = _check(model, x)
  assert len(model.get_weights()) == 4
  assert len(model.weights) == 4
  path = str(tmp_path / "m.keras")
  model.save(path)
  loaded = keras.models.load_model(path)
  np.testing.assert_array_equal(loaded.predict(x, verbose=0), want)
  h5 = str(tmp_path / "m.weights.h5")
  model.save_weights(h5)
  other = _model(seed=5)
  other.load_weights(h5)
  np.testing.assert_array_equal(other.predict(x, verbose=0), want)
  if TENSORFLOW:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    model.export(str(tmp_path / "saved"), verbose=False)
    restored = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_array_equal(restored.serve(x).numpy(), want)


@pytest.mark.skipif(not TENSORFLOW, reason="TensorFlow's XLA predict (the "
                    "cache is TensorFlow's; torch.compile fuses float ops)")
def test_xla_predict_uses_the_same_values():
  model = _model()
  x, y = _data(3)
  want = _check(model, x)
  compiled = keras.Model(model.inputs, model.outputs)
  compiled.compile("adam", "mse", jit_compile=True)
  np.testing.assert_array_equal(compiled.predict(x, verbose=0), want)
  model.fit(x, y, epochs=1, verbose=0)
  np.testing.assert_array_equal(compiled.predict(x, verbose=0),
                                _check(model, x))


@pytest.mark.parametrize("kernel", [
    quantized_bits(6, 0, 1, alpha=1),   # fixed scale: cheap already
    quantized_bits(6, 0, 1, alpha="auto_po2", use_stochastic_rounding=True),
])
def test_not_cached(kernel):
  model = _model(kernel=kernel)
  x, _ = _data(4)
  model.predict(x, verbose=0)
  assert _entries(model) == 0


def test_environment_switch(monkeypatch):
  monkeypatch.setenv("QKERAS_INFERENCE_CACHE", "0")
  model = _model()
  x, _ = _data(5)
  _check(model, x)
  assert _entries(model) == 0


def test_recurrent_layers():
  keras.utils.set_random_seed(1)
  inp = keras.Input((6, 4))
  out = QLSTM(8, kernel_quantizer=quantized_bits(6, 0, 1),
              recurrent_quantizer=quantized_bits(6, 0, 1),
              bias_quantizer=quantized_bits(6, 0, 1))(inp)
  model = keras.Model(inp, out)
  model.compile("adam", "mse")
  x = np.random.RandomState(0).randn(8, 6, 4).astype(F32)
  _check(model, x)
  if TENSORFLOW:
    cell = model.layers[1].cell  # its kernel and recurrent kernel
    assert len(cell.__dict__[_inference_cache._ATTRIBUTE]) == 2  # pylint: disable=protected-access
  model.fit(x, np.zeros((8, 8), F32), epochs=1, verbose=0)
  _check(model, x)
