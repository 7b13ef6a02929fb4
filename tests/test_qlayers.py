"""qkeras.qlayers: QDense, QActivation, QAdaptiveActivation, Clip,
QInitializer and the shared quantizer machinery."""

import json
import os

import keras
from keras import ops
import numpy as np
import pytest

from fresh_process import predict_in_fresh_process
from multibackend import compiled
from multibackend import compiled_modes
from multibackend import np_out
from multibackend import tensor
from multibackend import variable_gradients
import qkeras
from qkeras import qlayers
from qkeras.qlayers import Clip, QActivation, QAdaptiveActivation, QDense
from qkeras.qlayers import QInitializer
from qkeras.quantizers import (binary, quantized_bits, quantized_po2,
                               quantized_relu, stochastic_binary, ternary)

F32 = np.float32
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fixed(x, bits, integer, symmetric=1):
  m = 2.0**(bits - 1)
  m_i = 2.0**integer
  return (m_i * np.clip(np.round(x * m / m_i), -m + symmetric, m - 1) /
          m).astype(F32)


def dense_model(layer, n_in):
  inp = keras.Input((n_in,))
  return keras.Model(inp, layer(inp))


# ----------------------------------------------------------------------------
# QDense
# ----------------------------------------------------------------------------
class TestQDense:

  def test_reference_values(self):
    # QKeras tests/qlayers_test.py: kernel columns 10 and 20, input ones.
    kernel = np.stack([np.full(4, 10.0), np.full(4, 20.0)], 1).astype(F32)
    layer = QDense(2)
    dense_model(layer, 4)
    layer.set_weights([kernel, np.zeros(2, F32)])
    np.testing.assert_array_equal(np_out(layer(np.ones((1, 4), F32))),
                                  [[40, 80]])
    layer = QDense(2, kernel_quantizer="quantized_bits(2,0,alpha=1.0)",
                   bias_quantizer="quantized_bits(2,0)")
    dense_model(layer, 4)
    layer.set_weights([kernel, np.zeros(2, F32)])
    np.testing.assert_array_equal(np_out(layer(np.ones((1, 4), F32))),
                                  [[2, 2]])

  def test_output_is_the_quantized_affine_map(self):
    rng = np.random.RandomState(0)
    kernel = rng.normal(size=(6, 3)).astype(F32)
    bias = rng.normal(size=3).astype(F32)
    x = (np.round(rng.normal(size=(5, 6)) * 16) / 16).astype(F32)
    layer = QDense(3, kernel_quantizer=quantized_bits(4, 0, 1, alpha=1),
                   bias_quantizer=quantized_bits(6, 2, 1, alpha=1),
                   activation="quantized_relu(4,1)")
    dense_model(layer, 6)
    layer.set_weights([kernel, bias])
    pre = x @ fixed(kernel, 4, 0) + fixed(bias, 6, 2)
    expected = np_out(quantized_relu(4, 1)(pre.astype(F32)))
    np.testing.assert_array_equal(np_out(layer(x)), expected)

  def test_kernel_quantizer_switches_to_auto_po2(self):
    layer = QDense(3, kernel_quantizer=quantized_bits(4, 0, 1),
                   bias_quantizer=quantized_bits(4, 0, 1))
    assert layer.kernel_quantizer_internal.alpha == "auto_po2"
    assert layer.bias_quantizer_internal.alpha is None
    assert str(layer.kernel_quantizer_internal) == (
        "quantized_bits(4,0,1,alpha='auto_po2')")

  def test_raw_arguments_internal_objects_and_quantizers(self):
    layer = QDense(3, kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
                   bias_quantizer=None)
    assert layer.kernel_quantizer == "quantized_bits(4,0,1,alpha=1)"
    assert isinstance(layer.kernel_quantizer_internal, quantized_bits)
    assert layer.get_quantizers() == [layer.kernel_quantizer_internal, None]
    dense_model(layer, 2)
    assert layer.get_prunable_weights() == [layer.kernel]
    config = layer.get_quantization_config()
    assert config["kernel_quantizer"] == "quantized_bits(4,0,1,alpha=1)"
    assert (config["bias_quantizer"], config["units"]) == ("None", "3")
    assert "linear" in config["activation"]  # Keras's default activation

  def test_automatic_constraint_and_initializer(self):
    layer = QDense(3, kernel_quantizer=quantized_bits(4, 0, 1),
                   bias_quantizer=quantized_po2(4))
    assert isinstance(layer.kernel_constraint, Clip)
    assert layer.kernel_constraint.get_config() == {"min_value": -1,
                                                    "max_value": 1}
    assert layer.bias_constraint.get_config() == {"min_value": -8,
                                                  "max_value": 8}
    # auto_po2 kernels keep their initializer; fixed alphas get QInitializer.
    assert isinstance(layer.kernel_initializer, keras.initializers.HeNormal)
    fixed_layer = QDense(3, kernel_quantizer=quantized_bits(4, 0, 1, alpha=1))
    assert isinstance(fixed_layer.kernel_initializer, QInitializer)
    # A user constraint replaces the automatic Clip.
    user = QDense(3, kernel_quantizer=quantized_bits(4, 0, 1),
                  kernel_constraint="non_neg")
    assert isinstance(user.kernel_constraint, keras.constraints.NonNeg)

  def test_stored_weights_stay_float(self):
    layer = QDense(2, kernel_quantizer=quantized_bits(2, 0, 1, alpha=1))
    dense_model(layer, 2)
    kernel = np.array([[0.3, -0.7], [0.1, 0.9]], F32)
    layer.set_weights([kernel, np.zeros(2, F32)])
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)

  def test_training_passes_to_stochastic_quantizers(self):
    layer = QDense(1, use_bias=False, kernel_quantizer=stochastic_binary())
    dense_model(layer, 2000)
    kernel = np.random.RandomState(0).normal(size=(2000, 1)).astype(F32)
    layer.set_weights([kernel])
    x = np.ones((1, 2000), F32)
    inference = np_out(layer(x, training=False))
    np.testing.assert_array_equal(inference, np_out(layer(x)))
    # Sums of 2000 random +-1 can coincide (about 1% for two draws): five
    # draws that all equal each other or the inference value would not.
    draws = [float(np_out(layer(x, training=True))[0, 0]) for _ in range(5)]
    assert len(set(draws)) > 1
    assert any(d != inference[0, 0] for d in draws)

  def test_gradients_flow_through_the_ste(self):
    layer = QDense(2, kernel_quantizer=quantized_bits(4, 0, 1, alpha=1),
                   bias_quantizer=quantized_bits(4, 0, 1, alpha=1))
    dense_model(layer, 3)
    x = tensor(np.ones((4, 3), F32))
    grads = variable_gradients(lambda: ops.sum(layer(x)),
                               layer.trainable_weights)
    np.testing.assert_array_equal(grads[0], np.full((3, 2), 4.0))
    np.testing.assert_array_equal(grads[1], np.full(2, 4.0))

  def test_config_round_trip(self):
    layer = QDense(3, activation="quantized_relu(4,1)",
                   kernel_quantizer=quantized_bits(4, 0, 1),
                   bias_quantizer="quantized_bits(6,2,1,alpha=1)", name="d")
    dense_model(layer, 5)
    config = layer.get_config()
    json.dumps(config)
    kq = config["kernel_quantizer"]
    assert kq["class_name"] == "quantized_bits"
    assert kq["config"]["alpha"] == "auto_po2"
    assert config["bias_quantizer"]["config"]["bits"] == 6
    assert config["activation"]["class_name"] == "quantized_relu"
    for key in ("units", "use_bias", "kernel_initializer", "kernel_range",
                "bias_range", "kernel_constraint", "name", "trainable",
                "dtype"):
      assert key in config
    clone = QDense.from_config(config)
    assert clone.get_config() == config
    dense_model(clone, 5)
    clone.set_weights(layer.get_weights())
    x = np.random.RandomState(1).normal(size=(4, 5)).astype(F32)
    np.testing.assert_array_equal(np_out(clone(x)), np_out(layer(x)))

  def test_module_and_registration(self):
    assert QDense.__module__ == "qkeras.qlayers"
    assert keras.saving.get_registered_object("qkeras>QDense") is QDense

  @pytest.mark.parametrize("kwargs,match", [
      ({"kernel_quantizer": "quantized_bits(4,0,1,alpha=max(1))"},
       "QDense.*'kernel_quantizer'"),
      ({"bias_quantizer": "no_such_quantizer"}, "'bias_quantizer'"),
      ({"activation": "quantized_relu(4) + 1"}, "'activation'"),
      ({"depthwise_quantizer": quantized_bits(4)},
       "'depthwise_quantizer'.*not allowed"),
      ({"kernel_quantizer": quantized_bits(4, 2, 1, alpha=1),
        "kernel_range": 1}, "'kernel_range'=1 contradicts"),
      ({"kernel_range": -1}, "'kernel_range' must be None or a positive"),
  ])
  def test_bad_arguments(self, kwargs, match):
    with pytest.raises(ValueError, match=match):
      QDense(3, **kwargs)

  def test_matching_range_only_warns(self):
    with pytest.warns(UserWarning, match="kernel_range is deprecated"):
      layer = QDense(3, kernel_quantizer=quantized_bits(4, 2, 1, alpha=1),
                     kernel_range=4)
    assert layer.get_config()["kernel_range"] == 4


