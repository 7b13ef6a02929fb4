"""qkeras.qconvolutional: QConv1D/2D, QConv2DTranspose, QDepthwiseConv2D,
QSeparableConv1D/2D, QMobileNetSeparableConv2D, deconv_output_length.

Outputs are checked against the same Keras convolution applied to weights
quantized with the quantizers (the reference's definition of the layers).
"""

import json

import keras
from keras import ops
import numpy as np
import pytest
from multibackend import np_out
from qkeras.qconvolutional import (QConv1D, QConv2D, QConv2DTranspose,
                                   QDepthwiseConv2D,
                                   QMobileNetSeparableConv2D,
                                   QSeparableConv1D, QSeparableConv2D,
                                   deconv_output_length)
from qkeras.qlayers import QActivation
from qkeras.quantizers import (binary, quantized_bits, quantized_relu,
                               quantized_tanh)

F32 = np.float32


def build(layer, shape):
  inp = keras.Input(shape)
  return keras.Model(inp, layer(inp))


def randomize(layer, seed=0, scale=0.6):
  rng = np.random.RandomState(seed)
  layer.set_weights([(np.round(rng.normal(size=w.shape) * scale * 256) /
                      256).astype(F32) for w in layer.get_weights()])


def grid_input(shape, seed=1):
  rng = np.random.RandomState(seed)
  return (np.round(rng.normal(size=shape) * 16) / 16).astype(F32)


def q(quantizer, w):
  return np_out(quantizer(w))


Q4 = "quantized_bits(4,0,1,alpha=1)"


class TestQConv2D:

  def test_output_matches_quantized_keras_conv(self):
    layer = QConv2D(4, (3, 3), padding="same", kernel_quantizer=Q4,
                    bias_quantizer=Q4, activation="quantized_relu(4,1)")
    build(layer, (6, 6, 3))
    randomize(layer)
    x = grid_input((2, 6, 6, 3))
    kernel, bias = layer.get_weights()
    ref = keras.layers.Conv2D(4, (3, 3), padding="same")
    build(ref, (6, 6, 3))
    ref.set_weights([q(quantized_bits(4, 0, 1, alpha=1), kernel),
                     q(quantized_bits(4, 0, 1, alpha=1), bias)])
    expected = np_out(quantized_relu(4, 1)(ref(x)))
    np.testing.assert_array_equal(np_out(layer(x)), expected)

  def test_auto_po2_kernel_and_strides(self):
    layer = QConv2D(5, (3, 3), strides=2, kernel_quantizer=quantized_bits(
        4, 0, 1))
    build(layer, (7, 7, 2))
    randomize(layer, 2)
    assert layer.kernel_quantizer_internal.alpha == "auto_po2"
    x = grid_input((1, 7, 7, 2))
    kernel, bias = layer.get_weights()
    ref = keras.layers.Conv2D(5, (3, 3), strides=2)
    build(ref, (7, 7, 2))
    kq = quantized_bits(4, 0, 1)
    kq._set_trainable_parameter()  # pylint: disable=protected-access
    ref.set_weights([q(kq, kernel), bias])
    np.testing.assert_allclose(np_out(layer(x)), np_out(ref(x)),
                               rtol=0, atol=1e-6)

  def test_groups(self):
    layer = QConv2D(6, (1, 1), groups=2, kernel_quantizer=Q4)
    build(layer, (4, 4, 10))
    assert layer.count_params() == 36  # QKeras: groups=2, 10 -> 6 channels
    assert layer.get_config()["groups"] == 2

  def test_mask(self):
    mask = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], F32)
    layer = QConv2D(1, (3, 3), kernel_quantizer=Q4, mask=mask,
                    use_bias=False)
    build(layer, (3, 3, 1))
    layer.set_weights([np.full((3, 3, 1, 1), 0.5, F32)])
    y = np_out(layer(np.ones((1, 3, 3, 1), F32)))
    assert y.item() == 2.5  # five unmasked taps of 0.5
    assert layer.count_params() == 9  # the mask is not a weight
    config = layer.get_config()
    assert config["mask"] == mask.tolist()
    clone = QConv2D.from_config(json.loads(json.dumps(config)))
    np.testing.assert_array_equal(clone.mask, mask)
    with pytest.raises(ValueError, match="QConv2D.*'mask'.*rank at least 2"):
      QConv2D(1, (3, 3), mask=np.ones(3))

  def test_config_keys(self):
    layer = QConv2D(2, (3, 3), kernel_quantizer=quantized_bits(4, 0, 1),
                    bias_quantizer=Q4, kernel_range=1)
    config = layer.get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "data_format",
                "dilation_rate", "groups", "activation", "use_bias",
                "kernel_quantizer", "bias_quantizer", "kernel_range",
                "bias_range", "mask", "kernel_constraint", "name"):
      assert key in config, key
    assert config["kernel_quantizer"]["config"]["alpha"] == "auto_po2"
    assert layer.get_quantization_config()["filters"] == "2"
    assert QConv2D.__module__ == "qkeras.qconvolutional"

  def test_wrong_rank(self):
    with pytest.raises(ValueError, match="q_conv2d|expected"):
      build(QConv2D(2, (3, 3)), (5, 5))


