"""qkeras.callbacks.QNoiseScheduler."""

import glob
import struct

import keras
import numpy as np
import pytest
from multibackend import np_out
from qkeras import QActivation
from qkeras import QBidirectional
from qkeras import QDense
from qkeras import QLSTM
from qkeras.callbacks import QNoiseScheduler
from qkeras.quantizers import quantized_bits
from qkeras.quantizers import quantized_linear
from qkeras.quantizers import quantized_po2
from qkeras.quantizers import quantized_relu
from qkeras.quantizers import quantized_relu_po2
from qkeras.quantizers import ternary


def _factor(t, start, finish, exponent):
  """The schedule, written out independently of the callback."""
  if t < start:
    return 0.0
  if t > finish or start == finish:
    return 1.0
  return 1.0 - ((finish - t) / (finish - start))**exponent


class _Recorder(keras.callbacks.Callback):
  """Reads the quantizers' factors after every step and every epoch."""

  def __init__(self, scheduler):
    super().__init__()
    self.scheduler = scheduler
    self.steps, self.epochs, self.losses = [], [], []

  def _values(self):
    _ = self.model  # on JAX, brings fit's in-flight state into the variables
    return [float(keras.ops.convert_to_numpy(q.qnoise_factor))
            for q in self.scheduler.quantizers]

  def on_train_batch_end(self, batch, logs=None):
    self.steps.append(self._values())
    self.losses.append(float(logs["loss"]))

  def on_epoch_end(self, epoch, logs=None):
    self.epochs.append(self._values())


# --------------------------------------------------------------------------
# Golden schedules (upstream's callbacks_test: 5 batches per epoch).
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def golden_model():
  keras.utils.set_random_seed(0)
  inp = keras.Input((4,))
  x = QDense(3, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1))(inp)
  x = QActivation(quantized_relu(4, 0))(x)
  model = keras.Model(inp, x)
  model.compile("sgd", "mse")
  x = np.random.RandomState(0).normal(size=(10, 4)).astype("float32")
  return model, x, np.zeros((10, 3), "float32")


@pytest.mark.parametrize("freq_type,start,finish,exponent,update_freq,epochs,"
                         "expected", [
                             ("step", 2, 4, 3.0, 1, 1, 1.0),
                             ("step", 2, 10, 3.0, 1, 1, 1 - (6 / 8)**3),
                             ("step", 2, 10, 2.0, 1, 1, 1 - (6 / 8)**2),
                             ("step", 6, 10, 3.0, 1, 1, 0.0),
                             ("step", 6, 20, 3.0, 1, 2, 1 - (11 / 14)**3),
                             ("step", 0, 20, 3.0, 2, 2, 1 - (12 / 20)**3),
                             ("epoch", 1, 5, 3.0, 1, 3, 1 - (3 / 4)**3),
                         ])
def test_golden_schedules(golden_model, freq_type, start, finish, exponent,
                          update_freq, epochs, expected):
  model, x, y = golden_model
  scheduler = QNoiseScheduler(start, finish, freq_type=freq_type,
                              update_freq=update_freq, exponent=exponent)
  recorder = _Recorder(scheduler)
  model.fit(x, y, batch_size=2, epochs=epochs, verbose=0,
            callbacks=[scheduler, recorder])
  assert len(scheduler.quantizers) == 3  # kernel, bias, QActivation
  assert recorder.epochs[-1] == pytest.approx([expected] * 3, abs=1e-7)
  assert scheduler.qnoise_factor == pytest.approx(expected, abs=1e-12)

  # The factor seen at every step (or epoch) follows the schedule.
  ticks = recorder.steps if freq_type == "step" else recorder.epochs
  want, current = [], 0.0
  for t in range(len(ticks)):
    if t % update_freq == 0:
      current = _factor(t, start, finish, exponent)
    want.append([current] * 3)
  np.testing.assert_allclose(ticks, want, atol=1e-7)
  assert scheduler.num_iters == len(ticks)