# ----------------------------------------------------------------------------
# QActivation
# ----------------------------------------------------------------------------
class TestQActivation:

  def test_string_object_and_keras_activation(self):
    x = np.linspace(-2, 2, 17, dtype=F32)
    layer = QActivation("quantized_relu(3)")
    assert layer.__name__ == "quantized_relu(3)"
    assert isinstance(layer.quantizer, quantized_relu)
    assert layer.activation == "quantized_relu(3)"
    np.testing.assert_array_equal(np_out(layer(x)),
                                  np_out(quantized_relu(3)(x)))
    q = quantized_bits(4, 0, 1)
    layer = QActivation(q)
    assert layer.quantizer is q and layer.activation is q
    assert layer.__name__ == "quantized_bits"
    layer = QActivation("relu")
    np.testing.assert_array_equal(np_out(layer(x)), np.maximum(x, 0))
    assert layer.get_quantization_config() == "relu"
    assert layer.get_prunable_weights() == [] and not layer.weights

  def test_config_keeps_string_or_serializes_object(self):
    assert QActivation("binary").get_config()["activation"] == "binary"
    config = QActivation(ternary(alpha=1.0)).get_config()
    assert config["activation"]["class_name"] == "ternary"
    restored = QActivation.from_config(json.loads(json.dumps(config)))
    assert isinstance(restored.quantizer, ternary)
    assert restored.quantizer.alpha == 1.0

  def test_training_flag_reaches_the_quantizer(self):
    layer = QActivation(quantized_relu(4, 0, use_stochastic_rounding=True))
    x = np.full((5000,), 0.3, F32)
    np.testing.assert_array_equal(np_out(layer(x)), 0.3125)
    assert len(np.unique(np_out(layer(x, training=True)))) > 1

  def test_bad_activation(self):
    with pytest.raises(ValueError, match="QActivation.*'activation'"):
      QActivation("quantized_relu(3")
    with pytest.raises(ValueError, match="'activation'"):
      QActivation(42)


