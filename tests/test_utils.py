"""Tests for qkeras.utils: model_quantize, quantized-weight export,
sparsity, debug/dump, cloning and freezing auto_po2 scales."""

import logging
import os
import warnings

import keras
import numpy as np
import pytest

from fresh_process import predict_in_fresh_process
from multibackend import TENSORFLOW
from multibackend import np_out
from qkeras import QActivation
from qkeras import QAdaptiveActivation
from qkeras import QAveragePooling2D
from qkeras import QBatchNormalization
from qkeras import QBidirectional
from qkeras import QConv2D
from qkeras import QDense
from qkeras import QDepthwiseConv2D
from qkeras import QGlobalAveragePooling2D
from qkeras import QGRU
from qkeras import QLSTM
from qkeras import QSeparableConv2D
from qkeras import quantizers
from qkeras.utils import check_quantizer_collapse
from qkeras.utils import clone_model
from qkeras.utils import clone_model_and_freeze_auto_po2_scale
from qkeras.utils import get_model_sparsity
from qkeras.utils import model_quantize
from qkeras.utils import model_save_quantized_weights
from qkeras.utils import print_model_sparsity
from qkeras.utils import quantize_activation
from qkeras.utils import quantized_model_debug
from qkeras.utils import quantized_model_dump

L = keras.layers

Q4 = "quantized_bits(4,0,1)"
Q4_AUTO = "quantized_bits(4,0,1,alpha='auto_po2')"


def _randomize(model, seed=0):
  rng = np.random.default_rng(seed)
  for layer in model.layers:
    for v in layer.weights:
      if "variance" in v.name:
        v.assign(rng.uniform(0.5, 2.0, v.shape).astype("float32"))
      elif v.dtype == "float32":
        v.assign(rng.normal(0, 0.5, v.shape).astype("float32"))
  return model


def _weights(model):
  return [w.copy() for w in model.get_weights()]


def _assert_same_weights(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def resnet_like():
  """Conv/BN/ReLU blocks with a residual Add and a Concatenate."""
  x = L.Input((8, 8, 3), name="image")
  y = L.Conv2D(8, 3, padding="same", name="stem")(x)
  y = L.BatchNormalization(name="stem_bn")(y)
  y = L.Activation("relu", name="stem_act")(y)
  r = L.Conv2D(8, 3, padding="same", name="res_conv")(y)
  r = L.BatchNormalization(name="res_bn")(r)
  r = L.ReLU(name="res_relu")(r)
  y = L.Add(name="add")([y, r])
  b = L.Conv2D(4, 1, name="branch")(y)
  y = L.Concatenate(name="concat")([y, b])
  y = L.AveragePooling2D(2, name="pool")(y)
  y = L.GlobalAveragePooling2D(name="gap")(y)
  y = L.Dense(10, name="logits")(y)
  y = L.Activation("softmax", name="softmax")(y)
  return _randomize(keras.Model(x, y, name="resnet_like"))


RESNET_CONFIG = {
    "QConv2D": {"kernel_quantizer": Q4, "bias_quantizer": "quantized_bits(8,3,1)"},
    "QDense": {"kernel_quantizer": "quantized_bits(6,0,1)",
               "bias_quantizer": "quantized_bits(8,3,1)"},
    "QActivation": {"relu": "quantized_relu(4,2)"},
    "QBatchNormalization": {"gamma_quantizer": "quantized_bits(8,3,1)",
                            "beta_quantizer": "quantized_bits(8,3,1)",
                            "mean_quantizer": "quantized_bits(8,3,1)",
                            "variance_quantizer": "quantized_relu(8,3)"},
    "QAveragePooling2D": {"average_quantizer": "quantized_bits(8,0,1)"},
    "QGlobalAveragePooling2D": {"average_quantizer": "quantized_bits(8,0,1)"},
    "branch": {"kernel_quantizer": "quantized_po2(4)",
               "bias_quantizer": "quantized_po2(4)"},
}


def resnet_like_by_hand():
  """What model_quantize(resnet_like(), RESNET_CONFIG, 4) must build."""
  bn = {k: RESNET_CONFIG["QBatchNormalization"][k] for k in
        RESNET_CONFIG["QBatchNormalization"]}
  conv = dict(kernel_quantizer=Q4, bias_quantizer="quantized_bits(8,3,1)")
  x = L.Input((8, 8, 3), name="image")
  y = QConv2D(8, 3, padding="same", name="stem", **conv)(x)
  y = QBatchNormalization(name="stem_bn", **bn)(y)
  y = QActivation("quantized_relu(4,2)", name="stem_act")(y)
  r = QConv2D(8, 3, padding="same", name="res_conv", **conv)(y)
  r = QBatchNormalization(name="res_bn", **bn)(r)
  r = QActivation("quantized_relu(4,2)", name="res_relu")(r)
  y = L.Add(name="add")([y, r])
  b = QConv2D(4, 1, name="branch", kernel_quantizer="quantized_po2(4)",
              bias_quantizer="quantized_po2(4)")(y)
  y = L.Concatenate(name="concat")([y, b])
  y = QAveragePooling2D(2, name="pool",
                        average_quantizer="quantized_bits(8,0,1)")(y)
  y = QGlobalAveragePooling2D(name="gap",
                              average_quantizer="quantized_bits(8,0,1)")(y)
  y = QDense(10, name="logits", kernel_quantizer="quantized_bits(6,0,1)",
             bias_quantizer="quantized_bits(8,3,1)")(y)
  y = L.Activation("softmax", name="softmax")(y)
  return keras.Model(x, y)


def mobilenet_like():
  x = L.Input((12, 12, 3), name="image")
  y = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="stem")(x)
  y = L.BatchNormalization(name="stem_bn")(y)
  y = L.ReLU(6.0, name="stem_relu6")(y)
  y = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw1")(y)
  y = L.BatchNormalization(name="dw1_bn")(y)
  y = L.ReLU(6.0, name="dw1_relu6")(y)
  y = L.Conv2D(16, 1, use_bias=False, name="pw1")(y)
  y = L.SeparableConv2D(16, 3, padding="same", activation="relu",
                        name="sep2")(y)
  y = L.GlobalAveragePooling2D(name="gap")(y)
  y = L.Dropout(0.2, name="drop")(y)
  y = L.Dense(5, activation="softmax", name="head")(y)
  return _randomize(keras.Model(x, y, name="mobilenet_like"), 1)


