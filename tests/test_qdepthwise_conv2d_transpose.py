"""qkeras.qdepthwise_conv2d_transpose.QDepthwiseConv2DTranspose."""

import json

import keras
from keras import ops
import numpy as np
import pytest
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