# ----------------------------------------------------------------------------
# Clip and QInitializer
# ----------------------------------------------------------------------------
def test_clip_constraint():
  clip = Clip(-1, 1)
  np.testing.assert_array_equal(np_out(clip(np.array([-3, 0.5, 2], F32))),
                                [-1, 0.5, 1])
  assert clip.get_config() == {"min_value": -1, "max_value": 1}
  with_constraint = Clip(-1, 1, "non_neg", quantized_bits(2, 0, 1, alpha=1))
  np.testing.assert_array_equal(
      np_out(with_constraint(np.array([-3, 0.3, 2], F32))), [0, 0.5, 0.5])
  assert Clip(0, 1, Clip(-2, 2)).constraint is None
  restored = Clip.from_config({"min_value": -2, "max_value": 2})
  assert (restored.min_value, restored.max_value) == (-2, 2)


def test_qinitializer_rescales_small_draws_and_clips():
  q = quantized_po2(4)
  init = QInitializer(keras.initializers.VarianceScaling(1e-6), True, q)
  w = np_out(init((200, 20)))
  assert np.all(np.abs(w) <= q.max())
  assert init.initializer.scale > 1e-6  # rescaled: the step exceeded std
  config = init.get_config()
  restored = QInitializer.from_config(json.loads(json.dumps(config)))
  assert isinstance(restored.quantizer, quantized_po2)
  assert restored.use_scale


