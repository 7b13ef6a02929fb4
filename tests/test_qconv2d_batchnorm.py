"""Batch-norm folding: QConv2DBatchnorm, QDepthwiseConv2DBatchnorm,
QDenseBatchnorm, qkeras.bn_folding_utils and utils.convert_to_folded_model."""

import json
import os

import keras
import numpy as np
import pytest
from fresh_process import predict_in_fresh_process

from multibackend import np_out
from qkeras.bn_folding_utils import convert_folded_layer_to_unfolded
from qkeras.bn_folding_utils import unfold_model
from qkeras.qconv2d_batchnorm import QConv2DBatchnorm
from qkeras.qconvolutional import QConv2D, QDepthwiseConv2D
from qkeras.qdense_batchnorm import QDenseBatchnorm
from qkeras.qdepthwiseconv2d_batchnorm import QDepthwiseConv2DBatchnorm
from qkeras.qlayers import QActivation, QDense
from qkeras.quantizers import quantized_bits
from qkeras.utils import convert_to_folded_model

F32 = np.float32
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _randomize(layer, seed=0):
  rng = np.random.RandomState(seed)
  weights = []
  for w in layer.trainable_weights + layer.non_trainable_weights:
    name = w.path.split("/")[-1]
    if name == "iteration":
      weights.append(np.array(-1, np.int64))
    elif name in ("gamma", "moving_variance"):
      weights.append(rng.uniform(0.5, 2.0, w.shape).astype(F32))
    else:
      weights.append((rng.normal(size=w.shape) * 0.5).astype(F32))
  layer.set_weights(weights)  # QKeras order: trainable, then non-trainable


FOLDED = [
    (lambda: QConv2DBatchnorm(4, 3, kernel_quantizer="quantized_bits(4,0,1)",
                              bias_quantizer="quantized_bits(8,3,1)",
                              name="f"), (6, 6, 3)),
    (lambda: QDepthwiseConv2DBatchnorm(
        (3, 3), depth_multiplier=2, depthwise_quantizer="quantized_bits(4,0,1)",
        bias_quantizer="quantized_bits(8,3,1)", name="f"), (6, 6, 3)),
    (lambda: QDenseBatchnorm(5, kernel_quantizer="quantized_bits(4,0,1)",
                             bias_quantizer="quantized_bits(8,3,1)",
                             name="f"), (7,)),
]


def _model(make, shape, seed=0):
  layer = make()
  inp = keras.Input(shape)
  x = QActivation("quantized_bits(8,2,1)", name="qin")(inp)
  model = keras.Model(inp, layer(x))
  _randomize(layer, seed)
  return model, layer


@pytest.mark.parametrize("index", range(len(FOLDED)))
def test_inference_is_the_folded_quantized_layer(index):
  make, shape = FOLDED[index]
  model, layer = _model(make, shape)
  x = np.random.RandomState(1).normal(size=(4,) + shape).astype(F32)
  folded_kernel, folded_bias = [np_out(w)
                                for w in layer.get_folded_weights()]
  bn = layer.batchnorm
  inv = np_out(bn.gamma) / np.sqrt(np_out(bn.moving_variance) + bn.epsilon)
  np.testing.assert_allclose(
      folded_bias, inv * (np_out(layer.bias) - np_out(bn.moving_mean)) +
      np_out(bn.beta), rtol=1e-6)
  kq = getattr(layer, layer._kernel_quantizer_name + "_internal")  # pylint: disable=protected-access
  q_kernel = kq(folded_kernel)
  q_bias = layer.bias_quantizer_internal(folded_bias)
  xin = quantized_bits(8, 2, 1)(x)
  expected = layer._linear(xin, q_kernel) + q_bias  # pylint: disable=protected-access
  np.testing.assert_array_equal(model.predict(x, verbose=0),
                                np_out(expected))
  assert kq.alpha == "auto_po2"  # the kernel quantizer switch still applies


@pytest.mark.parametrize("index", range(len(FOLDED)))
def test_unfold_model_predicts_the_same(index):
  make, shape = FOLDED[index]
  model, _ = _model(make, shape, seed=2)
  unfolded = unfold_model(model)
  assert type(unfolded.layers[-1]) in (QConv2D, QDepthwiseConv2D, QDense)
  x = np.random.RandomState(3).normal(size=(4,) + shape).astype(F32)
  np.testing.assert_array_equal(unfolded.predict(x, verbose=0),
                                model.predict(x, verbose=0))


