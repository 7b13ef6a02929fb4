"""qkeras.qseparable_conv2d_transpose.QSeparableConv2DTranspose."""

import json

import keras
from keras import ops
import numpy as np

import keras2_files
from multibackend import np_out

from qkeras.qseparable_conv2d_transpose import QSeparableConv2DTranspose
from qkeras.quantizers import quantized_bits

F32 = np.float32


def test_depthwise_then_pointwise():
  layer = QSeparableConv2DTranspose(
      2, (2, 2), strides=(2, 2),
      depthwise_kernel_quantizer="quantized_bits(4,2,1,alpha=1)",
      pointwise_kernel_quantizer="quantized_bits(4,2,1,alpha=1)",
      bias_quantizer="quantized_bits(5,3,1,alpha=1)",
      depthwise_activation="quantized_bits(6,3,1)", name="st")
  inp = keras.Input((3, 3, 3))
  keras.Model(inp, layer(inp))
  assert [w.path for w in layer.weights] == [
      "st/depthwise_kernel", "st/pointwise_kernel", "st/bias"]
  assert layer.depthwise_kernel.shape == (2, 2, 1, 3)
  assert layer.pointwise_kernel.shape == (1, 1, 2, 3)
  rng = np.random.RandomState(0)
  weights = [rng.normal(size=w.shape).astype(F32) for w in layer.weights]
  layer.set_weights(weights)
  x = (np.round(rng.normal(size=(1, 3, 3, 3)) * 4) / 4).astype(F32)
  q = quantized_bits(4, 2, 1, alpha=1)
  dw, pw = np_out(q(weights[0])), np_out(q(weights[1]))
  depthwise = np.concatenate([
      np_out(ops.conv_transpose(x[..., c:c + 1], dw[..., c:c + 1], 2,
                                    "valid")) for c in range(3)], -1)
  mid = quantized_bits(6, 3, 1)(depthwise)
  expected = np_out(ops.conv_transpose(mid, pw, 1, "valid")) + np_out(
      quantized_bits(5, 3, 1, alpha=1)(weights[2]))
  np.testing.assert_array_equal(np_out(layer(x)), expected)
  assert tuple(layer.compute_output_shape((1, 3, 3, 3))) == (1, 6, 6, 2)
  config = layer.get_config()
  json.dumps(config)
  clone = QSeparableConv2DTranspose.from_config(config)
  assert str(clone.depthwise_activation) == "quantized_bits(6,3,1)"
  assert len(layer.get_quantizers()) == 5


def _layer():
  return QSeparableConv2DTranspose(
      2, (2, 2), strides=(2, 2),
      depthwise_kernel_quantizer="quantized_bits(4,2,1,alpha=1)",
      pointwise_kernel_quantizer="quantized_bits(4,2,1,alpha=1)",
      bias_quantizer="quantized_bits(5,3,1,alpha=1)", name="st")


def _qkeras09_weights(rng):
  """QKeras 0.9's weight list for filters 2, kernel (2, 2), 3 channels
  (reference 3.4): depthwise ``(2, 2, 1, 3)``, pointwise ``(1, 1, 2, 3)``,
  bias ``(2,)``."""
  return [rng.normal(size=(2, 2, 1, 3)).astype(F32),
          rng.normal(size=(1, 1, 2, 3)).astype(F32),
          rng.normal(size=(2,)).astype(F32)]


def _reference(x, weights):
  q = quantized_bits(4, 2, 1, alpha=1)
  dw, pw = np_out(q(weights[0])), np_out(q(weights[1]))
  depthwise = np.concatenate([
      np_out(ops.conv_transpose(x[..., c:c + 1], dw[..., c:c + 1], 2,
                                "valid")) for c in range(3)], -1)
  return np_out(ops.conv_transpose(depthwise, pw, 1, "valid")) + np_out(
      quantized_bits(5, 3, 1, alpha=1)(weights[2]))


def test_set_weights_accepts_the_qkeras09_layout():
  rng = np.random.RandomState(5)
  layer = _layer()
  inp = keras.Input((3, 3, 3))
  keras.Model(inp, layer(inp))
  weights = _qkeras09_weights(rng)
  layer.set_weights(weights)
  for got, expected in zip(layer.get_weights(), weights):
    np.testing.assert_array_equal(got, expected)
  x = (np.round(rng.normal(size=(1, 3, 3, 3)) * 4) / 4).astype(F32)
  np.testing.assert_array_equal(np_out(layer(x)), _reference(x, weights))


def _write_qkeras09_h5(path, weights):
  """A model file as QKeras 0.9 (Keras 2.12) writes it: Input(3, 3, 3) ->
  QSeparableConv2DTranspose(2, (2, 2), strides 2) with ``weights``."""
  config = keras2_files.conv2d_transpose_config(
      "st", 2, (2, 2), (2, 2), "valid", depth_multiplier=1,
      depthwise_kernel_quantizer=keras2_files.quantizer(4, 2),
      pointwise_kernel_quantizer=keras2_files.quantizer(4, 2),
      bias_quantizer=keras2_files.quantizer(5, 3))
  names = ["st/depthwise_kernel:0", "st/pointwise_kernel:0", "st/bias:0"]
  keras2_files.write_one_layer_model(
      path, "QSeparableConv2DTranspose", config, (3, 3, 3),
      list(zip(names, weights)))


def test_load_qmodel_reads_qkeras09_h5_files(tmp_path):
  # Keras 2's config has ``groups``, which Keras 3's Conv2DTranspose rejects.
  from qkeras.utils import load_qmodel  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(6)
  weights = _qkeras09_weights(rng)
  path = str(tmp_path / "qkeras09_st.h5")
  _write_qkeras09_h5(path, weights)
  for model in (load_qmodel(path, compile=False),
                keras.models.load_model(path, compile=False)):
    layer = model.get_layer("st")
    assert isinstance(layer, QSeparableConv2DTranspose)
    for got, expected in zip(layer.get_weights(), weights):
      np.testing.assert_array_equal(got, expected)
    x = (np.round(rng.normal(size=(2, 3, 3, 3)) * 4) / 4).astype(F32)
    np.testing.assert_array_equal(model.predict(x, verbose=0),
                                  _reference(x, weights))