def test_get_initializer_and_constraint_helpers():
  assert qlayers.get_initializer(None) is None
  assert isinstance(qlayers.get_initializer("he_normal"),
                    keras.initializers.HeNormal)
  with pytest.raises(ValueError, match="Could not interpret initializer"):
    qlayers.get_initializer(3)
  clip = qlayers.get_constraint(None, quantized_po2(4))
  assert (clip.min_value, clip.max_value) == (-8, 8)
  clip = qlayers.get_constraint(
      {"class_name": "Clip", "config": {"min_value": -3, "max_value": 3}},
      quantized_po2(4))
  assert clip.max_value == 3


# ----------------------------------------------------------------------------
# QAdaptiveActivation
# ----------------------------------------------------------------------------
class TestQAdaptiveActivation:

  @pytest.mark.skipif(keras.backend.backend() == "torch",
                      reason="PyTorch cannot create a trainable int variable")
  def test_trainable_step_variable_becomes_state(self):
    step = keras.Variable(0, dtype="int32", trainable=True, name="step")
    with pytest.warns(UserWarning, match="made non-trainable"):
      layer = QAdaptiveActivation("quantized_relu", 4, current_step=step)
    assert not step.trainable
    inp = keras.Input((3,))
    model = keras.Model(inp, layer(inp))
    model.compile("sgd", "mse")
    x = np.random.RandomState(0).normal(size=(8, 3)).astype(F32)
    model.fit(x, x, epochs=1, verbose=0)  # JAX: no gradient of an int
    assert all(v is not step for v in model.trainable_variables)

  def test_ema_and_integer_bits(self):
    with pytest.warns(UserWarning, match="estimating the step"):
      layer = QAdaptiveActivation("quantized_bits", 8, ema_decay=0.5,
                                  quantization_delay=2)
    rng = np.random.RandomState(0)
    ema_min = ema_max = 0.0
    for _ in range(4):
      x = (rng.normal(size=(16, 3)) * 3).astype(F32)
      y = np_out(layer(x, training=True))
      ema_min = 0.5 * ema_min + 0.5 * x.min()
      ema_max = 0.5 * ema_max + 0.5 * x.max()
    np.testing.assert_allclose(np_out(layer.ema_min), [ema_min],
                               rtol=1e-6)
    np.testing.assert_allclose(np_out(layer.ema_max), [ema_max],
                               rtol=1e-6)
    expected_bits = np_out(qkeras.quantizers._get_integer_bits(  # pylint: disable=protected-access
        np.array([ema_min], F32), np.array([ema_max], F32), 8, True, True))
    np.testing.assert_array_equal(np_out(layer.integer_bits),
                                  expected_bits)
    # The next call quantizes with those integer bits (the delay is over).
    integer = int(expected_bits[0])
    np.testing.assert_array_equal(np_out(layer(x, training=False)),
                                  fixed(x, 8, integer))
    del y

  def test_float_output_during_delay_and_quantized_inference(self):
    layer = QAdaptiveActivation("quantized_relu", 4, current_step=None,
                                quantization_delay=10)
    x = np.array([[0.3, -1.0, 2.7]], F32)
    np.testing.assert_array_equal(np_out(layer(x, training=True)),
                                  np.maximum(x, 0))
    inference = np_out(layer(x, training=False))
    assert len(np.unique(inference)) <= 3 and not np.array_equal(
        inference, np.maximum(x, 0))

  def test_bad_arguments_and_config(self):
    with pytest.raises(ValueError, match="'activation'"):
      QAdaptiveActivation("quantized_bits(4)", 8)
    with pytest.raises(ValueError, match="'ema_freeze_delay'"):
      QAdaptiveActivation("quantized_relu", 8, ema_freeze_delay=-1)
    layer = QAdaptiveActivation("quantized_relu", 6, current_step=5)
    config = layer.get_config()
    assert config["activation"] == "quantized_relu"
    assert config["total_bits"] == 6 and config["current_step"] == 5
    assert layer.get_quantization_config().startswith("quantized_relu(6")


