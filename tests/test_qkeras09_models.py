"""Old model files: models saved by the original QKeras 0.9 (Keras 2).

The fixtures in ``tests/data/qkeras09_layers/`` (see the README there) are 13
small models written by QKeras 0.9.0 on Keras 2.12 as ``.h5``, as
``to_json()`` + legacy h5 weights, and the values recorded from them
(inputs, outputs, every layer's output, float and quantized weights). This
file checks that the Keras-3 implementation loads every one of them, restores
the layers and quantizers, reproduces the recorded numbers bit for bit and
can re-save the model as ``.keras`` (loaded back in a fresh process with
``safe_mode=True``).
"""

import functools
import json
import os
import subprocess
import sys
import textwrap

import h5py
import keras
import numpy as np
import pytest

from multibackend import TENSORFLOW
import qkeras  # noqa: F401  (registers the qkeras classes with Keras)
from qkeras import quantizer_registry
from qkeras import quantizers as Q
from qkeras.base_quantizer import BaseQuantizer
from qkeras.utils import load_qmodel
from qkeras.utils import quantized_model_from_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "qkeras09_layers")

with open(os.path.join(DATA, "index.json")) as _f:
  INDEX = {entry["name"]: entry for entry in json.load(_f)}
NAMES = list(INDEX)

# Where each Q-layer class must live.
_MODULES = {
    "QDense": "qkeras.qlayers",
    "QActivation": "qkeras.qlayers",
    "QAdaptiveActivation": "qkeras.qlayers",
    "QConv1D": "qkeras.qconvolutional",
    "QConv2D": "qkeras.qconvolutional",
    "QConv2DTranspose": "qkeras.qconvolutional",
    "QDepthwiseConv2D": "qkeras.qconvolutional",
    "QSeparableConv1D": "qkeras.qconvolutional",
    "QSeparableConv2D": "qkeras.qconvolutional",
    "QAveragePooling2D": "qkeras.qpooling",
    "QGlobalAveragePooling2D": "qkeras.qpooling",
    "QBatchNormalization": "qkeras.qnormalization",
    "QSimpleRNN": "qkeras.qrecurrent",
    "QLSTM": "qkeras.qrecurrent",
    "QGRU": "qkeras.qrecurrent",
    "QBidirectional": "qkeras.qrecurrent",
}

# Weight name (Keras-2 ``<layer>/<name>:0``) -> the quantizer applied to it.
_WEIGHT_QUANTIZERS = {
    "kernel": "kernel_quantizer_internal",
    "bias": "bias_quantizer_internal",
    "depthwise_kernel": "depthwise_quantizer_internal",
    "pointwise_kernel": "pointwise_quantizer_internal",
    "gamma": "gamma_quantizer_internal",
    "beta": "beta_quantizer_internal",
    "moving_mean": "mean_quantizer_internal",
    "moving_variance": "variance_quantizer_internal",
    "recurrent_kernel": "recurrent_quantizer_internal",
}

_RECURRENT = {"QSimpleRNN", "QLSTM", "QGRU", "QBidirectional"}


def _recurrent(name):
  """True for models with a recurrent layer.

  Their outputs are float arithmetic (``z*h + (1-z)*hh``, ``o*act(c)``) that
  TensorFlow's graph rewrites may round differently by an ulp or two
  (README "Oddities" 9): compared to within 4 ulps instead of exactly.
  """
  return any(e["class_name"] in _RECURRENT for e in INDEX[name]["layers"])


# On JAX and PyTorch, float arithmetic that is not a fixed-point grid (batch
# norm, softmax, u-law's log, recurrent gates) runs on the backend's own
# kernels: those layers, and layers that take their output without quantizing
# it, may differ from QKeras by FLOAT_RTOL of the layer's largest |value|
# (docs/compat.md, "Backends"). Every other layer output is bit-identical.
FLOAT_RTOL = 2.0**-20
_FLOAT_QUANTIZERS = (Q.quantized_ulaw, Q.bernoulli, Q.stochastic_binary,
                     Q.stochastic_ternary)
_FLOAT_FUNCTIONS = ("softmax", "sigmoid", "tanh", "softplus", "elu", "selu",
                    "swish", "silu", "gelu", "exponential", "log_softmax")