def test_calculate_qnoise_factor():
  s = QNoiseScheduler(2, 10, exponent=3.0)
  assert s.calculate_qnoise_factor(1) == 0.0
  assert s.calculate_qnoise_factor(2) == 0.0
  assert s.calculate_qnoise_factor(4) == pytest.approx(1 - (6 / 8)**3)
  assert s.calculate_qnoise_factor(10) == 1.0
  assert s.calculate_qnoise_factor(11) == 1.0
  same = QNoiseScheduler(3, 3)
  assert [same.calculate_qnoise_factor(t) for t in (2, 3, 4)] == [0, 1, 1]
  shifted = QNoiseScheduler(0, 4, freq_type="step", initial_step_or_epoch=2,
                            exponent=1.0)
  shifted.quantizers = []
  shifted.on_train_batch_begin(0)
  assert shifted.qnoise_factor == 0.5


# --------------------------------------------------------------------------
# The schedule reaches the compiled train step.
# --------------------------------------------------------------------------
def _kernel_model(jit_compile, run_eagerly):
  keras.utils.set_random_seed(1)
  inp = keras.Input((4,))
  out = QDense(3, kernel_quantizer=quantized_bits(2, 0, 1, alpha=1),
               use_bias=False)(inp)
  model = keras.Model(inp, out)
  model.compile(keras.optimizers.SGD(0.0), "mse", jit_compile=jit_compile,
                run_eagerly=run_eagerly)
  return model


MODES = [{"jit_compile": False, "run_eagerly": False},
         {"jit_compile": True, "run_eagerly": False},
         {"jit_compile": False, "run_eagerly": True}]