class TestQConv1D:

  @pytest.mark.parametrize("padding", ["valid", "same", "causal"])
  def test_output_matches_quantized_keras_conv(self, padding):
    layer = QConv1D(3, 3, padding=padding, dilation_rate=2,
                    kernel_quantizer=Q4, bias_quantizer=Q4)
    build(layer, (10, 2))
    randomize(layer, 3)
    x = grid_input((2, 10, 2))
    kernel, bias = layer.get_weights()
    ref = keras.layers.Conv1D(3, 3, padding=padding, dilation_rate=2)
    build(ref, (10, 2))
    quantizer = quantized_bits(4, 0, 1, alpha=1)
    ref.set_weights([q(quantizer, kernel), q(quantizer, bias)])
    np.testing.assert_array_equal(np_out(layer(x)), np_out(ref(x)))
    assert "mask" not in layer.get_config()


class TestQConv2DTranspose:

  def test_reference_example(self):
    # QKeras: ones 4x4 input, ones 3x3 kernel, bias 1, binary quantizers.
    layer = QConv2DTranspose(1, (3, 3), kernel_quantizer=binary(),
                             bias_quantizer=binary())
    build(layer, (4, 4, 1))
    layer.set_weights([np.ones((3, 3, 1, 1), F32), np.ones(1, F32)])
    y = np_out(layer(np.ones((1, 4, 4, 1), F32)))[0, :, :, 0]
    np.testing.assert_array_equal(y[0], [2, 3, 4, 4, 3, 2])
    np.testing.assert_array_equal(y[1], [3, 5, 7, 7, 5, 3])
    np.testing.assert_array_equal(y[2], [4, 7, 10, 10, 7, 4])

  def test_output_padding_is_honoured(self):
    layer = QConv2DTranspose(2, (3, 3), strides=2, output_padding=1,
                             kernel_quantizer=Q4)
    build(layer, (4, 4, 1))
    assert layer(np.ones((1, 4, 4, 1), F32)).shape == (1, 10, 10, 2)
    ref = keras.layers.Conv2DTranspose(2, (3, 3), strides=2,
                                       output_padding=1)
    assert tuple(ref.compute_output_shape((1, 4, 4, 1))) == (1, 10, 10, 2)


class TestQDepthwiseConv2D:

  def test_output_and_weight_names(self):
    layer = QDepthwiseConv2D((3, 3), depth_multiplier=2,
                             depthwise_quantizer=Q4, bias_quantizer=Q4,
                             name="dw")
    build(layer, (6, 6, 3))
    assert [w.path for w in layer.weights] == ["dw/depthwise_kernel",
                                               "dw/bias"]
    assert layer.depthwise_kernel.shape == (3, 3, 3, 2)
    randomize(layer, 4)
    x = grid_input((2, 6, 6, 3))
    kernel, bias = layer.get_weights()
    quantizer = quantized_bits(4, 0, 1, alpha=1)
    expected = ops.depthwise_conv(x, q(quantizer, kernel), 1,
                                  "valid") + q(quantizer, bias)
    np.testing.assert_array_equal(np_out(layer(x)), np_out(expected))
    assert layer.get_prunable_weights() == [layer.depthwise_kernel]
    assert set(layer.get_quantization_config()) == {
        "depthwise_quantizer_internal", "bias_quantizer", "activation",
        "filters"}
    config = layer.get_config()
    for key in ("depthwise_quantizer", "bias_quantizer", "depthwise_range",
                "depth_multiplier", "depthwise_initializer"):
      assert key in config

  def test_wrong_rank(self):
    with pytest.raises(ValueError, match="q_depthwise_conv2d.*ndim=4"):
      build(QDepthwiseConv2D((3, 3)), (6, 3))
    with pytest.raises(ValueError, match="QDepthwiseConv2D.*rank 4"):
      QDepthwiseConv2D((3, 3)).build((None, 6, 3))