# ----------------------------------------------------------------------------
# Whole models: save/load in a fresh process, training, jit
# ----------------------------------------------------------------------------
def _mixed_model():
  inp = keras.Input((8,))
  x = QActivation("quantized_bits(8,2,1)", name="qin")(inp)
  x = QDense(6, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="d1")(x)
  x = QActivation("quantized_relu(4,1)", name="a1")(x)
  x = QDense(4, kernel_quantizer="binary(alpha=1)",
             bias_quantizer="quantized_po2(4)", name="d2",
             activation="quantized_tanh(4)")(x)
  return keras.Model(inp, x)


def test_keras_file_round_trip_in_a_fresh_process(tmp_path):
  model = _mixed_model()
  rng = np.random.RandomState(3)
  model.set_weights([rng.normal(size=w.shape).astype(F32)
                     for w in model.get_weights()])
  x = rng.normal(size=(16, 8)).astype(F32) * 2
  expected = model.predict(x, verbose=0)
  path = tmp_path / "m.keras"
  model.save(path)
  y, out = predict_in_fresh_process(path, x, tmp_path)
  np.testing.assert_array_equal(y, expected)
  assert "['d1/bias', 'd1/kernel', 'd2/bias', 'd2/kernel']" in out


def test_variable_names():
  model = _mixed_model()
  names = [w.path for w in model.weights]
  assert names == ["d1/kernel", "d1/bias", "d2/kernel", "d2/bias"]


def test_fit_with_jit_compile_learns():
  rng = np.random.RandomState(4)
  x = rng.normal(size=(512, 8)).astype(F32)
  y = (x[:, :4].sum(1, keepdims=True) > 0).astype(F32)
  inp = keras.Input((8,))
  h = QDense(16, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1))(inp)
  h = QActivation("quantized_relu(4,1)")(h)
  out = QDense(1, kernel_quantizer=quantized_bits(4, 0, 1),
               activation="sigmoid")(h)
  model = keras.Model(inp, out)
  model.compile(optimizer=keras.optimizers.Adam(0.01),
                loss="binary_crossentropy", metrics=["accuracy"],
                jit_compile=True)
  keras.utils.set_random_seed(0)
  history = model.fit(x, y, epochs=15, batch_size=64, verbose=0)
  assert history.history["accuracy"][-1] > 0.9
  # Kernels stay within the automatic Clip range.
  assert np.abs(model.layers[1].get_weights()[0]).max() <= 1.0


def test_predict_matches_eager_and_xla():
  model = _mixed_model()
  x = np.random.RandomState(5).normal(size=(8, 8)).astype(F32)
  eager = np_out(model(x))
  np.testing.assert_array_equal(model.predict(x, verbose=0), eager)
  for mode in compiled_modes():
    fn = compiled(lambda v: model(v), **mode)  # pylint: disable=unnecessary-lambda
    np.testing.assert_allclose(np_out(fn(tensor(x))), eager, atol=1e-6)


def test_apply_quantizer_helper():
  x = np.array([0.3], F32)
  assert np_out(qlayers.apply_quantizer(ops.relu, x)) == 0.3
  assert np_out(qlayers.apply_quantizer(binary(), x, training=False)) == 1