def test_weight_order_and_names():
  model, layer = _model(*FOLDED[0])
  del model
  names = [w.path.split("/")[-1]
           for w in layer.trainable_weights + layer.non_trainable_weights]
  assert names == ["kernel", "bias", "gamma", "beta", "iteration",
                   "moving_mean", "moving_variance"]
  shapes = [w.shape for w in layer.get_weights()]
  assert shapes == [(3, 3, 3, 4), (4,), (4,), (4,), (), (4,), (4,)]
  with pytest.raises(ValueError, match="expects 7 arrays"):
    layer.set_weights(layer.get_weights()[:-1])


@pytest.mark.parametrize("mode", ["ema_stats_folding", "batch_stats_folding"])
def test_training_updates_statistics_and_freezes(mode):
  layer = QConv2DBatchnorm(3, 3, kernel_quantizer="quantized_bits(6,2,1)",
                           folding_mode=mode, ema_freeze_delay=2,
                           momentum=0.5)
  inp = keras.Input((5, 5, 2))
  model = keras.Model(inp, layer(inp))
  model.compile(keras.optimizers.SGD(0.0), "mse")
  x = np.random.RandomState(4).normal(size=(8, 5, 5, 2)).astype(F32) + 3
  y = np.zeros((8, 3, 3, 3), F32)
  means = []
  for _ in range(5):
    model.train_on_batch(x, y)
    means.append(np_out(layer.batchnorm.moving_mean).copy())
  assert int(np_out(layer._iteration)) == 4  # pylint: disable=protected-access
  assert not np.allclose(means[0], means[1])  # still learning statistics
  np.testing.assert_array_equal(means[3], means[4])  # frozen after delay


def test_training_step_matches_batch_norm_of_the_conv():
  """Before quantization noise matters, the folded layer in training equals
  conv -> batch norm with batch statistics (ema mode, y_corr)."""
  layer = QConv2DBatchnorm(3, 3, kernel_quantizer=None, bias_quantizer=None)
  inp = keras.Input((6, 6, 2))
  keras.Model(inp, layer(inp))
  _randomize(layer, 5)
  x = np.random.RandomState(6).normal(size=(8, 6, 6, 2)).astype(F32)
  conv = np_out(layer.convolution_op(x, layer.kernel)) + np_out(layer.bias)
  mean, var = conv.mean((0, 1, 2)), conv.var((0, 1, 2))
  bn = layer.batchnorm
  expected = (np_out(bn.gamma) * (conv - mean) / np.sqrt(var + bn.epsilon) +
              np_out(bn.beta))
  got = np_out(layer(x, training=True))
  np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_config_round_trip_and_keras_file(tmp_path):
  model, layer = _model(*FOLDED[0])
  config = layer.get_config()
  json.dumps(config)
  for key in ("filters", "kernel_quantizer", "bias_quantizer", "axis",
              "momentum", "epsilon", "gamma_initializer", "ema_freeze_delay",
              "folding_mode"):
    assert key in config, key
  clone = QConv2DBatchnorm.from_config(config)
  assert clone.folding_mode == "ema_stats_folding"
  x = np.random.RandomState(7).normal(size=(2, 6, 6, 3)).astype(F32)
  expected = model.predict(x, verbose=0)
  path = tmp_path / "f.keras"
  model.save(path)
  y, _ = predict_in_fresh_process(path, x, tmp_path)
  np.testing.assert_array_equal(y, expected)


def test_convert_folded_layer_to_unfolded():
  _, layer = _model(*FOLDED[1])
  plain = convert_folded_layer_to_unfolded(layer)
  assert isinstance(plain, QDepthwiseConv2D) and plain.use_bias
  assert plain.depthwise_quantizer_internal.alpha == "auto_po2"


def test_convert_to_folded_model():
  inp = keras.Input((8, 8, 3))
  x = keras.layers.Conv2D(4, 3, name="conv")(inp)
  x = keras.layers.BatchNormalization(name="bn")(x)
  x = keras.layers.ReLU()(x)
  y = keras.layers.DepthwiseConv2D(3, name="dw")(x)
  y = keras.layers.BatchNormalization(name="bn2")(y)
  z = keras.layers.Conv2D(4, 1, name="shared")(x)  # feeds two layers:
  z1 = keras.layers.BatchNormalization(name="bn3")(z)  # not folded
  z2 = keras.layers.GlobalAveragePooling2D()(z)
  out = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling2D()(y),
                                    keras.layers.GlobalAveragePooling2D()(z1),
                                    z2])
  model = keras.Model(inp, out)
  new_model, folded = convert_to_folded_model(model)
  assert folded == ["conv", "dw"]
  names = [layer.name for layer in new_model.layers]
  assert "bn" not in names and "bn2" not in names and "bn3" in names
  np.testing.assert_array_equal(new_model.get_layer("conv").get_weights()[0],
                                model.get_layer("conv").get_weights()[0])
  seq = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3),
                          keras.layers.BatchNormalization(),
                          keras.layers.Flatten()])
  new_seq, folded = convert_to_folded_model(seq)
  assert len(folded) == 1 and len(new_seq.layers) == 3


