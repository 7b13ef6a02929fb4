"""qkeras.qseparable_conv2d_transpose.QSeparableConv2DTranspose."""

import json

import keras
from keras import ops
import numpy as np

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