MOBILENET_CONFIG = {
    "QConv2D": {"kernel_quantizer": Q4_AUTO},
    "QDepthwiseConv2D": {"depthwise_quantizer": Q4_AUTO},
    # QKeras's style: one kernel_quantizer for both separable kernels.
    "QSeparableConv2D": {"kernel_quantizer": Q4_AUTO,
                         "bias_quantizer": "quantized_bits(8,3,1)"},
    "QDense": {"kernel_quantizer": "quantized_bits(8,0,1)",
               "bias_quantizer": "quantized_bits(8,3,1)"},
    "QActivation": {"relu": "quantized_relu(4,2)"},
}


def rnn_model():
  return _randomize(keras.Sequential([
      L.Input((6, 3), name="seq"),
      L.Bidirectional(L.GRU(4, return_sequences=True, name="gru"),
                      name="bigru"),
      L.LSTM(5, return_sequences=True, name="lstm"),
      L.SimpleRNN(3, name="rnn"),
      L.Dense(2, activation="sigmoid", name="out"),
  ], name="rnn_model"), 2)


RNN_CONFIG = {
    "QBidirectional": {"kernel_quantizer": "quantized_bits(6,0,1)",
                       "recurrent_quantizer": "quantized_bits(6,0,1)",
                       "bias_quantizer": "quantized_bits(6,0,1)"},
    "QLSTM": {"kernel_quantizer": "quantized_bits(6,0,1)",
              "recurrent_quantizer": "quantized_bits(6,0,1)",
              "bias_quantizer": "quantized_bits(6,0,1)",
              "state_quantizer": "quantized_bits(8,1,1)",
              "recurrent_activation_quantizer": "hard_sigmoid"},
    "rnn": {"kernel_quantizer": "quantized_bits(6,0,1)",
            "activation_quantizer": "quantized_tanh(6)"},
    "QDense": {"kernel_quantizer": "quantized_bits(8,0,1)"},
}


# ---------------------------------------------------------------------------
# model_quantize
# ---------------------------------------------------------------------------


def test_resnet_like_matches_the_hand_written_quantized_model(tmp_path):
  model = resnet_like()
  before = _weights(model)
  qmodel = model_quantize(model, RESNET_CONFIG, 4, transfer_weights=True)
  _assert_same_weights(before, model.get_weights())  # model untouched
  assert type(model.get_layer("stem")) is L.Conv2D

  by_hand = resnet_like_by_hand()
  assert [type(l).__name__ for l in qmodel.layers] == [
      type(l).__name__ for l in by_hand.layers]
  assert [l.name for l in qmodel.layers] == [l.name for l in by_hand.layers]
  def config(layer):  # the converted layers keep Keras's initializers
    return {k: v for k, v in layer.get_config().items()
            if not k.endswith("_initializer")}
  for a, b in zip(qmodel.layers, by_hand.layers):
    assert config(a) == config(b), a.name
  _assert_same_weights(before, qmodel.get_weights())  # transferred
  by_hand.set_weights(model.get_weights())
  x = np.random.default_rng(3).normal(size=(16, 8, 8, 3)).astype("float32")
  np.testing.assert_array_equal(qmodel.predict(x, verbose=0),
                                by_hand.predict(x, verbose=0))
  # Kernel quantizers switch to auto_po2 as in QKeras; biases don't.
  stem = qmodel.get_layer("stem")
  assert str(stem.kernel_quantizer_internal) == (
      "quantized_bits(4,0,1,alpha='auto_po2')")
  assert str(stem.bias_quantizer_internal) == "quantized_bits(8,3,1)"
  assert str(qmodel.get_layer("branch").kernel_quantizer_internal) == (
      "quantized_po2(4)")  # the layer-name entry wins over "QConv2D"
  # Saved and reloaded in a fresh process (no custom objects): identical.
  path = tmp_path / "q.keras"
  qmodel.save(path)
  y, _ = predict_in_fresh_process(path, x, tmp_path)
  np.testing.assert_array_equal(y, qmodel.predict(x, verbose=0))


def test_without_transfer_weights_the_model_is_fresh():
  model = resnet_like()
  qmodel = model_quantize(model, RESNET_CONFIG, 4)
  assert not np.array_equal(qmodel.get_layer("stem").get_weights()[0],
                            model.get_layer("stem").get_weights()[0])


def test_mobilenet_like_separable_and_relu6():
  model = mobilenet_like()
  qmodel = model_quantize(model, MOBILENET_CONFIG, 4, transfer_weights=True)
  kinds = {l.name: type(l) for l in qmodel.layers}
  assert kinds["stem"] is QConv2D and kinds["dw1"] is QDepthwiseConv2D
  assert kinds["pw1"] is QConv2D and kinds["sep2"] is QSeparableConv2D
  assert kinds["stem_relu6"] is QActivation and kinds["head"] is QDense
  assert kinds["stem_bn"] is L.BatchNormalization  # no BN entry: kept float
  assert kinds["gap"] is L.GlobalAveragePooling2D  # no average_quantizer
  sep = qmodel.get_layer("sep2")
  assert str(sep.depthwise_quantizer_internal) == Q4.replace(
      ")", ",alpha='auto_po2')")
  assert str(sep.pointwise_quantizer_internal) == str(
      sep.depthwise_quantizer_internal)
  assert str(sep.activation) == "quantized_relu(4,0)"  # activation_bits
  assert qmodel.get_layer("head").activation.__name__ == "softmax"
  assert qmodel.get_layer("stem").bias_quantizer_internal is None
  _assert_same_weights(model.get_weights(), qmodel.get_weights())
  x = np.random.default_rng(4).normal(size=(8, 12, 12, 3)).astype("float32")
  y = qmodel.predict(x, verbose=0)
  assert np.all(np.isfinite(y))
  np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)

  # Exported weights lie on the quantizers' grids.
  saved = model_save_quantized_weights(qmodel)
  for name in ("stem", "dw1", "pw1", "sep2"):
    entry = saved[name]
    for hw, step in zip(entry["weights"], entry["scales"]):
      if len(step) == 0:
        continue
      codes = _auto_po2_codes(hw, step, bits=4, integer=0)
      assert np.all(codes == np.round(codes))
      assert np.all(np.abs(codes) <= 7)  # 4-bit symmetric codes
      assert np.all(np.log2(step) == np.round(np.log2(step)))
  head = saved["head"]["weights"]
  assert np.all(head[0] * 128 == np.round(head[0] * 128))
  assert np.all(head[1] * 16 == np.round(head[1] * 16))