def _computes_floats(layer):
  """The layer evaluates float functions (not a fixed-point grid)."""
  if isinstance(layer, (keras.layers.BatchNormalization, keras.layers.RNN,
                        keras.layers.Bidirectional)):
    return True
  for attr in ("activation", "quantizer"):
    fn = getattr(layer, attr, None)
    if isinstance(fn, BaseQuantizer):
      if isinstance(fn, _FLOAT_QUANTIZERS) or getattr(
          fn, "use_real_tanh", False) or getattr(fn, "use_real_sigmoid",
                                                 False):
        return True
    elif getattr(fn, "__name__", None) in _FLOAT_FUNCTIONS:
      return True
  return False


def _quantizes_output(layer):
  fn = getattr(layer, "quantizer", None) or getattr(layer, "activation", None)
  return isinstance(fn, BaseQuantizer) and not _computes_floats(layer)


@functools.lru_cache(maxsize=None)
def float_layers(name):
  """Names of the layers whose outputs carry backend float rounding."""
  model = _loaded(name)
  floating = set()
  for layer in model.layers:
    parents = [p.operation.name for node in layer._inbound_nodes  # pylint: disable=protected-access
               for p in node.parent_nodes]
    if _computes_floats(layer) or (
        any(p in floating for p in parents) and not _quantizes_output(layer)):
      floating.add(layer.name)
  return floating


