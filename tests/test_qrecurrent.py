"""qkeras.qrecurrent: QSimpleRNN, QLSTM, QGRU (cells and layers) and
QBidirectional. Outputs are checked against the recurrences written out with
the quantized weights."""

import io
import json
import zipfile

import h5py
import keras
import numpy as np
import pytest
from fresh_process import predict_in_fresh_process

from multibackend import JAX
from multibackend import np_out
from qkeras import quantizers as Q
from qkeras.qrecurrent import (QBidirectional, QGRU, QGRUCell, QLSTM,
                               QLSTMCell, QSimpleRNN, QSimpleRNNCell)

F32 = np.float32
QK = "quantized_bits(4,0,1,alpha=1)"
QS = "quantized_bits(6,1,1,alpha=1)"


def _q(text, x):
  return np_out(Q.get_quantizer(text)(np.asarray(x, F32)))


def _set_random(layer, seed=0):
  rng = np.random.RandomState(seed)
  layer.set_weights([(np.round(rng.normal(size=w.shape) * 0.5 * 256) /
                      256).astype(F32) for w in layer.weights])


def _run(layer, x, **call_kwargs):
  inp = keras.Input(x.shape[1:])
  model = keras.Model(inp, layer(inp, **call_kwargs))
  return model


def _x(shape=(3, 5, 2), seed=1):
  rng = np.random.RandomState(seed)
  return (np.round(rng.normal(size=shape) * 16) / 16).astype(F32)


def _hard_sigmoid(v):
  return np.clip(0.5 * v + 0.5, 0, 1).astype(F32)


def _tanh_q(v):  # quantized_tanh() with QKeras's hard sigmoid
  return np_out(Q.quantized_tanh()(np.asarray(v, F32)))


def test_simple_rnn_recurrence():
  layer = QSimpleRNN(4, kernel_quantizer=QK, recurrent_quantizer=QK,
                     bias_quantizer=QK, state_quantizer=QS,
                     return_sequences=True)
  x = _x()
  model = _run(layer, x)
  _set_random(layer)
  kernel, recurrent, bias = [_q(QK, w) for w in layer.get_weights()]
  h = np.zeros((3, 4), F32)
  outputs = []
  for t in range(5):
    h = _tanh_q(x[:, t] @ kernel + bias + _q(QS, h) @ recurrent)
    outputs.append(h)
  np.testing.assert_allclose(model.predict(x, verbose=0),
                             np.stack(outputs, 1), atol=1e-6)


@pytest.mark.parametrize("implementation", [1, 2])
def test_lstm_recurrence(implementation):
  layer = QLSTM(3, kernel_quantizer=QK, recurrent_quantizer=QK,
                bias_quantizer=QK, state_quantizer=QS,
                implementation=implementation, return_sequences=True)
  x = _x()
  model = _run(layer, x)
  _set_random(layer, 2)
  kernel, recurrent, bias = [_q(QK, w) for w in layer.get_weights()]
  h = c = np.zeros((3, 3), F32)
  outputs = []
  for t in range(5):
    z = x[:, t] @ kernel + bias + _q(QS, h) @ recurrent
    i, f, g, o = np.split(z, 4, axis=1)
    c = _hard_sigmoid(f) * _q(QS, c) + _hard_sigmoid(i) * _tanh_q(g)
    h = _hard_sigmoid(o) * _tanh_q(c)
    outputs.append(h)
  np.testing.assert_allclose(model.predict(x, verbose=0),
                             np.stack(outputs, 1), atol=1e-6)


@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_recurrence(reset_after):
  layer = QGRU(3, kernel_quantizer=QK, recurrent_quantizer=QK,
               bias_quantizer=QK, state_quantizer=QS, reset_after=reset_after,
               return_sequences=True)
  x = _x()
  model = _run(layer, x)
  _set_random(layer, 3)
  kernel, recurrent, bias = [_q(QK, w) for w in layer.get_weights()]
  in_bias, rec_bias = (bias[0], bias[1]) if reset_after else (bias, 0 * bias)
  h = np.zeros((3, 3), F32)
  outputs = []
  for t in range(5):
    hq = _q(QS, h)
    xz, xr, xh = np.split(x[:, t] @ kernel + in_bias, 3, axis=1)
    rz, rr, rh = np.split(recurrent, 3, axis=1)
    bz, br, bh = np.split(rec_bias, 3)
    z = _hard_sigmoid(xz + hq @ rz + bz)
    r = _hard_sigmoid(xr + hq @ rr + br)
    if reset_after:
      hh = _tanh_q(xh + r * (hq @ rh + bh))
    else:
      hh = _tanh_q(xh + (r * hq) @ rh)
    h = z * hq + (1 - z) * hh
    outputs.append(h)
  np.testing.assert_allclose(model.predict(x, verbose=0),
                             np.stack(outputs, 1), atol=1e-6)