def test_rnn_bidirectional_sequential_model(tmp_path):
  model = rnn_model()
  qmodel = model_quantize(model, RNN_CONFIG, 4, transfer_weights=True)
  assert isinstance(qmodel, keras.Sequential)
  bigru = qmodel.get_layer("bigru")
  assert type(bigru) is QBidirectional
  assert type(bigru.forward_layer) is QGRU
  assert type(bigru.backward_layer) is QGRU
  assert bigru.backward_layer.go_backwards
  assert str(bigru.forward_layer.cell.recurrent_quantizer_internal) == (
      "quantized_bits(6,0,1,alpha='auto_po2')")
  assert str(bigru.forward_layer.cell.activation) == "quantized_tanh(4)"
  lstm = qmodel.get_layer("lstm")
  assert type(lstm) is QLSTM
  assert str(lstm.cell.state_quantizer_internal) == "quantized_bits(8,1,1)"
  assert lstm.cell.recurrent_activation.__name__ == "hard_sigmoid"
  rnn = qmodel.get_layer("rnn")
  assert str(rnn.cell.activation) == "quantized_tanh(6)"
  assert rnn.cell.recurrent_quantizer_internal is None
  assert str(qmodel.get_layer("out").activation) == "quantized_sigmoid(4)"
  _assert_same_weights(model.get_weights(), qmodel.get_weights())
  x = np.random.default_rng(5).normal(size=(4, 6, 3)).astype("float32")
  y = qmodel.predict(x, verbose=0)
  path = tmp_path / "rnn.keras"
  qmodel.save(path)
  np.testing.assert_array_equal(
      keras.models.load_model(path).predict(x, verbose=0), y)
  # Export of wrapped and recurrent layers.
  saved = model_save_quantized_weights(qmodel)
  assert len(saved["bigru"]["weights"]) == 6
  assert len(saved["lstm"]["weights"]) == 3


def test_nested_model_is_converted():
  inner = keras.Sequential([L.Input((4,)), L.Dense(3, name="inner_dense"),
                            L.Activation("relu", name="inner_act")],
                           name="inner")
  x = L.Input((4,))
  y = inner(x)
  y = L.Dense(2, name="outer_dense")(y)
  model = _randomize(keras.Model(x, y))
  qmodel = model_quantize(model, {"QDense": {"kernel_quantizer": Q4},
                                  "inner_act": "quantized_relu(3)"}, 4,
                          transfer_weights=True)
  new_inner = qmodel.get_layer("inner")
  assert type(new_inner.get_layer("inner_dense")) is QDense
  assert str(new_inner.get_layer("inner_act").quantizer) == (
      "quantized_relu(3,0)")
  assert type(qmodel.get_layer("outer_dense")) is QDense
  _assert_same_weights(model.get_weights(), qmodel.get_weights())


def test_key_priority_name_then_q_class_then_keras_class_then_default():
  model = keras.Sequential([L.Input((4,)), L.Dense(3, name="a"),
                            L.Dense(3, name="b"), L.Dense(3, name="c"),
                            L.Dense(3, name="d")])
  config = {"a": {"kernel_quantizer": "quantized_bits(2,0,1)"},
            "QDense": {"kernel_quantizer": "quantized_bits(3,0,1)"},
            "Dense": {"kernel_quantizer": "quantized_bits(4,0,1)"},
            "default": {"kernel": "quantized_bits(5,0,1)"}}
  q = model_quantize(model, config, 4)
  bits = [q.get_layer(n).kernel_quantizer_internal.bits for n in "abcd"]
  assert bits == [2, 3, 3, 3]
  del config["QDense"]
  q = model_quantize(model, config, 4)
  assert [q.get_layer(n).kernel_quantizer_internal.bits
          for n in "abcd"] == [2, 4, 4, 4]
  del config["Dense"]
  q = model_quantize(model, config, 4)
  assert [q.get_layer(n).kernel_quantizer_internal.bits
          for n in "abcd"] == [2, 5, 5, 5]
  # Without a kernel quantizer a layer stays float (QKeras's rule).
  q = model_quantize(model, {"a": {"bias_quantizer": Q4}}, 4)
  assert type(q.get_layer("a")) is L.Dense


@pytest.mark.filterwarnings("ignore:QAdaptiveActivation.*no step variable")
def test_activation_entries():
  x = L.Input((4,))
  a = L.Activation("relu", name="r")(x)
  b = L.Activation("tanh", name="t")(a)
  c = L.Activation("sigmoid", name="s")(b)
  d = L.LeakyReLU(0.25, name="leaky")(c)
  e = L.Activation("softmax", name="sm")(d)
  model = keras.Model(x, e)
  q = model_quantize(model, {"QActivation": {"relu": "quantized_relu(3)",
                                             "tanh": "",
                                             "leakyrelu": "quantized_relu("
                                             "3,0,0,0.25)"}}, 5)
  kinds = {l.name: l for l in q.layers}
  assert str(kinds["r"].quantizer) == "quantized_relu(3,0)"
  assert type(kinds["t"]) is L.Activation  # "" in a dict: unchanged
  assert type(kinds["s"]) is L.Activation  # not listed: unchanged
  assert str(kinds["leaky"].quantizer) == "quantized_relu(3,0,0,0.25)"
  assert type(kinds["sm"]) is L.Activation
  # An empty string: relu/tanh/sigmoid with activation_bits.
  q = model_quantize(model, {"QActivation": ""}, 5)
  kinds = {l.name: l for l in q.layers}
  assert str(kinds["t"].quantizer) == "quantized_tanh(5)"
  assert str(kinds["s"].quantizer) == "quantized_sigmoid(5)"
  assert str(kinds["leaky"].quantizer) == "quantized_relu(5,0,0,0.25)"
  assert kinds["sm"].quantizer.__name__ == "softmax"  # QKeras keeps it
  # A plain string converts every activation layer (even softmax).
  q = model_quantize(model, {"QActivation": "quantized_bits(4,0,1)"}, 4)
  assert all(type(l) is QActivation for l in q.layers[1:])
  # QAdaptiveActivation: bits from the string.
  q = model_quantize(model, {"QAdaptiveActivation": "quantized_relu(6)",
                             "QActivation": {"tanh": "quantized_tanh(3)"}},
                     4, prefer_qadaptiveactivation=True)
  r = q.get_layer("r")
  assert type(r) is QAdaptiveActivation and r.total_bits == 6
  q = model_quantize(model, {"QAdaptiveActivation": "quantized_relu(6)",
                             "QActivation": {"tanh": "quantized_tanh(3)"}}, 4)
  assert type(q.get_layer("t")) is QActivation
  assert type(q.get_layer("r")) is L.Activation  # dict has no "relu"
  with pytest.raises(ValueError, match="QAdaptiveActivation entry for "
                     "layer 'r'"):
    model_quantize(model, {"QAdaptiveActivation": "quantized_relu(6,2)"}, 4)