@pytest.mark.parametrize("mode", MODES, ids=["graph", "xla", "eager"])
def test_factor_reaches_the_train_step(mode):
  """With lr=0 and a float target, the loss is q**2 * c at factor q.

  The model is trained first (its train function captures the plain float
  factor 1.0), so the scheduler must rebuild the quantizer with a variable
  and make the train function again.
  """
  model = _kernel_model(**mode)
  x = np.random.RandomState(0).uniform(-1, 1, (8, 4)).astype("float32")
  model.fit(x, np.zeros((8, 3), "float32"), epochs=1, verbose=0)
  w = keras.ops.convert_to_numpy(model.layers[1].kernel)
  wq = keras.ops.convert_to_numpy(quantized_bits(2, 0, 1, alpha=1)(w))
  c = np.mean((x @ (wq - w))**2)
  y_float = x @ w
  n_weights = len(model.weights)

  # Epoch mode, one step per epoch: q = 0, .25, .5, .75, 1.
  scheduler = QNoiseScheduler(0, 4, exponent=1.0)
  history = model.fit(x, y_float, batch_size=8, epochs=5, verbose=0,
                      callbacks=[scheduler])
  q = np.array([0, 0.25, 0.5, 0.75, 1.0])
  np.testing.assert_allclose(history.history["loss"], q**2 * c, rtol=1e-5,
                             atol=1e-9)
  assert len(model.weights) == n_weights  # the factor is not a model weight

  # Step mode, identical batches: the epoch's running mean of q_t**2 * c.
  scheduler = QNoiseScheduler(0, 3, freq_type="step", exponent=2.0)
  recorder = _Recorder(scheduler)
  model.fit(np.tile(x, (4, 1)), np.tile(y_float, (4, 1)), batch_size=8,
            epochs=1, verbose=0, shuffle=False,
            callbacks=[scheduler, recorder])
  q = np.array([_factor(t, 0, 3, 2.0) for t in range(4)])
  np.testing.assert_allclose(recorder.losses,
                             np.cumsum(q**2) / np.arange(1, 5) * c,
                             rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_factor_zero_is_float_one_is_quantized(jit_compile):
  keras.utils.set_random_seed(2)
  inp = keras.Input((5,))
  out = QActivation(quantized_bits(3, 1, 1, alpha=1))(inp)
  model = keras.Model(inp, out)
  model.compile("sgd", "mse", jit_compile=jit_compile)
  x = np.random.RandomState(3).uniform(-2, 2, (6, 5)).astype("float32")
  xq = keras.ops.convert_to_numpy(quantized_bits(3, 1, 1, alpha=1)(x))
  np.testing.assert_array_equal(model.predict(x, verbose=0), xq)

  scheduler = QNoiseScheduler(0, 1)
  scheduler.set_model(model)
  scheduler.on_train_begin()
  (quantizer,) = scheduler.quantizers
  assert isinstance(quantizer.qnoise_factor, keras.Variable)
  np.testing.assert_array_equal(model.predict(x, verbose=0), x)
  quantizer.update_qnoise_factor(0.5)
  np.testing.assert_allclose(model.predict(x, verbose=0), x + 0.5 * (xq - x),
                             rtol=1e-6)
  quantizer.update_qnoise_factor(1.0)
  np.testing.assert_array_equal(model.predict(x, verbose=0), xq)


# --------------------------------------------------------------------------
# Which quantizers, and how they are prepared.
# --------------------------------------------------------------------------
def test_quantizers_in_nested_layers():
  """Wrappers, RNN cells and nested models are searched (QKeras: top level
  only); quantizers without a qnoise_factor are skipped."""
  bits = "quantized_bits(4,0,1)"
  inner = keras.Sequential([keras.Input((4,)), QDense(2, kernel_quantizer=bits)],
                           name="inner")
  inp = keras.Input((5, 3))
  x = QBidirectional(QLSTM(2, kernel_quantizer=bits,
                           recurrent_quantizer=bits, bias_quantizer=bits,
                           state_quantizer="quantized_relu(4)"))(inp)
  x = QActivation(ternary())(x)
  x = QActivation("relu")(x)
  out = inner(x)
  model = keras.Model(inp, out)
  found = QNoiseScheduler(0, 1).get_quantizers(model)
  assert len(found) == 2 * 4 + 1
  assert len({id(q) for q in found}) == len(found)
  assert found[-1] is model.layers[-1].layers[0].kernel_quantizer_internal


def test_set_quantizers_kinds_and_flags():
  qs = [quantized_bits(4, 0, 1), quantized_relu(4, 2), quantized_po2(4),
        quantized_relu_po2(4), quantized_linear(4, 1)]
  qs[0](np.ones(3))  # already built with a plain float factor
  scheduler = QNoiseScheduler(0, 1, use_ste=False)
  scheduler.quantizers = qs
  assert scheduler.set_quantizers() is True
  for q in qs:
    assert isinstance(q.qnoise_factor, keras.Variable)
    assert float(np_out(q.qnoise_factor)) == 0.0
    assert getattr(q, "use_ste", False) is False
  np.testing.assert_array_equal(
      keras.ops.convert_to_numpy(qs[4](np.array([0.3, -1.7]))),
      np.float32([0.3, -1.7]))
  assert scheduler.set_quantizers() is False  # nothing left to convert


def test_model_without_quantizers_warns():
  inp = keras.Input((2,))
  model = keras.Model(inp, keras.layers.Dense(1)(inp))
  model.compile("sgd", "mse")
  scheduler = QNoiseScheduler(0, 2, exponent=1.0)
  with pytest.warns(UserWarning, match="no quantizer"):
    model.fit(np.ones((2, 2)), np.ones((2, 1)), epochs=2, verbose=0,
              callbacks=[scheduler])
  assert scheduler.quantizers == [] and scheduler.qnoise_factor == 0.5


def _varint(data, i):
  value = shift = 0
  while True:
    byte = data[i]
    i += 1
    value |= (byte & 0x7F) << shift
    shift += 7
    if byte < 0x80:
      return value, i


def _fields(data):
  """A protobuf message as {field number: [values]} (bytes for type 2)."""
  fields, i = {}, 0
  while i < len(data):
    key, i = _varint(data, i)
    number, wire = key >> 3, key & 7
    if wire == 0:
      value, i = _varint(data, i)
    elif wire == 1:
      value, i = data[i:i + 8], i + 8
    elif wire == 5:
      value, i = data[i:i + 4], i + 4
    else:
      size, i = _varint(data, i)
      value, i = data[i:i + size], i + size
    fields.setdefault(number, []).append(value)
  return fields


def _read_scalars(path):
  """{step: value} of the "qnoise_factor" scalars in a TensorBoard event
  file, read with this file's own TFRecord and protobuf decoding."""
  from qkeras import _summary  # pylint: disable=g-import-not-at-top
  data = open(path, "rb").read()
  logged, i, first = {}, 0, True
  while i < len(data):
    (length,) = struct.unpack("<Q", data[i:i + 8])
    (crc,) = struct.unpack("<I", data[i + 8:i + 12])
    assert crc == _summary.masked_crc32c(data[i:i + 8])
    record = data[i + 12:i + 12 + length]
    (crc,) = struct.unpack("<I", data[i + 12 + length:i + 16 + length])
    assert crc == _summary.masked_crc32c(record)
    i += 16 + length
    event = _fields(record)
    if first:
      assert event[3] == [b"brain.Event:2"]
      first = False
      continue
    for value in _fields(event[5][0])[1]:
      value = _fields(value)
      if value[1] == [b"qnoise_factor"]:
        plugin = _fields(_fields(value[9][0])[1][0])
        assert plugin[1] == [b"scalars"]
        tensor = _fields(value[8][0])
        assert tensor[1] == [1]  # DT_FLOAT
        (factor,) = struct.unpack("<f", tensor[5][0])
        logged[event[2][0]] = factor
  return logged


def test_crc32c_check_value():
  from qkeras import _summary  # pylint: disable=g-import-not-at-top
  assert _summary.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check


def test_log_dir_writes_the_factor(tmp_path, golden_model):
  model, x, y = golden_model
  scheduler = QNoiseScheduler(0, 2, exponent=1.0, log_dir=str(tmp_path))
  model.fit(x, y, batch_size=5, epochs=3, verbose=0, callbacks=[scheduler])
  (path,) = glob.glob(str(tmp_path / "events.out.tfevents.*"))
  assert _read_scalars(path) == pytest.approx({0: 0.0, 1: 0.5, 2: 1.0})


@pytest.mark.tensorflow_only("reads the event file with TensorFlow")
def test_log_dir_file_reads_in_tensorflow(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from qkeras import _summary  # pylint: disable=g-import-not-at-top
  writer = _summary.ScalarWriter(tmp_path)
  for step, value in enumerate((0.0, 0.25, 1.0)):
    writer.scalar("qnoise_factor", value, step)
  writer.close()
  logged = {}
  for event in tf.compat.v1.train.summary_iterator(writer.path):
    for value in event.summary.value:
      assert value.tag == "qnoise_factor"
      assert value.metadata.plugin_data.plugin_name == "scalars"
      logged[event.step] = float(tf.make_ndarray(value.tensor))
  assert logged == {0: 0.0, 1: 0.25, 2: 1.0}


@pytest.mark.parametrize("kwargs,name", [
    ({"start": 5, "finish": 3}, "start"),
    ({"freq_type": "batch"}, "freq_type"),
    ({"update_freq": 0}, "update_freq"),
    ({"update_freq": 1.5}, "update_freq"),
    ({"exponent": 0.0}, "exponent"),
    ({"start": "a"}, "start"),
    ({"initial_step_or_epoch": 0.5}, "initial_step_or_epoch"),
])
def test_bad_arguments(kwargs, name):
  args = {"start": 0, "finish": 4}
  args.update(kwargs)
  with pytest.raises(ValueError, match=f"argument '{name}'"):
    QNoiseScheduler(**args)


def test_start_after_finish_message():
  with pytest.raises(ValueError, match=r"'start' must be <= argument "
                     r"'finish', got start=5, finish=3"):
    QNoiseScheduler(5, 3)
