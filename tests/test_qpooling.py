"""qkeras.qpooling: QAveragePooling2D and QGlobalAveragePooling2D."""

import json

import keras
import numpy as np
import pytest
from multibackend import np_out
from qkeras.qpooling import QAveragePooling2D, QGlobalAveragePooling2D
from qkeras.quantizers import quantized_bits

F32 = np.float32


def test_average_pooling_reference_values():
  # QKeras: 6x6 ones with row 0 zero, pool 3, quantized_bits(8,1,1):
  # 1/9 quantizes to 0.109375, so a full window gives 9 * 0.109375.
  x = np.ones((1, 6, 6, 1), F32)
  x[:, 0] = 0
  layer = QAveragePooling2D(pool_size=(3, 3),
                            average_quantizer="quantized_bits(8,1,1)")
  y = np_out(layer(x))[0, :, :, 0]
  np.testing.assert_array_equal(y, [[0.65625, 0.65625],
                                    [0.984375, 0.984375]])


def test_average_pooling_formula_and_activation():
  rng = np.random.RandomState(0)
  x = (np.round(rng.normal(size=(2, 6, 6, 3)) * 16) / 16).astype(F32)
  q = quantized_bits(6, 0, 1)
  layer = QAveragePooling2D(pool_size=2, average_quantizer=q,
                            activation="quantized_bits(8,2,1)")
  pooled = keras.layers.AveragePooling2D(2)(x * 4.0)
  expected = quantized_bits(8, 2, 1)(pooled * np_out(q(np.float32(0.25))))
  np.testing.assert_array_equal(np_out(layer(x)), np_out(expected))
  # Without a quantizer it is the plain average.
  plain = QAveragePooling2D(pool_size=2)
  np.testing.assert_array_equal(
      np_out(plain(x)), np_out(keras.layers.AveragePooling2D(2)(x)))


def test_global_average_pooling():
  x = np.ones((2, 4, 4, 2), F32)
  x[1] *= 2
  layer = QGlobalAveragePooling2D(average_quantizer="quantized_bits(5,0,1)")
  np.testing.assert_array_equal(np_out(layer(x)), [[1, 1], [2, 2]])
  # With 4 bits 1/16 is a tie that rounds (half to even) to 0.
  coarse = QGlobalAveragePooling2D(average_quantizer="quantized_bits(4,0,1)")
  np.testing.assert_array_equal(np_out(coarse(x)), [[0, 0], [0, 0]])
  assert layer.compute_pooling_area((None, 4, 4, 2)) == 16
  keep = QGlobalAveragePooling2D(keepdims=True,
                                 average_quantizer="quantized_bits(8,0,1)")
  assert keep(x).shape == (2, 1, 1, 2)


def test_config_round_trip_and_quantizers():
  layer = QAveragePooling2D(pool_size=3, average_quantizer="quantized_bits(8,1,1)",
                            activation="quantized_relu(4)", name="p")
  config = layer.get_config()
  json.dumps(config)
  assert config["average_quantizer"]["class_name"] == "quantized_bits"
  assert config["activation"]["class_name"] == "quantized_relu"
  for key in ("pool_size", "strides", "padding", "data_format", "name"):
    assert key in config
  clone = QAveragePooling2D.from_config(config)
  x = np.random.RandomState(1).normal(size=(1, 6, 6, 2)).astype(F32)
  np.testing.assert_array_equal(np_out(clone(x)), np_out(layer(x)))
  assert layer.get_quantization_config() == {
      "average_quantizer": "quantized_bits(8,1,1)",
      "activation": "quantized_relu(4,0)"}
  assert len(layer.get_quantizers()) == 1
  g = QGlobalAveragePooling2D(average_quantizer="quantized_bits(8,1,1)")
  assert "keepdims" in g.get_config()
  assert QAveragePooling2D.__module__ == "qkeras.qpooling"


def test_channels_first():
  keras.config.set_image_data_format("channels_first")
  x = np.ones((1, 2, 4, 4), F32)
  layer = QGlobalAveragePooling2D(average_quantizer="quantized_bits(5,0,1)")
  np.testing.assert_array_equal(np_out(layer(x)), [[1, 1]])


def test_bad_arguments():
  with pytest.raises(ValueError, match="'average_quantizer'"):
    QAveragePooling2D(average_quantizer="quantized_bits(8,1,1")
  with pytest.raises(ValueError, match="'kernel_quantizer'.*not allowed"):
    QGlobalAveragePooling2D(kernel_quantizer="binary")


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_integer_inputs_are_averaged_as_floats(dtype):
  # Keras averages integer inputs as floats of the compute dtype (float32):
  # GlobalAveragePooling2D on every backend, AveragePooling2D on JAX.
  rng = np.random.RandomState(2)
  x = rng.randint(0, 2 if dtype == "bool" else 50,
                  size=(2, 6, 6, 3)).astype(dtype)
  xf = x.astype(F32)
  for quantizer in (None, "quantized_bits(8,1,1)"):
    for layer, reference in (
        (QAveragePooling2D(pool_size=3, average_quantizer=quantizer),
         QAveragePooling2D(pool_size=3, average_quantizer=quantizer)),
        (QGlobalAveragePooling2D(average_quantizer=quantizer),
         QGlobalAveragePooling2D(average_quantizer=quantizer))):
      expected = np_out(reference(xf))
      for inputs in (x, keras.ops.convert_to_tensor(x)):
        y = np_out(layer(inputs))
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y, expected)
      inp = keras.Input((6, 6, 3), dtype=dtype)
      model = keras.Model(inp, layer(inp))
      assert keras.backend.standardize_dtype(model.output.dtype) == "float32"
      np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
  # The float averages: exact for the plain layers.
  np.testing.assert_array_equal(
      np_out(QGlobalAveragePooling2D()(x)), xf.mean(axis=(1, 2)))
  np.testing.assert_allclose(
      np_out(QAveragePooling2D(pool_size=3)(x))[0, 0, 0],
      xf[0, :3, :3].mean(axis=(0, 1)), rtol=1e-6)


@pytest.mark.parametrize("layer", [
    lambda: QAveragePooling2D(average_quantizer="quantized_bits(8,0,1)"),
    lambda: QAveragePooling2D((3, 3), average_quantizer="quantized_bits(8,0,1)"),
    lambda: QGlobalAveragePooling2D(average_quantizer="quantized_bits(8,0,1)"),
])
def test_huge_inputs_do_not_overflow(layer):
  # Issue 19: AvgPool(x * A) overflowed to inf for |x| near float32's limit.
  for value in (1e38, -3.4e38):
    x = np.full((1, 6, 6, 2), value, "float32")
    y = np_out(layer()(x))
    assert np.all(np.isfinite(y))
    # Pooling is exact under power-of-two scaling: the same numbers as for
    # x * 2**-100, scaled back; an average beyond float32 (the quantized
    # factor 1/32 of 36 values here) saturates at the largest float32.
    f32_max = float(np.finfo(np.float32).max)
    expected = np.clip(np_out(layer()(x * np.float32(2.0**-100))).astype(
        np.float64) * 2.0**100, -f32_max, f32_max)
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_empty_batch_pools_to_empty():
  y = QAveragePooling2D(average_quantizer="quantized_bits(8,0,1)")(
      np.zeros((0, 4, 4, 2), "float32"))
  assert np_out(y).shape == (0, 2, 2, 2)