def test_leaky_relu_with_a_slope_that_is_not_a_power_of_two():
  model = keras.Sequential([L.Input((2,)), L.LeakyReLU(0.3, name="leaky")])
  with pytest.raises(ValueError, match="layer 'leaky'.*negative_slope"):
    model_quantize(model, {"QActivation": ""}, 4)


def test_quantize_activation():
  for act, expected in [("relu", "quantized_relu(3)"),
                        ("tanh", "quantized_tanh(3)"),
                        ("sigmoid", "quantized_sigmoid(3)"),
                        ("linear", "linear"), ("softmax", "softmax")]:
    config = {"activation": act}
    quantize_activation(config, 3)
    assert config["activation"] == expected
  config = {"activation": keras.activations.tanh}
  quantize_activation(config, 2)
  assert config["activation"] == "quantized_tanh(2)"


def test_bn_folding_with_transferred_weights():
  model = mobilenet_like()
  fine = "quantized_bits(16,2,1,alpha=1)"
  config = {"QConv2DBatchnorm": {"kernel_quantizer": fine,
                                 "bias_quantizer": fine,
                                 "folding_mode": "batch_stats_folding",
                                 "ema_freeze_delay": 10},
            "QDepthwiseConv2D": {"depthwise_quantizer": fine}}
  qmodel = model_quantize(model, config, 4, transfer_weights=True,
                          enable_bn_folding=True)
  kinds = {l.name: type(l).__name__ for l in qmodel.layers}
  assert kinds["stem"] == "QConv2DBatchnorm"
  assert kinds["dw1"] == "QDepthwiseConv2DBatchnorm"
  assert "stem_bn" not in kinds and "dw1_bn" not in kinds
  stem = qmodel.get_layer("stem")
  assert stem.folding_mode == "batch_stats_folding"
  assert stem.ema_freeze_delay == 10 and stem.use_bias
  assert qmodel.get_layer("dw1").folding_mode == "ema_stats_folding"
  bn = model.get_layer("stem_bn")
  np.testing.assert_array_equal(np_out(stem.batchnorm.moving_variance),
                                np_out(bn.moving_variance))
  np.testing.assert_array_equal(np_out(stem.batchnorm.gamma),
                                np_out(bn.gamma))
  # 16-bit quantizers: the folded model computes what the float one does.
  x = np.random.default_rng(6).normal(size=(8, 12, 12, 3)).astype("float32")
  float_stem = keras.Model(model.input, model.get_layer("stem_bn").output)
  q_stem = keras.Model(qmodel.input, stem.output)
  np.testing.assert_allclose(q_stem.predict(x, verbose=0),
                             float_stem.predict(x, verbose=0), atol=2e-3)
  # Nothing to fold: the flag has no effect.
  q = model_quantize(rnn_model(), RNN_CONFIG, 4, enable_bn_folding=True)
  assert type(q.get_layer("lstm")) is QLSTM


def test_unsupported_layers_give_one_warning():
  x = L.Input((5,), dtype="int32")
  y = L.Embedding(10, 4, name="emb")(x)
  y = L.LayerNormalization(name="ln")(y)
  y = L.Flatten()(y)
  y = L.Dense(3, name="d")(y)
  model = keras.Model(x, y)
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    q = model_quantize(model, {"QDense": {"kernel_quantizer": Q4}}, 4,
                       transfer_weights=True)
  messages = [str(w.message) for w in caught if "model_quantize" in
              str(w.message)]
  assert messages == ["model_quantize: these layers have no quantized "
                      "counterpart and are copied unquantized: emb "
                      "(Embedding), ln (LayerNormalization)."]
  assert type(q.get_layer("emb")) is L.Embedding
  _assert_same_weights(model.get_weights(), q.get_weights())


@pytest.mark.parametrize("config, message", [
    ({"conv_99": {"kernel_quantizer": Q4}},
     "quantizer_config key 'conv_99' names no layer"),
    ({"QDence": {"kernel_quantizer": Q4}},
     "quantizer_config key 'QDence'"),
    ({"QDense": {"kernel_quantizer": "quantized_bitz(4)"}},
     r"quantizer_config\['QDense'\]\['kernel_quantizer'\] = "
     "'quantized_bitz\\(4\\)' is not a valid quantizer"),
    ({"QDense": {"kernel_quantiser": Q4}},
     r"quantizer_config\['QDense'\]\['kernel_quantiser'\]: unknown field"),
    ({"QDense": Q4}, r"quantizer_config\['QDense'\] must be a dict"),
    ({"QActivation": "quantized_relu(4"}, "not a valid quantizer"),
    ({"QActivation": {"relu": "import os"}}, "not a valid quantizer"),
    ("QDense", "argument 'quantizer_config' must be a dict"),
])
def test_bad_configs(config, message):
  with pytest.raises(ValueError, match=message):
    model_quantize(resnet_like(), config, 4)


def test_bad_model():
  with pytest.raises(ValueError, match="argument 'model' must be a Keras"):
    model_quantize(L.Dense(3), {}, 4)


# ---------------------------------------------------------------------------
# model_save_quantized_weights
# ---------------------------------------------------------------------------


def _auto_po2_codes(hw, step, bits, integer, keep_negative=True):
  """The integer codes ``z`` (``w == z * step``) of QKeras's exported
  ``auto_po2`` weights ``hw = w * m / m_i``."""
  m = 2.0**(bits - keep_negative)
  return np.asarray(hw) * 2.0**integer / m / np.asarray(step)


def _small_qmodel():
  x = L.Input((6, 6, 2), name="in")
  y = QConv2D(4, 3, kernel_quantizer=Q4_AUTO,
              bias_quantizer="quantized_po2(4)", name="conv")(x)
  y = QBatchNormalization(name="bn")(y)
  y = QActivation("quantized_relu(4)", name="act")(y)
  y = QAveragePooling2D(2, average_quantizer="quantized_bits(8,0,1)",
                        name="pool")(y)
  y = L.Flatten()(y)
  y = L.Dense(3, name="float_dense")(y)
  y = keras.layers.TimeDistributed(
      QDense(2, kernel_quantizer="quantized_relu_po2(4)"), name="td")(
          L.Reshape((3, 1))(y))
  return _randomize(keras.Model(x, y), 7)