def test_qadaptiveactivation_matches_qkeras09_sequences():
  """Six training calls and one inference call, recorded from QKeras 0.9
  (tests/fixtures/make_qkeras09_adaptive_fixtures.py)."""
  data = np.load(os.path.join(ROOT, "tests", "data", "qkeras09_adaptive.npz"))
  configs = json.loads(str(data["configs"]))
  assert len(configs) == 5
  for i, config in enumerate(configs):
    with pytest.warns(UserWarning):
      layer = QAdaptiveActivation(current_step=None, **config)
    layer.build((None, 3))
    for t in range(7):
      y = np_out(layer(data[f"c{i}_x{t}"], training=t < 6))
      np.testing.assert_array_equal(y, data[f"c{i}_y{t}"], err_msg=(i, t))
      np.testing.assert_allclose(np_out(layer.ema_min),
                                 data[f"c{i}_min{t}"], rtol=1e-6, atol=1e-7)
      np.testing.assert_allclose(np_out(layer.ema_max),
                                 data[f"c{i}_max{t}"], rtol=1e-6, atol=1e-7)
      np.testing.assert_array_equal(
          np.asarray(layer.integer_bits, F32).ravel(),
          data[f"c{i}_int{t}"].ravel())


def test_set_quantizer_replaces_raw_object_and_list():
  layer = QDense(3, kernel_quantizer="quantized_bits(4, 0, 1, alpha=1)",
                 bias_quantizer=None, name="d")
  layer.set_quantizer("bias_quantizer", "quantized_bits(8, 0, 1)")
  assert layer.bias_quantizer == "quantized_bits(8, 0, 1)"
  assert str(layer.bias_quantizer_internal) == "quantized_bits(8,0,1)"
  assert layer.get_quantizers()[1] is layer.bias_quantizer_internal
  assert layer.get_config()["bias_quantizer"]["class_name"] == "quantized_bits"
  x = np.array([[0.3, -0.7]], "float32")
  layer.build((None, 2))
  layer.bias.assign(np.array([0.1234, 0.5, -0.25], "float32"))
  y = keras.ops.convert_to_numpy(layer(x))
  expect = x @ keras.ops.convert_to_numpy(
      layer.kernel_quantizer_internal(layer.kernel)) + np.array(
          [0.125, 0.5, -0.25], "float32")
  np.testing.assert_array_equal(y, expect)
  with pytest.raises(ValueError, match="no quantizer 'gamma_quantizer'"):
    layer.set_quantizer("gamma_quantizer", None)
  with pytest.raises(ValueError, match="'bias_quantizer'"):
    layer.set_quantizer("bias_quantizer", "quantized_bits(")