def test_gru_without_recurrent_quantizer_uses_the_recurrent_kernel():
  # QKeras used the input kernel there; a 3-feature input makes the two
  # kernels the same shape, so the difference shows.
  layer = QGRU(3, kernel_quantizer=QK)
  x = _x((2, 4, 3))
  model = _run(layer, x)
  _set_random(layer, 4)
  ref = keras.layers.GRU(3, activation=Q.quantized_tanh(),
                         recurrent_activation=Q.hard_sigmoid,
                         reset_after=False)
  ref_model = _run(ref, x)
  kernel, recurrent, bias = layer.get_weights()
  ref.set_weights([_q(QK, kernel),
                   recurrent, bias])
  np.testing.assert_allclose(model.predict(x, verbose=0),
                             ref_model.predict(x, verbose=0), atol=1e-6)


def test_lstm_unit_forget_bias_is_honoured():
  on = QLSTM(3, unit_forget_bias=True)
  off = QLSTM(3, unit_forget_bias=False)
  for layer in (on, off):
    _run(layer, _x())
  np.testing.assert_array_equal(np_out(on.cell.bias)[3:6], np.ones(3))
  np.testing.assert_array_equal(np_out(off.cell.bias), np.zeros(12))


def test_masking_return_state_go_backwards_and_stateful():
  x = _x((2, 5, 2))
  x[0, 3:] = 0.0
  inp = keras.Input((5, 2))
  masked = keras.layers.Masking(0.0)(inp)
  layer = QLSTM(3, kernel_quantizer=QK, return_sequences=True,
                return_state=True)
  seq, h, c = layer(masked)
  model = keras.Model(inp, [seq, h, c])
  _set_random(layer, 5)
  seq, h, c = model.predict(x, verbose=0)
  # Masked steps repeat the last state; the final state is that of step 2.
  np.testing.assert_array_equal(seq[0, 3], seq[0, 2])
  np.testing.assert_array_equal(h[0], seq[0, 2])
  backwards = QSimpleRNN(3, go_backwards=True, kernel_quantizer=QK)
  _run(backwards, x)
  stateful = QSimpleRNN(3, stateful=True, kernel_quantizer=QK)
  inp = keras.Input((5, 2), batch_size=2)
  model = keras.Model(inp, stateful(inp))
  # Fixed weights: with random ones the saturated 4-bit outputs could be
  # the same with and without the carried state.
  _set_random(stateful.cell, 3)

  def run():
    if JAX:  # Keras's JAX predict does not keep layer state between calls
      return np_out(model(x))
    return model.predict(x, verbose=0, batch_size=2)

  first = run()
  second = run()
  assert not np.array_equal(first, second)  # the state carried over
  stateful.reset_states()
  np.testing.assert_array_equal(run(), first)


def test_dropout_only_in_training():
  layer = QSimpleRNN(8, dropout=0.5, recurrent_dropout=0.5, kernel_quantizer=QK)
  x = _x((4, 6, 3))
  _run(layer, x)
  inference = np_out(layer(x))
  np.testing.assert_array_equal(np_out(layer(x, training=False)),
                                inference)
  assert not np.array_equal(np_out(layer(x, training=True)), inference)


def test_bidirectional():
  layer = QBidirectional(QLSTM(3, kernel_quantizer="binary",
                               recurrent_quantizer=QK))
  x = _x()
  model = _run(layer, x)
  assert model.output_shape == (None, 6)
  assert len(layer.get_quantizers()) == 8
  assert layer.activation is layer.forward_layer.activation
  config = layer.get_quantization_config()
  assert set(config) == {"layer", "backward_layer"}
  assert config["layer"]["kernel_quantizer"] == "binary(alpha='auto_po2')"
  # The backward layer is rebuilt from the config: its raw argument is the
  # serialized dict (as in QKeras).
  assert layer.backward_layer.kernel_quantizer["class_name"] == "binary"


def test_config_round_trip_and_properties():
  layer = QGRU(4, kernel_quantizer="quantized_bits(4,0,1)",
               recurrent_quantizer=QK, state_quantizer=QS,
               activation="quantized_relu(4,1)", reset_after=True, name="g")
  x = _x()
  _run(layer, x)
  _set_random(layer, 6)
  config = layer.get_config()
  json.dumps(config)
  for key in ("units", "activation", "recurrent_activation", "kernel_quantizer",
              "recurrent_quantizer", "bias_quantizer", "state_quantizer",
              "reset_after", "implementation", "return_sequences",
              "go_backwards", "stateful", "unroll", "dropout", "name"):
    assert key in config, key
  assert "cell" not in config
  assert config["kernel_quantizer"]["config"]["alpha"] == "auto_po2"
  assert config["recurrent_activation"]["config"] == "qkeras>hard_sigmoid"
  clone = QGRU.from_config(config)
  _run(clone, x)
  clone.set_weights(layer.get_weights())
  np.testing.assert_array_equal(np_out(clone(x)), np_out(layer(x)))
  assert layer.units == 4 and layer.reset_after
  assert layer.kernel_quantizer == "quantized_bits(4,0,1)"
  assert layer.get_quantizers() == [layer.kernel_quantizer_internal,
                                    layer.recurrent_quantizer_internal, None,
                                    layer.state_quantizer_internal]
  assert layer.get_prunable_weights() == [layer.cell.kernel,
                                          layer.cell.recurrent_kernel]
  assert set(layer.get_quantization_config()) == {
      "kernel_quantizer", "recurrent_quantizer", "bias_quantizer",
      "state_quantizer", "activation", "recurrent_activation"}
  legacy = dict(config, time_major=False, implementation=0)
  with pytest.warns(DeprecationWarning, match="implementation=0"):
    assert QGRU.from_config(legacy).implementation == 1
  assert QSimpleRNN.__module__ == "qkeras.qrecurrent"