def test_model_save_quantized_weights_formats(capsys, caplog):
  model = _small_qmodel()
  before = _weights(model)
  with caplog.at_level(logging.INFO, logger="qkeras._export"):
    saved = model_save_quantized_weights(model)
  _assert_same_weights(before, model.get_weights())  # not mutated
  # QKeras printed these lines; they are logged (issue 21).
  assert capsys.readouterr().out == ""
  assert caplog.messages == [
      "... quantizing model", "  float_dense has not been quantized",
      "Fuse conv output with bn for hardware inference."]

  conv = model.get_layer("conv")
  kernel, bias = conv.get_weights()
  q_kernel = np_out(conv.kernel_quantizer_internal(kernel))
  entry = saved["conv"]
  # QKeras: hw = w * m / m_i (m = 8, m_i = 1), not divided by the scale;
  # scales = scale * m_i / m, the step of the power-of-two grid.
  hw, step = entry["weights"][0], entry["scales"][0]
  np.testing.assert_array_equal(hw, q_kernel * 8)
  np.testing.assert_array_equal(
      step, np_out(conv.kernel_quantizer_internal.scale) / 8)
  codes = _auto_po2_codes(hw, step, bits=4, integer=0)
  np.testing.assert_array_equal(codes * step, q_kernel)
  assert np.all(codes == np.round(codes)) and np.all(np.abs(codes) <= 7)
  # po2 bias: exponents and signs.
  q_bias = np_out(conv.bias_quantizer_internal(bias))
  np.testing.assert_array_equal(entry["weights"][1],
                                np.round(np.log2(np.abs(q_bias))))
  np.testing.assert_array_equal(entry["signs"][1], np.where(q_bias < 0, -1, 1))
  assert entry["signs"][0] == [] and entry["scales"][1] == []
  # The batch norm fused into the convolution.
  bn = model.get_layer("bn")
  g, b, mean, var = bn.get_weights()
  qg = np_out(bn.gamma_quantizer_internal(g))
  qv = np_out(bn.variance_quantizer_internal(var))
  inv = qg / np.sqrt(qv + np.float32(bn.epsilon))
  assert entry["enable_bn_fusing"] and entry["fused_bn_layer_name"] == "bn"
  np.testing.assert_allclose(entry["bn_inv"], inv, rtol=1e-6)
  qb = np_out(bn.beta_quantizer_internal(b))
  qm = np_out(bn.mean_quantizer_internal(mean))
  np.testing.assert_allclose(entry["fused_bias"], inv * q_bias + qb - inv * qm,
                             rtol=1e-6, atol=1e-7)
  assert saved["act"] == {"weights": [], "enable_bn_fusing": False}
  pool = saved["pool"]
  assert pool["pool_area"] == 4 and pool["mult_factor"] == np.float32(0.25)
  assert pool["q_mult_factor"] == np.float32(0.25)
  td = saved["td"]["weights"]
  q_td = np_out(model.get_layer("td").layer.kernel_quantizer_internal(
      model.get_layer("td").get_weights()[0]))
  with np.errstate(divide="ignore"):
    np.testing.assert_array_equal(td[0], np.round(np.log2(np.abs(q_td))))
  assert "signs" not in saved["td"]  # relu_po2 has no sign (QKeras)
  assert "float_dense" not in saved


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_model_save_quantized_weights_file(tmp_path, suffix):
  model = _small_qmodel()
  before = _weights(model)
  path = str(tmp_path / ("q" + suffix))
  model_save_quantized_weights(model, path)
  _assert_same_weights(before, model.get_weights())
  copy = clone_model(model)
  copy.load_weights(path)
  conv = model.get_layer("conv")
  np.testing.assert_array_equal(
      copy.get_layer("conv").get_weights()[0],
      np_out(conv.kernel_quantizer_internal(conv.get_weights()[0])))
  np.testing.assert_array_equal(copy.get_layer("float_dense").get_weights()[0],
                                model.get_layer("float_dense").get_weights()[0])
  with pytest.raises(ValueError, match="argument 'filename' must end with"):
    model_save_quantized_weights(model, str(tmp_path / "q.npz"))


def test_sparsity(capsys):
  model = keras.Sequential([L.Input((4,)),
                            QDense(4, kernel_quantizer="quantized_bits(2,0,1,alpha=1)",
                                   bias_quantizer="quantized_bits(2,0,1)",
                                   name="d1"),
                            L.Dense(2, name="d2")], name="sparse")
  model.get_layer("d1").set_weights([
      np.array([[0.1, 0.5, -0.5, 0.2]] * 4, np.float32),
      np.zeros(4, np.float32)])
  before = _weights(model)
  total, per_layer = get_model_sparsity(model, per_layer=True)
  _assert_same_weights(before, model.get_weights())
  # quantized_bits(2,0,1) zeroes |w| < 0.25: 8 of 16 kernel, 4 of 4 bias.
  assert per_layer == [("d1", 12 / 20)]
  assert total == 12 / 20
  assert get_model_sparsity(model, allow_list=["QConv2D"]) == 0.0
  capsys.readouterr()
  print_model_sparsity(model)
  assert capsys.readouterr().out == (
      "Model Sparsity Summary (sparse)\n--\nd1: (kernel, 0.0)\n"
      "d2: (kernel, 0.0)\n\n\n")


def test_quantized_model_debug(capsys):
  x = L.Input((2,))
  y = QDense(2, kernel_quantizer="quantized_bits(4,0,1,alpha='auto_po2')",
             bias_quantizer="quantized_bits(4,0,1)", name="d1")(x)
  y = QActivation("quantized_relu(4)", name="a1")(y)
  model = keras.Model(x, y)
  model.get_layer("d1").set_weights([np.array([[0.1, -0.2], [0.15, 0.18]],
                                              np.float32), np.zeros(2)])
  data = np.array([[1.0, -2.0], [3.0, 0.5]], np.float32)
  quantized_model_debug(model, data)
  out = capsys.readouterr().out.splitlines()
  assert out[0] == "input".ljust(30) + "  -2.0000   3.0000"
  # auto_po2 (by hand): column 0 [0.1, 0.15] -> s = 1/64, codes 6, 7,
  # scale 8*s = 0.125; column 1 [-0.2, 0.18] -> s = 1/32, codes -6, 6,
  # scale 0.25. Printed: w / scale.
  prediction = keras.Model(x, model.get_layer("d1").output).predict(
      data, verbose=0)
  expected = ("d1                            "
              f" {prediction.min(): 8.4f} {prediction.max(): 8.4f}"
              " ( -0.7500   0.8750) (  0.0000   0.0000)"
              " a(  0.125000   0.250000)")
  assert out[1] == expected
  assert out[2] == "a1".ljust(30) + "   0.0000   0.3125"  # 5/16
  with pytest.raises(ValueError, match="plt_instance"):
    quantized_model_debug(model, data, plot=True)