def assert_output(name, got, expected, err_msg="", layer=None):
  """``got`` is QKeras's ``expected`` output of ``layer`` (default: the
  model's last layer) under the contract above."""
  if layer is None:
    layer = _loaded(name).layers[-1].name
  if _recurrent(name) and TENSORFLOW:
    np.testing.assert_array_max_ulp(got, expected, maxulp=4)
  elif not TENSORFLOW and layer in float_layers(name):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    scale = float(np.nanmax(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=FLOAT_RTOL * scale, err_msg=err_msg)
  else:
    np.testing.assert_array_equal(got, expected, err_msg=err_msg)


def _path(name, kind):
  return os.path.join(DATA, INDEX[name]["files"][kind])


@functools.lru_cache(maxsize=None)
def _npz(name):
  with np.load(_path(name, "npz")) as data:
    return {key: data[key] for key in data.files}


@functools.lru_cache(maxsize=None)
def _loaded(name):
  """``load_qmodel(<name>.h5)``, shared by the read-only checks below."""
  return load_qmodel(_path(name, "h5"), compile=False)


def _layer_entries(name):
  """The index entries of the non-Input layers."""
  return [l for l in INDEX[name]["layers"] if l["class_name"] != "InputLayer"]


def _predict(model, x):
  return model.predict(x, batch_size=len(x), verbose=0)


def _short_weight_name(keras2_name):
  """``"dense1/kernel:0"`` -> ``"kernel"``."""
  return keras2_name.rsplit("/", 1)[-1].split(":")[0]


def _plain_name_quantizers(name):
  """Quantizers the legacy h5 loader must find by their plain class name.

  Keras' legacy h5 loader deserializes a layer-config entry itself (instead
  of passing the dict to the layer) when it is marked
  ``__passive_serialization__``. Keras 2 wrote that mark on the kernel
  quantizer shared with a ``QInitializer`` (functional models only) and on a
  quantizer object given to ``QActivation``.
  """
  with h5py.File(_path(name, "h5"), "r") as f:
    config = json.loads(f.attrs["model_config"])
  found = []
  for layer in config["config"]["layers"]:
    for key, value in layer["config"].items():
      if (isinstance(value, dict) and
          value.get("__passive_serialization__") and
          value.get("class_name") in quantizer_registry.registered_quantizers()):
        found.append((layer["config"]["name"], key, value["class_name"]))
  return found


# ==========================================================================
# 1./2. Loading the .h5 and the json + legacy weights.
# ==========================================================================
@pytest.mark.parametrize("name", NAMES)
def test_load_qmodel_h5_predicts_y(name):
  data = _npz(name)
  model = _loaded(name)  # load_qmodel(<name>.h5, compile=False)
  assert_output(name, _predict(model, data["x"]), data["y"])


def test_fixtures_cover_plain_name_quantizer_entries():
  """Plain ``load_model`` must resolve quantizers by their Keras-2 names.

  (qkeras registers its quantizer classes under their plain names too.)
  """
  covered = [name for name in NAMES if _plain_name_quantizers(name)]
  assert len(covered) >= 5, covered


@pytest.mark.parametrize("name", NAMES)
def test_plain_keras_load_model_h5_predicts_y(name):
  data = _npz(name)
  model = keras.models.load_model(_path(name, "h5"), compile=False)
  assert_output(name, _predict(model, data["x"]), data["y"])


@pytest.mark.parametrize("name", NAMES)
def test_json_and_legacy_weights_predict_y(name):
  data = _npz(name)
  with open(_path(name, "json")) as f:
    model = quantized_model_from_json(f.read())
  model.load_weights(_path(name, "weights_h5"))
  assert_output(name, _predict(model, data["x"]), data["y"])
  for entry in _layer_entries(name):
    for got, key in zip(model.get_layer(entry["name"]).get_weights(),
                        entry["weights"]):
      np.testing.assert_array_equal(got, data[key], err_msg=key)


# ==========================================================================
# 3. Layer classes, every layer's output and the float weights.
# ==========================================================================
@pytest.mark.parametrize("name", NAMES)
def test_layer_classes(name):
  model = _loaded(name)
  if INDEX[name]["api"] == "sequential":
    assert isinstance(model, keras.Sequential)
  for entry in _layer_entries(name):
    layer = model.get_layer(entry["name"])
    cls = type(layer)
    assert cls.__name__ == entry["class_name"], entry["name"]
    if entry["class_name"] in _MODULES:
      assert cls.__module__ == _MODULES[entry["class_name"]], entry["name"]
    else:  # plain Keras layers stay plain Keras layers
      assert cls.__module__.startswith("keras."), (entry["name"],
                                                   cls.__module__)


@pytest.mark.parametrize("name", NAMES)
def test_every_layer_output(name):
  data = _npz(name)
  model = _loaded(name)
  entries = _layer_entries(name)
  probe = keras.Model(model.inputs,
                      [model.get_layer(e["name"]).output for e in entries])
  outputs = _predict(probe, data["x"])
  assert len(outputs) == len(entries)
  for entry, got in zip(entries, outputs):
    expected = data[entry["output"]]
    if entry["eager_output"] and not np.array_equal(got, expected):
      # Upstream's predict and eager values differ by 1 ulp here (README,
      # "Oddities" 1: Grappler folds qpooling's ``avg*9*q(1/9)`` into
      # ``avg*(9*q(1/9))`` in the graph). Either upstream value is exact.
      expected = data[entry["eager_output"]]
    assert_output(name, got, expected, err_msg=entry["name"],
                  layer=entry["name"])
  assert_output(name, outputs[-1], data["y"])


@pytest.mark.parametrize("name", NAMES)
def test_float_weights(name):
  data = _npz(name)
  model = _loaded(name)
  for entry in _layer_entries(name):
    layer = model.get_layer(entry["name"])
    assert [w.name for w in layer.weights] == [
        _short_weight_name(n) for n in entry["weight_names"]], entry["name"]
    weights = layer.get_weights()
    assert len(weights) == len(entry["weights"]), entry["name"]
    for got, key, shape in zip(weights, entry["weights"],
                               entry["weight_shapes"]):
      assert list(got.shape) == shape, key
      np.testing.assert_array_equal(got, data[key], err_msg=key)


# ==========================================================================
# 4. The quantizers were restored.
# ==========================================================================
def _check_serialized(where, got, expected):
  """``got`` (our config value) matches Keras-2 QKeras's ``expected``."""
  if expected is None:
    assert got is None, (where, got)
    return
  if isinstance(expected, str):
    if isinstance(got, dict) and got.get("class_name") == "function":
      # Keras' legacy loader turns a string naming a custom *function*
      # (here "hard_sigmoid": load_qmodel passes qkeras's functions as
      # custom_objects) into that function before the layer sees it.
      assert got["config"] in (expected, "qkeras>" + expected), (where, got)
      return
    assert got == expected, (where, got)
    return
  assert isinstance(got, dict), (where, got)
  assert got["class_name"] == expected["class_name"], (where, got)
  ours = got["config"]
  for key, value in expected["config"].items():
    assert key in ours, (where, key, ours)
    assert ours[key] == value, (where, key, ours[key], value)


@pytest.mark.parametrize("name", NAMES)
def test_quantizers_restored(name):
  model = _loaded(name)
  for entry in _layer_entries(name):
    keys = [k for k in entry["config"] if k.endswith("_quantizer")]
    if not keys:
      continue
    layer = model.get_layer(entry["name"])
    config = layer.get_config()
    for key in keys:
      expected = entry["config"][key]
      _check_serialized(f"{entry['name']}.{key}", config[key], expected)
      internal = getattr(layer, key + "_internal")
      if expected is None:
        assert internal is None, (entry["name"], key)
      else:
        assert type(internal).__name__ == expected["class_name"], (
            entry["name"], key)
        if expected["config"].get("alpha") == "auto_po2":
          assert internal.alpha == "auto_po2", (entry["name"], key)


@pytest.mark.parametrize("name", NAMES)
def test_activations_restored(name):
  """Layer activations (QActivation strings, quantizer objects) restored."""
  model = _loaded(name)
  for entry in _layer_entries(name):
    if not entry["class_name"].startswith("Q"):
      continue
    expected = entry["config"].get("activation")
    if expected is None or expected == "linear":
      continue
    got = model.get_layer(entry["name"]).get_config()["activation"]
    if isinstance(expected, dict):
      expected = {k: v for k, v in expected.items()
                  if k != "__passive_serialization__"}
    _check_serialized(f"{entry['name']}.activation", got, expected)


# ==========================================================================
# 5. The quantized weights.
# ==========================================================================
@pytest.mark.parametrize("name", NAMES)
def test_quantized_weights(name):
  """quantizer(float weight) == the recorded ``model_save_quantized_weights``.

  Upstream quantized a weight where the layer's quantizer for it is set and
  returned the raw weight where it is None (README, "Files").
  """
  data = _npz(name)
  model = _loaded(name)
  for entry in _layer_entries(name):
    if not entry["quantized_weights"]:
      continue
    layer = model.get_layer(entry["name"])
    quantizers = layer.get_quantizers()
    assert len(quantizers) >= len(entry["weights"]), entry["name"]
    for wname, wkey, qkey in zip(entry["weight_names"], entry["weights"],
                                 entry["quantized_weights"]):
      owner = layer
      if entry["class_name"] == "QBidirectional":
        if "backward" in wname:
          # Upstream zipped the 8 quantizers of both directions with the 6
          # weights, so it quantized the backward weights with the wrong
          # quantizers (README "Oddities"); nothing to compare.
          continue
        owner = layer.forward_layer
      quantizer = getattr(owner, _WEIGHT_QUANTIZERS[_short_weight_name(wname)])
      assert any(quantizer is q for q in quantizers), (entry["name"], wname)
      if quantizer is None:
        expected = data[wkey]
        np.testing.assert_array_equal(data[qkey], expected, err_msg=qkey)
        continue
      got = keras.ops.convert_to_numpy(quantizer(data[wkey]))
      np.testing.assert_array_equal(got, data[qkey], err_msg=qkey)


# ==========================================================================
# 6. Re-saving as .keras, loaded back in a fresh process (safe_mode=True).
# ==========================================================================
_RELOAD_SCRIPT = textwrap.dedent("""
    import json, sys, traceback
    import numpy as np
    import keras
    import qkeras  # registers the qkeras classes; no custom_objects below
    results = {}
    for keras_path, x_path, out_path in json.loads(sys.argv[1]):
      try:
        model = keras.models.load_model(keras_path, safe_mode=True)
        x = np.load(x_path)
        np.save(out_path, model.predict(x, batch_size=len(x), verbose=0))
        results[keras_path] = None
      except Exception:  # pylint: disable=broad-except
        results[keras_path] = traceback.format_exc()
    print("RESULTS " + json.dumps(results))
""")


@pytest.fixture(scope="module")
def keras_reloads(tmp_path_factory):
  """Saves every model as .keras and reloads all in ONE fresh process.

  Returns ``{name: predictions}``, or ``{name: traceback string}`` where the
  reload failed.
  """
  tmp = tmp_path_factory.mktemp("qkeras09_keras")
  jobs, paths = [], {}
  for name in NAMES:
    keras_path = str(tmp / f"{name}.keras")
    _loaded(name).save(keras_path)
    x_path = str(tmp / f"{name}_x.npy")
    np.save(x_path, _npz(name)["x"])
    out_path = str(tmp / f"{name}_y.npy")
    jobs.append([keras_path, x_path, out_path])
    paths[name] = (keras_path, out_path)
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  proc = subprocess.run([sys.executable, "-c", _RELOAD_SCRIPT,
                         json.dumps(jobs)], env=env, cwd=str(tmp),
                        capture_output=True, text=True, timeout=300,
                        check=False)
  lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULTS ")]
  assert proc.returncode == 0 and lines, proc.stderr[-5000:]
  errors = json.loads(lines[-1][len("RESULTS "):])
  results = {}
  for name, (keras_path, out_path) in paths.items():
    error = errors.get(keras_path, "no result")
    results[name] = error if error else np.load(out_path)
  return results


@pytest.mark.parametrize("name", NAMES)
def test_keras_resave_reload_in_fresh_process(name, keras_reloads):  # pylint: disable=redefined-outer-name
  result = keras_reloads[name]
  assert not isinstance(result, str), result
  assert_output(name, result, _npz(name)["y"])