class TestQSeparableConv:

  def test_2d_output_matches_depthwise_then_pointwise(self):
    layer = QSeparableConv2D(4, (3, 3), depthwise_quantizer=Q4,
                             pointwise_quantizer="quantized_bits(3,0,1,alpha=1)",
                             bias_quantizer=Q4, name="sep")
    build(layer, (6, 6, 3))
    assert [w.path for w in layer.weights] == [
        "sep/depthwise_kernel", "sep/pointwise_kernel", "sep/bias"]
    randomize(layer, 5)
    x = grid_input((2, 6, 6, 3))
    dw, pw, bias = layer.get_weights()
    expected = ops.separable_conv(
        x, q(quantized_bits(4, 0, 1, alpha=1), dw),
        q(quantized_bits(3, 0, 1, alpha=1), pw), 1, "valid") + q(
            quantized_bits(4, 0, 1, alpha=1), bias)
    np.testing.assert_array_equal(np_out(layer(x)), np_out(expected))
    assert layer.get_quantizers() == [layer.depthwise_quantizer_internal,
                                      layer.pointwise_quantizer_internal,
                                      layer.bias_quantizer_internal]

  def test_depthwise_activation_quantizes_between_the_steps(self):
    activation = quantized_tanh(6, 2, 1)  # the seed README's argument
    layer = QSeparableConv2D(4, (3, 3), depthwise_quantizer=Q4,
                             pointwise_quantizer=Q4,
                             depthwise_activation=activation)
    build(layer, (6, 6, 2))
    randomize(layer, 6)
    x = grid_input((1, 6, 6, 2))
    dw, pw, bias = layer.get_weights()
    quantizer = quantized_bits(4, 0, 1, alpha=1)
    mid = activation(ops.depthwise_conv(x, q(quantizer, dw), 1, "valid"))
    expected = ops.conv(mid, q(quantizer, pw), 1, "valid") + bias
    np.testing.assert_array_equal(np_out(layer(x)), np_out(expected))
    config = layer.get_config()
    assert config["depthwise_activation"]["class_name"] == "quantized_tanh"
    clone = QSeparableConv2D.from_config(json.loads(json.dumps(config)))
    assert str(clone.depthwise_activation) == str(activation)

  def test_1d(self):
    layer = QSeparableConv1D(3, 3, depthwise_quantizer=Q4,
                             pointwise_quantizer=Q4, bias_quantizer=Q4)
    build(layer, (10, 4))
    randomize(layer, 7)
    x = grid_input((2, 10, 4))
    dw, pw, bias = layer.get_weights()
    ref = keras.layers.SeparableConv1D(3, 3)
    build(ref, (10, 4))
    quantizer = quantized_bits(4, 0, 1, alpha=1)
    ref.set_weights([q(quantizer, dw), q(quantizer, pw), q(quantizer, bias)])
    np.testing.assert_array_equal(np_out(layer(x)), np_out(ref(x)))


def test_mobilenet_separable_block_names():
  inp = keras.Input((8, 8, 3))
  out = QMobileNetSeparableConv2D(
      4, (3, 3), activation="relu", depthwise_quantizer=Q4,
      pointwise_quantizer=Q4, depthwise_activation="quantized_relu(4)",
      depthwise_dropout_rate=0.1, name="mb")(inp)
  model = keras.Model(inp, out)
  assert [layer.name for layer in model.layers[1:]] == [
      "mb_dw", "mb_dw_act", "mb_dw_dropout", "mb_pw", "mb_pw_act"]
  assert isinstance(model.get_layer("mb_dw_act"), QActivation)
  assert not model.get_layer("mb_dw").use_bias
  out = QMobileNetSeparableConv2D(4, (3, 3), pw_first=True, name="p")(inp)
  names = [layer.name for layer in keras.Model(inp, out).layers[1:]]
  assert names == ["p_pw", "p_dw"]


def test_deconv_output_length():
  assert deconv_output_length(4, 3, "valid", stride=2) == 9
  assert deconv_output_length(4, 3, "same", stride=2) == 8
  assert deconv_output_length(4, 3, "full", stride=2) == 5
  assert deconv_output_length(4, 3, "same", output_padding=1, stride=2) == 8
  assert deconv_output_length(None, 3, "same") is None
  with pytest.raises(ValueError, match="'padding'"):
    deconv_output_length(4, 3, "causal")


@pytest.mark.parametrize("make,shape", [
    (lambda: QConv1D(2, 3, kernel_quantizer="quantized_bits(4"), (8, 2)),
    (lambda: QDepthwiseConv2D((3, 3), depthwise_quantizer="nope"), (6, 6, 2)),
    (lambda: QSeparableConv2D(2, 3, pointwise_quantizer="x(1)+1"), (6, 6, 2)),
    (lambda: QConv2DTranspose(2, 3, kernel_quantizer=[1, 2]), (6, 6, 2)),
])
def test_bad_quantizer_arguments(make, shape):
  del shape
  with pytest.raises(ValueError, match="Q\\w+\\(name=None\\): argument"):
    make()