def test_quantized_model_dump(tmp_path, capsys, caplog):
  model = _small_qmodel()
  x = np.random.default_rng(8).normal(size=(3, 6, 6, 2)).astype("float32")
  with caplog.at_level(logging.INFO, logger="qkeras._export"):
    out_dir = quantized_model_dump(model, x, str(tmp_path / "dump"),
                                   layers_to_dump=["act", "pool"])
  act = keras.Model(model.input, model.get_layer("act").output).predict(
      x, verbose=0)
  dumped = np.fromfile(os.path.join(out_dir, "act.bin"), np.float32)
  np.testing.assert_array_equal(dumped, act.ravel())
  assert sorted(os.listdir(out_dir)) == ["act.bin", "pool.bin"]
  assert capsys.readouterr().out == ""  # logged, as of issue 21
  assert "writing the layer output tensor to " in caplog.text
  temp_dir = quantized_model_dump(model, x, layers_to_dump=["conv"])
  assert os.path.exists(os.path.join(temp_dir, "conv.bin"))
  with pytest.raises(ValueError, match="'layers_to_dump'.*'nope'"):
    quantized_model_dump(model, x, str(tmp_path), layers_to_dump=["nope"])


def test_clone_model():
  model = _small_qmodel()
  copy = clone_model(model)
  assert copy is not model
  _assert_same_weights(model.get_weights(), copy.get_weights())
  x = np.random.default_rng(9).normal(size=(2, 6, 6, 2)).astype("float32")
  np.testing.assert_array_equal(copy.predict(x, verbose=0),
                                model.predict(x, verbose=0))


def test_clone_model_and_freeze_auto_po2_scale(tmp_path):
  x = L.Input((5, 5, 2))
  y = QConv2D(4, 2, kernel_quantizer=Q4_AUTO, name="conv")(x)
  y = QBatchNormalization(gamma_quantizer=None, variance_quantizer=None,
                          inverse_quantizer="quantized_bits(6,2,1,"
                          "alpha='auto_po2')", name="bn")(y)
  y = L.Flatten()(y)
  y = QDense(3, kernel_quantizer=Q4_AUTO, name="dense")(y)
  model = _randomize(keras.Model(x, y), 10)
  data = np.random.default_rng(11).normal(size=(4, 5, 5, 2)).astype("float32")
  expected = model.predict(data, verbose=0)
  frozen, hw = clone_model_and_freeze_auto_po2_scale(
      model, quantize_model_weights=True)
  for name, argument in [("conv", "kernel_quantizer"),
                         ("dense", "kernel_quantizer"),
                         ("bn", "inverse_quantizer")]:
    q = getattr(frozen.get_layer(name), argument + "_internal")
    assert q.post_training_scale is not None, name
  np.testing.assert_array_equal(frozen.predict(data, verbose=0), expected)
  assert set(hw) >= {"conv", "dense", "bn"}
  path = tmp_path / "m.keras"
  model.save(path)
  from_path, none = clone_model_and_freeze_auto_po2_scale(
      orig_model_path=str(path))
  assert none is None
  np.testing.assert_array_equal(from_path.predict(data, verbose=0), expected)
  with pytest.raises(ValueError, match="exactly one"):
    clone_model_and_freeze_auto_po2_scale()
  with pytest.raises(ValueError, match="exactly one"):
    clone_model_and_freeze_auto_po2_scale(model, str(path))
  two = keras.Sequential([L.Input((3,)), QDense(
      2, kernel_quantizer=Q4_AUTO, bias_quantizer=Q4_AUTO, name="two")])
  with pytest.raises(ValueError, match="more than one auto_po2"):
    clone_model_and_freeze_auto_po2_scale(two)


_FREEZE_VALUES = [0.23, 2.76, 0.1, 0.33, 0.53, 0.16, 0.3, 1.7, -0.9, 1.43,
                  2.31, -0.2, -1.7, 0.39, -2.03, 1.79]


def _freeze_golden_model():
  """QKeras's test model (tests/utils_test.py): a strided auto_po2 QConv2D,
  then (ours: upstream's dense kernel is not in the reference) a QDense."""
  x = L.Input((4, 4, 1), name="input")
  y = QConv2D(4, 2, strides=2, use_bias=False, name="conv",
              kernel_quantizer=quantizers.quantized_bits(
                  4, 2, 1, alpha="auto_po2"))(x)
  y = L.Flatten(name="flatten")(y)
  y = QDense(2, use_bias=False, name="dense",
             kernel_quantizer=quantizers.quantized_bits(
                 4, 2, 1, alpha="auto_po2"))(y)
  model = keras.Model(x, y)
  values = np.array(_FREEZE_VALUES, np.float32)
  model.get_layer("conv").set_weights([values.reshape(2, 2, 1, 4)])
  c = values.reshape(4, 4)
  dense = np.stack([np.concatenate([c[:, 0], c[:, 2], c[:, 3], c[:, 0]]),
                    np.concatenate([c[:, 2], c[:, 3], c[:, 0], -c[:, 2]])],
                   axis=1)
  model.get_layer("dense").set_weights([dense])
  return model


def test_clone_model_and_freeze_auto_po2_scale_qkeras09_golden(tmp_path):
  """QKeras's own golden numbers: hw weights are ``w * m / m_i``
  (``m = 2**3``, ``m_i = 2**2``: twice the quantized weights), not the
  quantized weights divided by the scale; the scales are the steps."""
  model = _freeze_golden_model()
  data = np.random.default_rng(12).normal(size=(3, 4, 4, 1)).astype(
      "float32")
  frozen, hw = clone_model_and_freeze_auto_po2_scale(
      model, quantize_model_weights=True)
  conv = hw["conv"]
  np.testing.assert_array_equal(conv["weights"][0], np.array(
      [0.5, 6, 0, 0.5, 1, 0, 0.5, 3.5, -2, 3, 3.5, -0.5, -3.5, 1, -3.5, 3.5],
      np.float32).reshape(2, 2, 1, 4))
  np.testing.assert_array_equal(conv["scales"][0],
                                np.array([[[[0.25, 0.5, 0.25, 0.25]]]]))
  # The quantized kernel (the frozen quantizer gives the auto one's values).
  q_conv = frozen.get_layer("conv")
  np.testing.assert_array_equal(
      np_out(q_conv.kernel_quantizer_internal(q_conv.get_weights()[0])),
      np.array([0.25, 3, 0, 0.25, 0.5, 0, 0.25, 1.75, -1, 1.5, 1.75, -0.25,
                -1.75, 0.5, -1.75, 1.75], np.float32).reshape(2, 2, 1, 4))
  np.testing.assert_array_equal(
      q_conv.kernel_quantizer_internal.post_training_scale,
      np.array([[[[0.5, 1, 0.5, 0.5]]]], np.float32))
  dense = hw["dense"]
  np.testing.assert_array_equal(dense["weights"][0], np.array(
      [0.5, 0, 1, 0.5, -2, 3.5, -3.5, -3.5, 0, 0.5, 0.5, 3.5, 3.5, -0.5,
       -3.5, 3.5, 0.5, 0.5, 3.5, 1, -0.5, -2, 3.5, -3.5, 0.5, 0, 1, -0.5,
       -2, -3.5, -3.5, 3.5], np.float32).reshape(16, 2))
  np.testing.assert_array_equal(dense["scales"][0], np.array([[0.25, 0.25]]))
  np.testing.assert_array_equal(frozen.predict(data, verbose=0),
                                model.predict(data, verbose=0))
  # The same numbers after a save/load round trip of the frozen model.
  path = str(tmp_path / "frozen.keras")
  frozen.save(path)
  _, again = clone_model_and_freeze_auto_po2_scale(
      orig_model_path=path, quantize_model_weights=True)
  for name in ("conv", "dense"):
    for key in ("weights", "scales"):
      np.testing.assert_array_equal(again[name][key][0], hw[name][key][0])


