"""qkeras.qdepthwise_conv2d_transpose.QDepthwiseConv2DTranspose."""

import json

import keras
from keras import ops
import numpy as np
import pytest
import keras2_files
from multibackend import np_out
from qkeras.qdepthwise_conv2d_transpose import QDepthwiseConv2DTranspose
from qkeras.quantizers import quantized_bits

F32 = np.float32


def _build(layer, shape):
  inp = keras.Input(shape)
  keras.Model(inp, layer(inp))
  return layer


def test_groups_of_channels_and_shapes():
  layer = _build(QDepthwiseConv2DTranspose(
      3, (3, 3), group_size=1, strides=(2, 2), padding="same",
      depthwise_kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
      bias_quantizer="quantized_bits(4,0,1,alpha=1)", name="dt"), (4, 4, 3))
  assert [w.path for w in layer.weights] == ["dt/depthwise_kernel", "dt/bias"]
  assert layer.depthwise_kernel.shape == (3, 3, 3, 1)
  rng = np.random.RandomState(0)
  kernel = rng.normal(size=(3, 3, 3, 1)).astype(F32)
  bias = rng.normal(size=3).astype(F32)
  layer.set_weights([kernel, bias])
  x = (np.round(rng.normal(size=(2, 4, 4, 3)) * 8) / 8).astype(F32)
  y = np_out(layer(x))
  assert y.shape == (2, 8, 8, 3)
  q = quantized_bits(4, 0, 1, alpha=1)
  qk, qb = np_out(q(kernel)), np_out(q(bias))
  for c in range(3):
    expected = ops.conv_transpose(x[..., c:c + 1], qk[:, :, c:c + 1, :], 2,
                                  "same")
    np.testing.assert_array_equal(y[..., c:c + 1],
                                  np_out(expected) + qb[c])


def test_group_size_and_activation():
  layer = _build(QDepthwiseConv2DTranspose(
      6, (2, 2), group_size=3, depthwise_activation="quantized_bits(10,6,1)"),
                 (3, 3, 6))
  assert layer.depthwise_kernel.shape == (2, 2, 6, 3)
  y = layer(np.ones((1, 3, 3, 6), F32))
  assert y.shape == (1, 4, 4, 6)
  config = layer.get_config()
  json.dumps(config)
  assert config["group_size"] == 3
  assert config["depthwise_activation"]["class_name"] == "quantized_bits"
  clone = QDepthwiseConv2DTranspose.from_config(config)
  assert clone.group_size == 3
  with pytest.raises(ValueError, match="multiple of group_size"):
    _build(QDepthwiseConv2DTranspose(4, (2, 2), group_size=4), (3, 3, 6))


def _qkeras09_weights(rng, channels=3, filters=2, bias=None):
  """The weight list QKeras 0.9 gives: ``[depthwise_kernel, bias]`` with
  kernel ``(3, 3, channels, 1)`` and bias ``(filters,)`` (reference 3.4)."""
  kernel = rng.normal(size=(3, 3, channels, 1)).astype(F32)
  if bias is None:
    bias = np.zeros(filters, F32)
  return [kernel, np.asarray(bias, F32)]


def _reference(x, kernel):
  """QKeras 0.9's outputs: per channel transposed conv, no bias."""
  q = quantized_bits(4, 0, 1, alpha=1)
  qk = np_out(q(kernel))
  return np.concatenate([
      np_out(ops.conv_transpose(x[..., c:c + 1], qk[:, :, c:c + 1, :], 2,
                                "same")) for c in range(x.shape[-1])], -1)


def _layer(filters=2, name="dt"):
  return QDepthwiseConv2DTranspose(
      filters, (3, 3), strides=(2, 2), padding="same",
      depthwise_kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
      bias_quantizer="quantized_bits(4,0,1,alpha=1)", name=name)