# ----------------------------------------------------------------------------
# Activation arguments in get_config (qlayers.serialize_activation)
# ----------------------------------------------------------------------------
def _activation_layers():
  """name -> (factory(activation), input shape, config paths of activations).

  Every Q-layer with an activation-like argument; the factory passes the
  same activation to all of them. Cells are wrapped in ``keras.layers.RNN``
  to run them (``_runnable``).
  """
  # pylint: disable=g-import-not-at-top
  from qkeras.qconv2d_batchnorm import QConv2DBatchnorm
  from qkeras.qconvolutional import (QConv1D, QConv2D, QConv2DTranspose,
                                     QDepthwiseConv2D, QSeparableConv1D,
                                     QSeparableConv2D)
  from qkeras.qdense_batchnorm import QDenseBatchnorm
  from qkeras.qdepthwise_conv2d_transpose import QDepthwiseConv2DTranspose
  from qkeras.qdepthwiseconv2d_batchnorm import QDepthwiseConv2DBatchnorm
  from qkeras.qmac import QScaleShift
  from qkeras.qnormalization import QBatchNormalization
  from qkeras.qpooling import QAveragePooling2D, QGlobalAveragePooling2D
  from qkeras.qrecurrent import (QBidirectional, QGRU, QGRUCell, QLSTM,
                                 QLSTMCell, QSimpleRNN, QSimpleRNNCell)
  from qkeras.qseparable_conv2d_transpose import QSeparableConv2DTranspose
  # pylint: enable=g-import-not-at-top
  act = ("activation",)
  sep = ("activation", "depthwise_activation")
  rec = ("activation", "recurrent_activation")
  img = (5, 5, 2)
  seq = (4, 2)
  return {
      "QDense": (lambda a: QDense(3, activation=a), (4,), act),
      "QConv1D": (lambda a: QConv1D(2, 3, activation=a), (6, 2), act),
      "QConv2D": (lambda a: QConv2D(2, 3, activation=a), img, act),
      "QConv2DTranspose": (lambda a: QConv2DTranspose(2, 3, activation=a),
                           img, act),
      "QDepthwiseConv2D": (lambda a: QDepthwiseConv2D(3, activation=a), img,
                           act),
      "QSeparableConv1D": (lambda a: QSeparableConv1D(
          2, 3, activation=a, depthwise_activation=a), (6, 2), sep),
      "QSeparableConv2D": (lambda a: QSeparableConv2D(
          2, 3, activation=a, depthwise_activation=a), img, sep),
      "QConv2DBatchnorm": (lambda a: QConv2DBatchnorm(2, 3, activation=a),
                           img, act),
      "QDepthwiseConv2DBatchnorm": (
          lambda a: QDepthwiseConv2DBatchnorm(3, activation=a), img, act),
      "QDenseBatchnorm": (lambda a: QDenseBatchnorm(3, activation=a), (4,),
                          act),
      "QSeparableConv2DTranspose": (lambda a: QSeparableConv2DTranspose(
          4, 3, depthwise_activation=a, pointwise_activation=a), img,
                                    ("depthwise_activation",
                                     "pointwise_activation")),
      "QDepthwiseConv2DTranspose": (lambda a: QDepthwiseConv2DTranspose(
          4, 3, group_size=2, depthwise_activation=a), (4, 4, 4),
                                    ("depthwise_activation",)),
      "QActivation": (QActivation, (4,), act),
      "QBatchNormalization": (lambda a: QBatchNormalization(activation=a),
                              (4,), act),
      "QAveragePooling2D": (lambda a: QAveragePooling2D(activation=a), img,
                            act),
      "QGlobalAveragePooling2D": (
          lambda a: QGlobalAveragePooling2D(activation=a), img, act),
      "QScaleShift": (lambda a: QScaleShift(activation=a), (4,), act),
      "QSimpleRNN": (lambda a: QSimpleRNN(3, activation=a), seq, act),
      "QLSTM": (lambda a: QLSTM(3, activation=a, recurrent_activation=a),
                seq, rec),
      "QGRU": (lambda a: QGRU(3, activation=a, recurrent_activation=a), seq,
               rec),
      "QSimpleRNNCell": (lambda a: QSimpleRNNCell(3, activation=a), seq, act),
      "QLSTMCell": (lambda a: QLSTMCell(3, activation=a,
                                        recurrent_activation=a), seq, rec),
      "QGRUCell": (lambda a: QGRUCell(3, activation=a,
                                      recurrent_activation=a), seq, rec),
      "QBidirectional": (lambda a: QBidirectional(QLSTM(
          3, activation=a, recurrent_activation=a)), seq, tuple(
              (side, "config", key) for side in ("layer", "backward_layer")
              for key in rec)),
  }


_ACTIVATION_LAYERS = sorted(_activation_layers())
# QKeras 0.9's (and Keras-2 qkeras files') form is the name; this dict is
# what Keras 3's serialize_keras_object gives for a function, written by
# earlier versions of this package for some layers: it must still load.
_OLD_FUNCTION_DICT = {"module": "builtins", "class_name": "function",
                      "config": "tanh", "registered_name": "function"}