def test_qbidirectional_round_trip_of_quantized_weights():
  model = model_quantize(rnn_model(), RNN_CONFIG, 4, transfer_weights=True)
  saved = model_save_quantized_weights(model)
  fwd = model.get_layer("bigru").forward_layer.cell
  q = np_out(fwd.kernel_quantizer_internal(fwd.kernel))
  entry = saved["bigru"]
  np.testing.assert_array_equal(entry["weights"][0], q * 32)  # w * m / m_i
  codes = _auto_po2_codes(entry["weights"][0], entry["scales"][0], bits=6,
                          integer=0)
  np.testing.assert_array_equal(codes * entry["scales"][0], q)


# ---------------------------------------------------------------------------
# Parity with QKeras 0.9.0 (tests/fixtures/make_qkeras09_model_quantize_
# fixtures.py): the same float model and config give the same Q-layers,
# quantizers and predictions.
# ---------------------------------------------------------------------------

_FIXTURES = os.path.join(os.path.dirname(__file__), "data",
                         "qkeras09_model_quantize")


def _quantizer_texts(layer):
  inner = getattr(layer, "forward_layer", None)
  layer = getattr(inner, "cell", None) or getattr(layer, "cell", None) or layer
  result = {}
  for arg in ("kernel_quantizer", "bias_quantizer", "depthwise_quantizer",
              "recurrent_quantizer", "state_quantizer", "average_quantizer",
              "gamma_quantizer", "beta_quantizer", "mean_quantizer",
              "variance_quantizer"):
    q = getattr(layer, arg + "_internal", None)
    if q is not None:
      result[arg] = str(q)
  for arg in ("activation", "recurrent_activation"):
    a = getattr(layer, arg, None)
    if a is not None:
      result[arg] = getattr(a, "__name__", str(a))
  if hasattr(layer, "quantizer"):
    result["quantizer"] = str(layer.quantizer)
  return result


def _qkeras09_cnn():
  x = L.Input((8, 8, 3), name="image")
  y = L.Conv2D(6, 3, padding="same", name="conv1")(x)
  y = L.BatchNormalization(name="bn1")(y)
  y = L.Activation("relu", name="act1")(y)
  r = L.Conv2D(6, 3, padding="same", activation="relu", name="conv2")(y)
  y = L.Add(name="add")([y, r])
  y = L.DepthwiseConv2D(3, name="dw")(y)
  y = L.ReLU(name="relu")(y)
  y = L.AveragePooling2D(2, name="pool")(y)
  y = L.Flatten(name="flat")(y)
  y = L.Dense(10, activation="tanh", name="dense")(y)
  y = L.Dense(4, name="logits")(y)
  y = L.Activation("softmax", name="softmax")(y)
  return keras.Model(x, y, name="cnn")


def _qkeras09_rnn():
  x = L.Input((5, 3), name="seq")
  y = L.Bidirectional(L.LSTM(4, return_sequences=True), name="bilstm")(x)
  y = L.GRU(3, return_sequences=True, reset_after=False, name="gru")(y)
  y = L.SimpleRNN(3, name="rnn")(y)
  y = L.Dense(2, activation="sigmoid", name="out")(y)
  return keras.Model(x, y, name="rnn")


def _qkeras09_mlp():
  return keras.Sequential([
      L.Input((6,)),
      L.Dense(16, activation="relu", name="fc1"),
      L.Dense(8, name="fc2"),
      L.Activation("sigmoid", name="sig"),
      L.Dense(3, activation="softmax", name="fc3"),
  ], name="mlp")


_QKERAS09_MODELS = {"cnn": _qkeras09_cnn, "rnn": _qkeras09_rnn,
                    "mlp": _qkeras09_mlp}


@pytest.mark.parametrize("name", ["cnn", "rnn", "mlp"])
def test_same_result_as_qkeras09(name):
  import json  # pylint: disable=g-import-not-at-top
  with open(os.path.join(_FIXTURES, name + ".json")) as f:
    expected = json.load(f)
  data = np.load(os.path.join(_FIXTURES, name + ".npz"))
  model = _QKERAS09_MODELS[name]()
  model.set_weights([data[f"w_{i}"] for i in range(len(model.weights))])
  qmodel = model_quantize(model, expected["config"],
                          expected["activation_bits"], transfer_weights=True)
  got = [[l.name, type(l).__name__, _quantizer_texts(l)]
         for l in qmodel.layers]
  want = [l for l in expected["layers"] if l[1] != "InputLayer"]
  got = [l for l in got if l[1] != "InputLayer"]
  assert got == want
  y = qmodel.predict(data["x"], verbose=0)
  if not TENSORFLOW:  # softmax/sigmoid/tanh outputs: the backend's kernels
    np.testing.assert_allclose(y, data["y"], rtol=0,
                               atol=2.0**-20 * np.abs(data["y"]).max())
  elif name == "rnn":  # float recurrences: TF 2.12 vs 2.21 graph rewrites
    np.testing.assert_array_max_ulp(y, data["y"], maxulp=4)
  else:
    np.testing.assert_array_equal(y, data["y"])