def test_set_weights_accepts_the_qkeras09_layout():
  rng = np.random.RandomState(3)
  layer = _build(_layer(), (4, 4, 3))
  assert layer.bias.shape == (3,)
  weights = _qkeras09_weights(rng)
  layer.set_weights(weights)  # QKeras 0.9's (filters,) = (2,) bias
  np.testing.assert_array_equal(layer.get_weights()[1], np.zeros(3, F32))
  x = (np.round(rng.normal(size=(2, 4, 4, 3)) * 8) / 8).astype(F32)
  np.testing.assert_array_equal(np_out(layer(x)), _reference(x, weights[0]))
  # A non-zero QKeras 0.9 bias was never added: dropped with a warning.
  with pytest.warns(UserWarning, match="never added"):
    layer.set_weights(_qkeras09_weights(rng, bias=[0.5, -0.25]))
  np.testing.assert_array_equal(layer.get_weights()[1], np.zeros(3, F32))
  # Our own layout still round-trips, and a (channels,) bias is added.
  ours = [weights[0], np.array([0.5, 0.25, -0.5], F32)]
  layer.set_weights(ours)
  np.testing.assert_array_equal(layer.get_weights()[1], ours[1])
  np.testing.assert_array_equal(np_out(layer(x)),
                                _reference(x, weights[0]) + ours[1])
  with pytest.raises(ValueError):
    layer.set_weights([weights[0], np.zeros(4, F32)])


def _write_qkeras09_h5(path, kernel, bias):
  """A model file as QKeras 0.9 (Keras 2.12) writes it: Input(4, 4, 3) ->
  QDepthwiseConv2DTranspose(2, (3, 3), strides 2, "same") with the weights
  ``[kernel, bias]`` (the same layout as tests/data/qkeras09_layers)."""
  q = keras2_files.quantizer(4, 0)
  config = keras2_files.conv2d_transpose_config(
      "dt", 2, (3, 3), (2, 2), "same", depth_multiplier=1,
      depthwise_kernel_quantizer=q, bias_quantizer=q, group_size=1)
  keras2_files.write_one_layer_model(
      path, "QDepthwiseConv2DTranspose", config, (4, 4, 3),
      [("dt/depthwise_kernel:0", kernel), ("dt/bias:0", bias)])


def test_load_qmodel_reads_qkeras09_h5_files(tmp_path):
  from qkeras.utils import load_qmodel  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(4)
  kernel, _ = _qkeras09_weights(rng)
  x = (np.round(rng.normal(size=(2, 4, 4, 3)) * 8) / 8).astype(F32)
  for bias in (np.zeros(2, F32), np.array([0.5, -0.5], F32)):
    path = str(tmp_path / "qkeras09_dt.h5")
    _write_qkeras09_h5(path, kernel, bias)
    if bias.any():
      with pytest.warns(UserWarning, match="never added"):
        model = load_qmodel(path, compile=False)
    else:
      model = load_qmodel(path, compile=False)
    layer = model.get_layer("dt")
    assert isinstance(layer, QDepthwiseConv2DTranspose)
    np.testing.assert_array_equal(np_out(layer.depthwise_kernel), kernel)
    np.testing.assert_array_equal(np_out(layer.bias), np.zeros(3, F32))
    np.testing.assert_array_equal(model.predict(x, verbose=0),
                                  _reference(x, kernel))
  # The file on disk is not changed.
  import h5py  # pylint: disable=g-import-not-at-top
  with h5py.File(path, "r") as f:
    np.testing.assert_array_equal(f["model_weights/dt/dt/bias:0"][()], bias)
  # Our own .h5 files (Keras 3) load as before, bias included.
  layer.bias.assign(np.array([0.25, 0.5, -0.25], F32))
  own = str(tmp_path / "own.h5")
  model.save(own)
  again = load_qmodel(own, compile=False)
  np.testing.assert_array_equal(np_out(again.get_layer("dt").bias),
                                [0.25, 0.5, -0.25])