def test_cells_work_in_a_keras_rnn():
  for cell in (QSimpleRNNCell(3, kernel_quantizer=QK),
               QLSTMCell(3, recurrent_quantizer=QK),
               QGRUCell(3, state_quantizer=QS)):
    layer = keras.layers.RNN(cell)
    out = _run(layer, _x()).predict(_x(), verbose=0)
    assert out.shape == (3, 3)
    config = cell.get_config()
    assert set(config) >= {"kernel_quantizer", "recurrent_quantizer",
                           "bias_quantizer", "state_quantizer"}


def test_keras_file_round_trip_in_a_fresh_process(tmp_path):
  inp = keras.Input((5, 2))
  x = QLSTM(4, kernel_quantizer=QK, recurrent_quantizer=QK, bias_quantizer=QK,
            state_quantizer=QS, return_sequences=True)(inp)
  x = QBidirectional(QGRU(3, kernel_quantizer=QK, recurrent_quantizer=QK))(x)
  model = keras.Model(inp, x)
  _set_random(model, 7)
  data = _x((4, 5, 2))
  expected = model.predict(data, verbose=0)
  path = tmp_path / "rnn.keras"
  model.save(path)
  y, _ = predict_in_fresh_process(path, data, tmp_path)
  np.testing.assert_array_equal(y, expected)


@pytest.mark.slow
def test_qlstm_sequence_classifier_learns():
  """The demo's QLSTM tells rising from falling sequences."""
  from qkeras import demo  # pylint: disable=g-import-not-at-top
  import io  # pylint: disable=g-import-not-at-top
  assert demo.rnn_demo(io.StringIO(), epochs=15) > 0.9


@pytest.mark.parametrize("make,match", [
    (lambda: QLSTM(3, kernel_quantizer="quantized_bits(4"),
     "QLSTM.*'kernel_quantizer'"),
    (lambda: QGRU(3, state_quantizer="nope"), "'state_quantizer'"),
    (lambda: QSimpleRNN(3, recurrent_quantizer=[1]), "'recurrent_quantizer'"),
])
def test_bad_arguments(make, match):
  with pytest.raises(ValueError, match=match):
    make()


def test_bidirectional_layer_attribute(tmp_path):
  # QKeras code reads Keras 2's ``bidirectional.layer``: here the forward
  # layer, without duplicating weights or changing what is saved.
  inp = keras.Input((5, 2))
  bidir = QBidirectional(QLSTM(3, kernel_quantizer="binary",
                               recurrent_quantizer=QK, name="lstm"),
                         name="bi")
  model = keras.Model(inp, bidir(inp))
  assert bidir.layer is bidir.forward_layer
  assert isinstance(bidir.layer, QLSTM)
  assert str(bidir.layer.kernel_quantizer_internal) == (
      "binary(alpha='auto_po2')")
  assert bidir.layer.get_quantizers() == bidir.forward_layer.get_quantizers()
  assert bidir.activation is bidir.layer.activation
  with pytest.raises(AttributeError):
    bidir.layer = QLSTM(3)
  paths = [w.path for w in model.weights]
  assert len(paths) == len(set(paths)) == 6
  assert len(bidir.weights) == 6 and len(bidir.trainable_weights) == 6
  assert len({id(w) for w in model.weights}) == 6
  _set_random(model, 8)
  data = _x((4, 5, 2))
  expected = model.predict(data, verbose=0)
  path = tmp_path / "bidir.keras"
  model.save(path)
  with zipfile.ZipFile(path) as archive:
    with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f:
      assert sorted(f["layers/q_bidirectional"]) == ["backward_layer", "forward_layer",
                                        "vars"]
  loaded = keras.models.load_model(path)
  np.testing.assert_array_equal(loaded.predict(data, verbose=0), expected)
  assert len(loaded.weights) == 6
  for got, want in zip(loaded.get_weights(), model.get_weights()):
    np.testing.assert_array_equal(got, want)
  assert loaded.get_layer("bi").layer is loaded.get_layer("bi").forward_layer
  assert "layer" in bidir.get_config()
  clone = QBidirectional.from_config(bidir.get_config())
  assert clone.layer.name == bidir.layer.name
  y, printed = predict_in_fresh_process(path, data, tmp_path)
  np.testing.assert_array_equal(y, expected)
  assert printed.count("kernel") == 4  # kernel, recurrent_kernel x 2