def test_get_config_lookup_and_tfoplambda_helpers():
  from qkeras.utils import get_config  # pylint: disable=g-import-not-at-top
  from qkeras.utils import get_y_from_TFOpLambda  # pylint: disable=g-import-not-at-top
  from qkeras.utils import is_TFOpLambda_layer  # pylint: disable=g-import-not-at-top
  config = {"d1": {"kernel_quantizer": "binary"},
            "QDense": {"kernel_quantizer": Q4}}
  layer = {"class_name": "Dense", "config": {"name": "d1"}}
  assert get_config(config, layer, "QDense", "kernel_quantizer") == "binary"
  other = {"class_name": "Dense", "config": {"name": "d2"}}
  assert get_config(config, other, "QDense", "kernel_quantizer") == Q4
  assert get_config(config, other, "QDense", "bias_quantizer") is None
  assert get_config(config, other, "QConv2D") is None
  assert get_config(config, L.Dense(2, name="d1"), "QDense") == config["d1"]
  assert not is_TFOpLambda_layer(L.Dense(2))
  cfg = {"layers": [{"class_name": "TFOpLambda",
                     "config": {"name": "tf.math.multiply"},
                     "inbound_nodes": [["x", 0, 0, {"y": 3.0}]]}]}
  op = type("TFOpLambda", (), {"name": "tf.math.multiply"})()
  assert is_TFOpLambda_layer(op)
  assert get_y_from_TFOpLambda(cfg, op) == 3.0
  assert get_y_from_TFOpLambda(cfg, L.Dense(2)) is None


def test_print_qstats_of_a_converted_model(capsys):
  from qkeras.estimate import print_qstats  # pylint: disable=g-import-not-at-top
  model = _randomize(keras.Sequential([
      L.Input((6, 6, 1)), L.Conv2D(4, 3, name="conv"),
      L.Activation("relu", name="act"), L.Flatten(name="flat"),
      L.Dense(2, name="dense")]), 12)
  qmodel = model_quantize(model, {
      "QConv2D": {"kernel_quantizer": Q4, "bias_quantizer": Q4},
      "QDense": {"kernel_quantizer": Q4, "bias_quantizer": Q4},
      "QActivation": "quantized_relu(4,2)"}, 4, transfer_weights=True)
  before = _weights(qmodel)
  total, per_layer = get_model_sparsity(qmodel, per_layer=True)
  capsys.readouterr()
  print_qstats(qmodel)
  _assert_same_weights(before, qmodel.get_weights())
  sparsity = dict(per_layer)
  zeros = {name: weights["kernel"].zeros for name, weights in
           check_quantizer_collapse(qmodel, warn=False).items()}
  # conv: 8-bit unsigned input (the input layer's quantized_relu(8,0)) x
  # 4-bit signed weights, 4*4*4 outputs * 3*3*1 taps = 576; dense: 4-bit
  # unsigned activations x 4-bit weights, 64*2 = 128. Bits: 170 weights * 4.
  assert capsys.readouterr().out == "\n".join([
      "",
      "Number of operations in model:",
      "    conv                          : 576   (smult_4_8)",
      "    dense                         : 128   (smult_4_4)",
      "",
      "Number of operation types in model:",
      "    smult_4_4                     : 128",
      "    smult_4_8                     : 576",
      "",
      "Weight profiling:",
      "    conv_weights                   : 36    (4-bit unit)",
      "    conv_bias                      : 4     (4-bit unit)",
      "    dense_weights                  : 128   (4-bit unit)",
      "    dense_bias                     : 2     (4-bit unit)",
      "    ----------------------------------------",
      "    Total Bits                     :   680",
      "",
      "Weight sparsity:",
      f"    conv                           : {sparsity['conv']:.4f}",
      f"    dense                          : {sparsity['dense']:.4f}",
      "    ----------------------------------------",
      f"    Total Sparsity                 : {total:.4f}",
      # Not in QKeras (docs/compat.md): Q4 (alpha="auto_po2") has no fixed
      # clip limits, hence "-".
      "",
      "Weight quantization (zeros, clipped):",
      f"    conv/kernel                    : {zeros['conv']:.4f}  -",
      f"    dense/kernel                   : {zeros['dense']:.4f}  -",
      ""])


def test_utils_is_a_facade():
  """``qkeras.utils`` defines nothing of its own: every public name is
  re-exported from a model reader, and upstream's names still resolve
  (``qkeras.utils.__all__``, ``qkeras.bn_folding_utils``)."""
  import inspect  # pylint: disable=g-import-not-at-top
  from qkeras import bn_folding_utils  # pylint: disable=g-import-not-at-top
  from qkeras import utils  # pylint: disable=g-import-not-at-top
  for name, value in vars(utils).items():
    if name.startswith("__") or inspect.ismodule(value):
      continue
    module = getattr(value, "__module__", None)
    if module is not None:
      assert module != "qkeras.utils", name
  for name in utils.__all__:
    assert getattr(utils, name) is not None, name
  assert callable(utils._add_supported_quantized_objects)  # pylint: disable=protected-access
  for name in bn_folding_utils.__all__ + ["is_folded"]:
    assert callable(getattr(bn_folding_utils, name)), name
  source = inspect.getsource(utils)
  assert "\ndef " not in source and "\nclass " not in source


def _qkeras_imports(path):
  """The qkeras modules a source file imports (top level and in functions)."""
  import ast  # pylint: disable=g-import-not-at-top
  tree = ast.parse(path.read_text())
  names = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      names.add(node.module)
      names.update(f"{node.module}.{a.name}" for a in node.names)
  return {n for n in names if n.startswith("qkeras")}


def test_model_readers_import_no_tool():
  """The model readers sit below the tools: none of them imports (even
  lazily) ``utils``, ``estimate``, ``bn_folding_utils`` or QTools; and only
  ``_graph`` reads Keras's private graph attributes."""
  import pathlib  # pylint: disable=g-import-not-at-top
  import re  # pylint: disable=g-import-not-at-top
  import qkeras  # pylint: disable=g-import-not-at-top
  root = pathlib.Path(qkeras.__file__).parent
  tools = ("qkeras.utils", "qkeras.estimate", "qkeras.bn_folding_utils",
           "qkeras.qtools", "qkeras.autoqkeras", "qkeras.hls4ml_support")
  for reader in ("_graph", "_export", "_convert", "_io"):
    imported = _qkeras_imports(root / f"{reader}.py")
    assert not {n for n in imported if n.startswith(tools)}, reader
  private = re.compile(r"_nodes_by_depth|_inbound_nodes|_outbound_nodes|"
                       r"_keras_history|parent_nodes|\.operation\b")
  for path in root.rglob("*.py"):
    relative = path.relative_to(root).as_posix()
    if relative == "_graph.py" or relative.startswith("autoqkeras/"):
      continue
    assert not private.search(path.read_text()), relative