@pytest.mark.parametrize("kwargs,match", [
    ({"folding_mode": "fold"}, "'folding_mode' must be one of"),
    ({"ema_freeze_delay": -1}, "'ema_freeze_delay' must be None or"),
    ({"ema_freeze_delay": 1.5}, "'ema_freeze_delay'"),
    ({"kernel_quantizer": "quantized_bits(4"}, "'kernel_quantizer'"),
])
def test_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    QConv2DBatchnorm(2, 3, **kwargs)
  if "kernel_quantizer" not in kwargs:
    with pytest.raises(ValueError, match=match):
      QDepthwiseConv2DBatchnorm((3, 3), **kwargs)
    with pytest.raises(ValueError, match=match):
      QDenseBatchnorm(3, **kwargs)



FOLDING_DATA = os.path.join(ROOT, "tests", "data", "qkeras09_folding")


@pytest.mark.parametrize("kind", ["h5", "json"])
def test_qkeras09_folded_model_files(kind):
  """A QKeras-0.9 (Keras 2) model with QConv2DBatchnorm and
  QDepthwiseConv2DBatchnorm (tests/fixtures/make_qkeras09_folding_fixtures.py)
  loads and predicts the same; its folded weights are QKeras's."""
  from qkeras.utils import load_qmodel, quantized_model_from_json  # pylint: disable=g-import-not-at-top
  data = np.load(os.path.join(FOLDING_DATA, "qconv_bn.npz"))
  if kind == "h5":
    model = load_qmodel(os.path.join(FOLDING_DATA, "qconv_bn.h5"),
                        compile=False)
  else:
    with open(os.path.join(FOLDING_DATA, "qconv_bn.json")) as f:
      model = quantized_model_from_json(f.read())
    model.load_weights(os.path.join(FOLDING_DATA, "qconv_bn_weights.h5"))
  assert isinstance(model.get_layer("conv_bn"), QConv2DBatchnorm)
  assert isinstance(model.get_layer("dw_bn"), QDepthwiseConv2DBatchnorm)
  for name in ("conv_bn", "dw_bn"):
    layer = model.get_layer(name)
    for i, w in enumerate(layer.get_weights()):
      np.testing.assert_array_equal(w, data[f"w_{name}_{i}"])
    for i, w in enumerate(layer.get_folded_weights()):
      np.testing.assert_allclose(np_out(w), data[f"folded_{name}_{i}"],
                                 rtol=1e-6, atol=1e-7)
  np.testing.assert_array_equal(model.predict(data["x"], verbose=0),
                                data["y"])
  unfolded = unfold_model(model)
  np.testing.assert_array_equal(unfolded.predict(data["x"], verbose=0),
                                model.predict(data["x"], verbose=0))


def test_populate_bias_quantizer_from_accumulator(tmp_path):
  from qkeras.bn_folding_utils import populate_bias_quantizer_from_accumulator  # pylint: disable=g-import-not-at-top
  x = keras.Input((6, 6, 2))
  y = QConv2DBatchnorm(4, 3, kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
                       name="folded")(x)
  y = QActivation("quantized_relu(4)")(y)
  model = keras.Model(x, y)
  data = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype("float32")
  assert populate_bias_quantizer_from_accumulator(model, None) is model
  layer = model.get_layer("folded")
  # 8-bit inputs x 4-bit weights: 11 bits, 0 integer bits; 3*3*2 = 18
  # products: 5 more bits -> the bias takes quantized_bits(16,5,1).
  assert str(layer.bias_quantizer_internal) == "quantized_bits(16,5,1)"
  assert layer.get_quantizers()[1] is layer.bias_quantizer_internal
  populate_bias_quantizer_from_accumulator(model, ["quantized_bits(4,0,1)"])
  assert str(layer.bias_quantizer_internal) == "quantized_bits(16,5,1)"
  # The layer uses and saves the new quantizer.
  path = tmp_path / "m.keras"
  model.save(path)
  restored = keras.models.load_model(path)
  assert str(restored.get_layer("folded").bias_quantizer_internal) == (
      "quantized_bits(16,5,1)")
  np.testing.assert_array_equal(restored.predict(data, verbose=0),
                                model.predict(data, verbose=0))
  other = keras.Model(x, QConv2DBatchnorm(
      4, 3, kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
      name="folded2")(x))
  populate_bias_quantizer_from_accumulator(other, "quantized_bits(4,0,1)")
  # 4-bit inputs: 4+4-1 = 7 bits; 18 products -> 12 bits, 5 integer bits.
  assert str(other.get_layer("folded2").bias_quantizer_internal) == (
      "quantized_bits(12,5,1)")
