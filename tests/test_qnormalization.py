"""qkeras.qnormalization.QBatchNormalization."""

import json

import keras
import numpy as np
import pytest
from multibackend import np_out
from qkeras.qnormalization import QBatchNormalization
from qkeras.quantizers import get_quantizer

F32 = np.float32


def _built(layer, shape=(4, 4, 3), seed=0):
  inp = keras.Input(shape)
  keras.Model(inp, layer(inp))
  rng = np.random.RandomState(seed)
  weights = []
  for w in layer.weights:
    if "variance" in w.path or "gamma" in w.path:
      weights.append(rng.uniform(0.5, 2.0, w.shape).astype(F32))
    else:
      weights.append(rng.normal(size=w.shape).astype(F32) * 0.5)
  layer.set_weights(weights)
  return layer


def _expected(layer, x, mean, var):
  qs = {n: get_quantizer(layer.get_config()[n]) for n in (
      "gamma_quantizer", "beta_quantizer", "mean_quantizer",
      "variance_quantizer")}
  gamma, beta = np_out(layer.gamma), np_out(layer.beta)
  inv = 1.0 / np.sqrt(np_out(qs["variance_quantizer"](var)) + 1e-3)
  inv = (inv * np_out(qs["gamma_quantizer"](gamma))).astype(F32)
  offset = np_out(qs["beta_quantizer"](beta)) - np_out(
      qs["mean_quantizer"](mean)) * inv
  return x * inv + offset


def test_inference_uses_quantized_moving_statistics():
  layer = _built(QBatchNormalization())
  x = np.random.RandomState(1).normal(size=(2, 4, 4, 3)).astype(F32)
  y = np_out(layer(x, training=False))
  expected = _expected(layer, x, np_out(layer.moving_mean),
                       np_out(layer.moving_variance))
  np.testing.assert_allclose(y, expected, rtol=2e-6, atol=2e-6)
  assert [w.path.split("/")[-1] for w in layer.weights] == [
      "gamma", "beta", "moving_mean", "moving_variance"]
  assert layer.get_quantizers()[0] is layer.gamma_quantizer_internal


def test_training_normalises_with_quantized_batch_stats():
  layer = _built(QBatchNormalization(momentum=0.5))
  x = np.random.RandomState(2).normal(size=(8, 4, 4, 3)).astype(F32) * 2 + 1
  before = np_out(layer.moving_mean)
  y = np_out(layer(x, training=True))
  mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
  np.testing.assert_allclose(y, _expected(layer, x, mean, var), rtol=1e-4,
                             atol=1e-4)
  # Moving averages follow the *unquantized* batch statistics.
  np.testing.assert_allclose(np_out(layer.moving_mean),
                             0.5 * before + 0.5 * mean, rtol=1e-5)


def test_no_quantizers_equals_keras_batch_normalization():
  layer = _built(QBatchNormalization(beta_quantizer=None, gamma_quantizer=None,
                                     mean_quantizer=None,
                                     variance_quantizer=None))
  ref = keras.layers.BatchNormalization()
  inp = keras.Input((4, 4, 3))
  keras.Model(inp, ref(inp))
  ref.set_weights(layer.get_weights())
  x = np.random.RandomState(3).normal(size=(2, 4, 4, 3)).astype(F32)
  np.testing.assert_allclose(np_out(layer(x)), np_out(ref(x)),
                             rtol=1e-6, atol=1e-6)


def test_activation_and_inverse_quantizer():
  layer = _built(QBatchNormalization(
      gamma_quantizer=None, variance_quantizer=None,
      inverse_quantizer="quantized_po2(6)", activation="quantized_relu(4,1)"))
  x = np.random.RandomState(4).normal(size=(2, 4, 4, 3)).astype(F32)
  y = np_out(layer(x))
  assert y.min() >= 0 and len(np.unique(y)) <= 16


def test_config_round_trip_and_legacy_arguments():
  layer = QBatchNormalization(axis=[3], fused=False, name="bn",
                              gamma_quantizer="quantized_relu_po2(6, 2048)")
  assert layer.axis == 3
  config = layer.get_config()
  json.dumps(config)
  for key in ("axis", "momentum", "epsilon", "center", "scale",
              "beta_quantizer", "gamma_quantizer", "mean_quantizer",
              "variance_quantizer", "inverse_quantizer", "beta_range",
              "gamma_range", "gamma_constraint"):
    assert key in config, key
  assert config["variance_quantizer"]["config"]["quadratic_approximation"]
  clone = QBatchNormalization.from_config(config)
  assert clone.get_config() == config
  assert QBatchNormalization.__module__ == "qkeras.qnormalization"


def test_bad_arguments():
  with pytest.raises(ValueError, match="'inverse_quantizer' needs"):
    QBatchNormalization(inverse_quantizer="quantized_po2(4)")
  with pytest.raises(ValueError, match="'axis'"):
    QBatchNormalization(axis=[1, 2])
  with pytest.raises(ValueError, match="'mean_quantizer'"):
    QBatchNormalization(mean_quantizer="quantized_po2(")


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_integer_inputs_are_cast_like_keras(dtype):
  # Issue 19: Keras's BatchNormalization accepts integer inputs.
  x = np.arange(24).reshape(2, 4, 3).astype(dtype)
  layer = QBatchNormalization(gamma_quantizer=None, variance_quantizer=None,
                              beta_quantizer=None, mean_quantizer=None)
  reference = keras.layers.BatchNormalization()
  y, expected = np_out(layer(x)), np_out(reference(x))
  assert y.dtype == expected.dtype == np.float32
  np.testing.assert_allclose(y, expected, rtol=1e-6)
  assert np.all(np.isfinite(np_out(QBatchNormalization()(x))))