def _paths(config, paths):
  """The (parent dict, key) of each activation path in a config."""
  found = []
  for path in paths:
    if isinstance(path, str):
      path = (path,)
    parent = config
    for key in path[:-1]:
      parent = parent[key]
    found.append((parent, path[-1]))
  return found


def _runnable(layer):
  """A recurrent cell inside ``keras.layers.RNN``; other layers as they are."""
  return (keras.layers.RNN(layer) if type(layer).__name__.endswith("Cell")
          else layer)


def _model(layer, shape):
  inp = keras.Input(shape)
  return keras.Model(inp, _runnable(layer)(inp))


@pytest.mark.parametrize("form", ["name", "function"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("name", _ACTIVATION_LAYERS)
def test_keras_activation_is_written_as_its_name(name, activation, form):
  """hls4ml's QKeras parsers (and QKeras 0.9) read "tanh", not a dict."""
  factory, _, paths = _activation_layers()[name]
  layer = factory(activation if form == "name" else
                  getattr(keras.activations, activation))
  config = layer.get_config()
  for parent, key in _paths(config, paths):
    assert parent[key] == activation, key
  assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("name", _ACTIVATION_LAYERS)
def test_quantizer_and_qkeras_function_activations_stay_dicts(name):
  factory, _, paths = _activation_layers()[name]
  config = factory(quantized_relu(4, 0)).get_config()
  for parent, key in _paths(config, paths):
    assert parent[key]["class_name"] == "quantized_relu", key
    assert parent[key]["config"]["bits"] == 4
    assert parent[key]["config"]["negative_slope"] == 0.0
  assert qkeras.quantizers.get_quantizer(parent[key]).get_config() == (
      quantized_relu(4, 0).get_config())
  # QKeras's own functions are registered Keras objects ("qkeras>name"):
  # keras.activations.serialize gives a dict for them, and so do we.
  for function in (qkeras.quantizers.hard_sigmoid,
                   qkeras.quantizers.binary_tanh):
    layer = factory(function)
    config = layer.get_config()
    for parent, key in _paths(config, paths):
      assert parent[key] == keras.saving.serialize_keras_object(function)
      assert parent[key]["config"] == "qkeras>" + function.__name__
    assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("name", _ACTIVATION_LAYERS)
def test_activation_names_round_trip_and_old_dict_form_loads(name, tmp_path):
  """A .keras round trip gives identical outputs, and a config carrying the
  older ``{"class_name": "function", "config": "tanh"}`` form loads into the
  same layer."""
  factory, shape, paths = _activation_layers()[name]
  layer = factory(keras.activations.tanh)
  model = _model(layer, shape)
  rng = np.random.RandomState(5)
  # Positive weights keep batch-norm variances valid.
  model.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype(F32)
                     for w in model.get_weights()])
  x = rng.normal(size=(3,) + shape).astype(F32)
  expected = np_out(model(x))
  path = tmp_path / "m.keras"
  model.save(path)
  loaded = keras.saving.load_model(path)
  np.testing.assert_array_equal(np_out(loaded(x)), expected)

  config = layer.get_config()
  for parent, key in _paths(config, paths):
    assert parent[key] == "tanh"
    parent[key] = dict(_OLD_FUNCTION_DICT)
  old = type(layer).from_config(config)
  for parent, key in _paths(old.get_config(), paths):
    assert parent[key] == "tanh"
  old_model = _model(old, shape)
  old_model.set_weights(model.get_weights())
  np.testing.assert_array_equal(np_out(old_model(x)), expected)


def test_serialize_activation_helper():
  assert qlayers.serialize_activation(None) is None
  assert qlayers.serialize_activation(keras.activations.relu) == "relu"
  assert qlayers.serialize_activation(keras.activations.linear) == "linear"
  assert qlayers.serialize_activation(quantized_bits(4, 0, 1)) == (
      keras.saving.serialize_keras_object(quantized_bits(4, 0, 1)))
  assert qlayers.serialize_activation(qkeras.quantizers.hard_sigmoid) == (
      keras.saving.serialize_keras_object(qkeras.quantizers.hard_sigmoid))
