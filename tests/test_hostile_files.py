"""Hostile and broken model files are refused, run no code, stay bounded.

Every file here is generated: a small valid qkeras model's config with one
hostile change (a quantizer string that tries to run code, an unknown or
importable class, a ``Lambda`` layer carrying bytecode, an absurd size),
or a valid file truncated or corrupted. Each is given to the readers a user
has: ``qkeras.load_qmodel``, ``qkeras.quantized_model_from_json``,
``keras.models.load_model(safe_mode=True)`` and the QTools command line.

What must hold for every one (issue 19, item 2):

* the qkeras readers refuse with one ``ValueError("cannot load ...")``
  (short: at most a few hundred characters, even for a megabyte string);
  Keras's own reader refuses with an exception (its messages are its own);
  the command line exits 2 with a one-line message;
* no code runs: every payload would create the file ``pwned`` in the
  working directory, which is the test's temporary folder;
* no memory is exhausted: files that ask for billions of weight elements
  are loaded in a child process whose data segment is capped (RLIMIT_DATA),
  and the interpreter never crashes (a crash would fail that child).

The counts (``len(HOSTILE_STRINGS)``, ``len(HOSTILE_CONFIGS)``,
``len(BROKEN_FILES)``, ``len(ABSURD_SIZES)``) are the figures quoted in
docs/reliability.md.
"""

import base64
import copy
import functools
import io
import json
import marshal
import os
import subprocess
import sys
import zipfile

import h5py
import keras
import numpy as np
import pytest

import qkeras
from qkeras import _io
from qkeras.qtools import __main__ as qtools_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PWNED = "pwned"  # every payload tries to create this file (cwd: tmp_path)

# Quantizer strings an attacker writes into a config (the QActivation's
# activation and the QDense's kernel_quantizer). Each would create PWNED if
# it were evaluated; the size ones would take minutes or gigabytes.
HOSTILE_STRINGS = {
    "import_system": "__import__('os').system('touch pwned')",
    "eval": "eval(\"__import__('os').system('touch pwned')\")",
    "exec": "exec(\"open('pwned', 'w')\")",
    "open": "open('pwned', 'w')",
    "lambda_call": "(lambda: open('pwned', 'w'))()",
    "globals_attribute":
        "quantized_bits.__init__.__globals__['os'].system('touch pwned')",
    "subclasses": "().__class__.__base__.__subclasses__()",
    "attribute_of_call": "quantized_bits(4).__class__",
    "getattr": "getattr(quantized_bits, '__init__')",
    "call_in_argument": "quantized_bits(4, 0, open('pwned', 'w'))",
    "call_in_keyword":
        "quantized_bits(bits=__import__('os').system('touch pwned'))",
    "call_in_list": "quantized_bits(4, 0, 1, alpha=[open('pwned', 'w')])",
    "comprehension": "[open('pwned', 'w') for _ in (1,)]",
    "f_string": "f\"{open('pwned', 'w')}\"",
    "conditional": "quantized_bits(4) if open('pwned', 'w') else 0",
    "statement_after": "quantized_bits(4); open('pwned', 'w')",
    "line_after": "quantized_bits(4)\nopen('pwned', 'w')",
    "walrus": "quantized_bits(x := open('pwned', 'w'))",
    "star_kwargs": "quantized_bits(**{'bits': open('pwned', 'w')})",
    "dunder_name": "__builtins__",
    "keras_get": "keras.activations.get",
    "deep_nesting": "quantized_bits(" * 100_000 + ")" * 100_000,
    "deep_list": "quantized_bits(4, 0, 1, alpha=" + "[" * 100_000 +
                 "]" * 100_000 + ")",
    "megabyte_integer": "quantized_bits(" + "9" * 2**20 + ")",
    "megabyte_name": "q" * 2**20,
    "megabyte_string_argument": "quantized_bits(4, 0, 1, alpha='" +
                                "a" * 2**20 + "')",
    "many_arguments": "quantized_bits(4" + ", 1" * 2**18 + ")",
    "huge_exponent": "quantized_bits(10**10**10)",
    "huge_float": "quantized_bits(4, 0, 1, alpha=1e99999)",
    "bits_1e9": "quantized_bits(1000000000)",
    "bits_negative": "quantized_bits(-1)",
    "empty": "",
    "nul_byte": "quantized_bits(4)\x00open('pwned', 'w')",
}


# -- a small valid model and its config -------------------------------------


@functools.lru_cache(maxsize=None)
def _valid_config():
  """The Keras 3 config (JSON text) of Input(4) -> QDense(3) -> QActivation."""
  inputs = keras.Input((4,), name="x")
  y = qkeras.QDense(3, kernel_quantizer="quantized_bits(4,0,1)",
                    bias_quantizer="quantized_bits(4,0,1)", name="dense")(inputs)
  y = qkeras.QActivation("quantized_relu(4)", name="act")(y)
  return keras.Model(inputs, y, name="m").to_json()


def _config():
  return json.loads(_valid_config())


def _layer(config, name):
  return next(l for l in config["config"]["layers"] if l["name"] == name)


def _lambda_bytecode():
  """Keras's serialization of a Python lambda that would create PWNED."""
  code = marshal.dumps((lambda x: open(PWNED, "w") and x).__code__)  # pylint: disable=consider-using-with
  return base64.b64encode(code).decode("ascii")


def _with_string(where, text):
  config = _config()
  if where == "activation":
    _layer(config, "act")["config"]["activation"] = text
  else:
    _layer(config, "dense")["config"]["kernel_quantizer"] = text
  return config


def _with_class(where, entry):
  """``entry`` (a serialized object) in place of a layer, an initializer
  or a quantizer of the valid config."""
  config = _config()
  if where == "layer":
    layer = _layer(config, "act")
    layer.update(entry)
    layer["config"] = dict(entry.get("config") or {}, name="act")
  elif where == "initializer":
    _layer(config, "dense")["config"]["kernel_initializer"] = entry
  elif where == "quantizer":
    _layer(config, "dense")["config"]["kernel_quantizer"] = entry
  elif where == "activation":
    _layer(config, "dense")["config"]["activation"] = entry
  return config


def _lambda_layer():
  config = _config()
  _layer(config, "act").update({
      "module": "keras.layers", "class_name": "Lambda",
      "registered_name": None,
      "config": {"name": "act", "function": {
          "class_name": "__lambda__", "config": {
              "code": _lambda_bytecode(), "defaults": None,
              "closure": None}},
                 "arguments": {}, "output_shape": None}})
  return config


def _lambda_with(**config):
  """A ``Lambda`` layer in place of the QActivation with ``config``."""
  config_ = _config()
  _layer(config_, "act").update({
      "module": "keras.layers", "class_name": "Lambda",
      "registered_name": None,
      "config": dict({"name": "act", "arguments": {}, "output_shape": None},
                     **config)})
  return config_


def _sizes(layer, **values):
  config = _config()
  _layer(config, layer)["config"].update(values)
  return config


def _input_width(width):
  config = _config()
  _layer(config, "x")["config"]["batch_shape"] = [None, width]
  for layer in config["config"]["layers"]:
    layer.pop("build_config", None)
    for node in layer.get("inbound_nodes", []):
      for arg in node["args"]:
        if arg["config"]["keras_history"][0] == "x":
          arg["config"]["shape"] = [None, width]
  return config


# Configs whose refusal does not depend on how much they would allocate.
HOSTILE_CONFIGS = {
    "unknown_layer": lambda: _with_class("layer", {
        "module": "qkeras.qlayers", "class_name": "NoSuchLayer",
        "registered_name": "qkeras>NoSuchLayer", "config": {}}),
    "os_system_as_layer": lambda: _with_class("layer", {
        "module": "os", "class_name": "system", "registered_name": None,
        "config": {"command": "touch pwned"}}),
    "builtins_exec_as_layer": lambda: _with_class("layer", {
        "module": "builtins", "class_name": "exec",
        "registered_name": "exec", "config": {}}),
    "subprocess_popen_as_initializer": lambda: _with_class("initializer", {
        "module": "subprocess", "class_name": "Popen",
        "registered_name": None, "config": {"args": ["touch", "pwned"]}}),
    "os_system_function_as_activation": lambda: _with_class("activation", {
        "module": "os", "class_name": "function", "registered_name": None,
        "config": "system"}),
    "builtins_eval_function_as_activation": lambda: _with_class(
        "activation", {"module": "builtins", "class_name": "function",
                       "registered_name": None, "config": "eval"}),
    "lambda_bytecode_as_activation": lambda: _with_class("activation", {
        "class_name": "__lambda__", "config": {
            "code": _lambda_bytecode(), "defaults": None, "closure": None}}),
    "unknown_quantizer_class": lambda: _with_class("quantizer", {
        "module": "qkeras.quantizers", "class_name": "os.system",
        "registered_name": None, "config": {}}),
    "quantizer_config_not_a_dict": lambda: _with_class("quantizer", {
        "class_name": "quantized_bits", "config": "touch pwned"}),
    "quantizer_unknown_argument": lambda: _with_class("quantizer", {
        "class_name": "quantized_bits",
        "config": {"bits": 4, "__class__": "os.system"}}),
    "quantizer_bits_1e9": lambda: _with_class("quantizer", {
        "class_name": "quantized_bits", "config": {"bits": 10**9}}),
    "quantizer_bits_string": lambda: _with_class("quantizer", {
        "class_name": "quantized_bits",
        "config": {"bits": "__import__('os').system('touch pwned')"}}),
    "lambda_layer": _lambda_layer,
    "lambda_layer_keras2_bytecode": lambda: _lambda_with(
        function=[_lambda_bytecode(), None, None], function_type="lambda",
        module="__main__", output_shape_type="raw"),
    "lambda_layer_os_system": lambda: _lambda_with(function={
        "module": "os", "class_name": "function", "config": "system",
        "registered_name": "system"}),
    "lambda_layer_bytecode_output_shape": lambda: _lambda_with(
        function={"module": "keras.activations", "class_name": "function",
                  "config": "relu", "registered_name": None},
        output_shape={"class_name": "__lambda__", "config": {
            "code": _lambda_bytecode(), "defaults": None, "closure": None}}),
    "tf_op_lambda": lambda: _with_class("layer", {
        "module": None, "class_name": "TFOpLambda", "registered_name": None,
        "config": {"function": "os.system", "trainable": True}}),
    "units_negative": lambda: _sizes("dense", units=-1),
    "units_zero": lambda: _sizes("dense", units=0),
    "units_float": lambda: _sizes("dense", units=2.5),
    "units_string": lambda: _sizes("dense", units="3; touch pwned"),
    "units_list": lambda: _sizes("dense", units=[3, 3]),
    "layers_not_a_list": lambda: dict(_config(), config={"layers": "x"}),
    "no_layers": lambda: dict(_config(), config={}),
}

def _disconnected(units):
  """A QDense built on the input but not connected to the outputs."""
  config = _config()
  extra = copy.deepcopy(_layer(config, "dense"))
  extra["name"] = extra["config"]["name"] = "extra"
  extra["config"]["units"] = units
  config["config"]["layers"].append(extra)
  return config


# Configs that ask for far more weight elements than anyone can allocate
# (4 bytes each): refused before a single one is.
ABSURD_SIZES = {
    "units_1e9": lambda: _sizes("dense", units=10**9),
    "units_1e30": lambda: _sizes("dense", units=10**30),
    "input_width_1e9": lambda: _input_width(10**9),
    "input_width_1e12": lambda: _input_width(10**12),
    "disconnected_layer_units_1e9": lambda: _disconnected(10**9),
}


# -- writing a config as a .keras, Keras 3 .h5, Keras 2 .h5 or JSON ---------


@functools.lru_cache(maxsize=None)
def _valid_files(folder):
  """A valid model saved as ``.keras`` and ``.h5`` in ``folder``."""
  model = keras.models.model_from_json(_valid_config())
  keras_path = os.path.join(folder, "valid.keras")
  h5_path = os.path.join(folder, "valid.h5")
  model.save(keras_path)
  model.save(h5_path)
  return keras_path, h5_path


@pytest.fixture(name="valid_files", scope="module")
def _valid_files_fixture(tmp_path_factory):
  return _valid_files(str(tmp_path_factory.mktemp("valid")))


def _write_keras(path, config_text, valid_keras):
  """A ``.keras`` archive with ``config_text`` and the valid weights."""
  with zipfile.ZipFile(valid_keras) as source, zipfile.ZipFile(
      path, "w") as target:
    for info in source.infolist():
      data = source.read(info)
      if info.filename == "config.json":
        data = config_text
      target.writestr(info.filename, data)


def _write_h5(path, config_text, valid_h5):
  """A Keras 3 ``.h5`` with ``config_text`` and the valid weights."""
  with open(valid_h5, "rb") as f:
    data = f.read()
  with open(path, "wb") as f:
    f.write(data)
  with h5py.File(path, "r+") as f:
    f.attrs["model_config"] = config_text


def _keras2(config):
  """``config`` in the Keras 2 layout QKeras 0.9 files have (class names
  only, the tf.keras version); hostile parts are kept as they are."""
  config = copy.deepcopy(config)

  def strip(value):
    if isinstance(value, dict):
      value.pop("module", None)
      value.pop("registered_name", None)
      value.pop("build_config", None)
      for v in value.values():
        strip(v)
    elif isinstance(value, list):
      for v in value:
        strip(v)

  strip(config)
  config["keras_version"] = "2.12.0"
  config["backend"] = "tensorflow"
  layers = config.get("config", {}).get("layers")
  if isinstance(layers, list):
    for layer in layers:
      if isinstance(layer, dict) and layer.get("class_name") == "InputLayer":
        layer["config"]["batch_input_shape"] = layer["config"].pop(
            "batch_shape", [None, 4])
      if isinstance(layer, dict) and layer.get("inbound_nodes"):
        layer["inbound_nodes"] = [[
            arg["config"]["keras_history"] + [{}] for arg in node["args"]]
                                  for node in layer["inbound_nodes"]]
  return config


def _write_keras2_h5(path, config_text):
  """A Keras 2 ``.h5``: ``config_text`` and the weights of the valid
  model's layers (x, dense: kernel and bias, act) in tf.keras's layout."""
  with h5py.File(path, "w") as f:
    f.attrs["backend"] = "tensorflow"
    f.attrs["keras_version"] = "2.12.0"
    f.attrs["model_config"] = config_text
    group = f.create_group("model_weights")
    group.attrs["layer_names"] = np.array([b"x", b"dense", b"act"])
    weights = {"x": {}, "act": {},
               "dense": {"dense/kernel:0": np.full((4, 3), 0.25, "float32"),
                         "dense/bias:0": np.zeros(3, "float32")}}
    for layer, values in weights.items():
      layer_group = group.create_group(layer)
      layer_group.attrs["weight_names"] = np.array(
          [n.encode() for n in values], "S20")
      for name, value in values.items():
        layer_group.create_dataset(name, data=value)


FORMATS = ("keras", "h5", "keras2_h5", "json")


def _hostile_source(kind, config, folder, valid_files):
  """``config`` written as ``kind``: a path, or the JSON text itself."""
  if kind == "keras2_h5":
    text = json.dumps(_keras2(config))
  else:
    text = json.dumps(config)
  if kind == "json":
    return text
  path = os.path.join(folder, f"hostile.{'keras' if kind == 'keras' else 'h5'}")
  if kind == "keras":
    _write_keras(path, text, valid_files[0])
  elif kind == "h5":
    _write_h5(path, text, valid_files[1])
  else:
    _write_keras2_h5(path, text)
  return path


def _assert_refused(kind, source):
  """The qkeras reader refuses ``source`` with a short ValueError."""
  with pytest.raises(ValueError) as info:
    if kind == "json":
      _io.quantized_model_from_json(source)
    else:
      _io.load_qmodel(source)
  message = str(info.value)
  assert message.startswith("cannot load "), message[:500]
  assert len(message) < 1000, message[:500]
  assert "\n" not in message, message[:500]
  return message


def _assert_keras_refuses(source):
  """Keras's own safe-mode reader raises (whatever its message)."""
  with pytest.raises(Exception) as info:  # pylint: disable=broad-except
    keras.models.load_model(source, safe_mode=True)
  assert not isinstance(info.value, (SystemExit, KeyboardInterrupt))


def _assert_cli_refuses(path, capsys):
  """The QTools command line (in this process) exits 2, one line."""
  assert qtools_cli.main([path, "--no-map"]) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith("python -m qkeras.qtools: error: cannot load "), err
  assert "\n" not in err, err[:500]
  assert len(err) < 1100


@pytest.fixture(name="workdir")
def _workdir(tmp_path, monkeypatch):
  """The test's folder as the working directory; PWNED must not appear."""
  monkeypatch.chdir(tmp_path)
  yield tmp_path
  assert not (tmp_path / PWNED).exists(), "a hostile file ran code"


# -- the tests --------------------------------------------------------------


def test_the_valid_files_load(valid_files, workdir):
  """The control: the unmodified files load through every reader."""
  for path in valid_files:
    assert isinstance(_io.load_qmodel(path), keras.Model)
  assert isinstance(_io.quantized_model_from_json(_valid_config()),
                    keras.Model)
  keras2 = json.dumps(_keras2(_config()))
  model = _io.quantized_model_from_json(keras2)
  assert [l.name for l in model.layers] == ["x", "dense", "act"]
  path = _hostile_source("keras2_h5", _config(), str(workdir), valid_files)
  model = _io.load_qmodel(path)
  assert [l.name for l in model.layers] == ["x", "dense", "act"]
  np.testing.assert_array_equal(model.get_layer("dense").get_weights()[0],
                                np.full((4, 3), 0.25, "float32"))
  # A layer built but not connected to the outputs loads (and is counted).
  assert _io.quantized_model_from_json(json.dumps(_disconnected(5)))


@pytest.mark.parametrize("where", ["activation", "kernel_quantizer"])
@pytest.mark.parametrize("name", sorted(HOSTILE_STRINGS))
def test_hostile_quantizer_strings_are_refused(name, where, valid_files,
                                               workdir):
  text = HOSTILE_STRINGS[name]
  config = _with_string(where, text)
  for kind in FORMATS:
    source = _hostile_source(kind, config, str(workdir), valid_files)
    _assert_refused(kind, source)
    if kind in ("keras", "h5"):
      _assert_keras_refuses(source)


@pytest.mark.parametrize("name", sorted(HOSTILE_CONFIGS))
def test_hostile_configs_are_refused(name, valid_files, workdir, capsys):
  config = HOSTILE_CONFIGS[name]()
  for kind in FORMATS:
    source = _hostile_source(kind, config, str(workdir), valid_files)
    _assert_refused(kind, source)
    if kind in ("keras", "h5"):
      _assert_keras_refuses(source)
    if kind == "keras":
      _assert_cli_refuses(source, capsys)


# -- truncated and corrupted files ------------------------------------------


def _bytes_of(path):
  with open(path, "rb") as f:
    return f.read()


def _put(folder, name, data):
  path = os.path.join(folder, name)
  with open(path, "wb") as f:
    f.write(data)
  return path


def _zip(folder, entries, valid_keras=None, compression=zipfile.ZIP_STORED):
  """A ``.keras`` archive: the valid one's entries, replaced or removed
  (value None) by ``entries``."""
  members = {}
  if valid_keras is not None:
    with zipfile.ZipFile(valid_keras) as source:
      members = {n: source.read(n) for n in source.namelist()}
  members.update(entries)
  path = os.path.join(folder, "broken.keras")
  with zipfile.ZipFile(path, "w", compression=compression) as target:
    for name, data in members.items():
      if data is not None:
        target.writestr(name, data)
  return path


def _flipped(data, start, count=64):
  data = bytearray(data)
  for i in range(start, min(start + count, len(data))):
    data[i] ^= 0xFF
  return bytes(data)


def _h5_with(folder, valid_h5, config_value=None, drop_config=False):
  path = _put(folder, "broken.h5", _bytes_of(valid_h5))
  with h5py.File(path, "r+") as f:
    if drop_config:
      del f.attrs["model_config"]
    else:
      f.attrs["model_config"] = config_value
  return path


def _wider_dense():
  """The valid config with 5 units where the stored weights have 3."""
  return json.dumps(_sizes("dense", units=5))


_RANDOM = np.random.default_rng(19).bytes(4096)
_DEEP = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"

# name -> make(folder, (valid .keras, valid .h5)) -> path
BROKEN_FILES = {
    "keras_empty": lambda d, v: _put(d, "broken.keras", b""),
    "keras_random_bytes": lambda d, v: _put(d, "broken.keras", _RANDOM),
    "keras_truncated_to_half": lambda d, v: _put(
        d, "broken.keras", _bytes_of(v[0])[:len(_bytes_of(v[0])) // 2]),
    "keras_truncated_to_100_bytes": lambda d, v: _put(
        d, "broken.keras", _bytes_of(v[0])[:100]),
    "keras_last_byte_missing": lambda d, v: _put(
        d, "broken.keras", _bytes_of(v[0])[:-1]),
    "keras_bytes_flipped_in_weights": lambda d, v: _put(
        d, "broken.keras", _flipped(_bytes_of(v[0]),
                                    len(_bytes_of(v[0])) * 2 // 3)),
    "keras_zip_of_nothing": lambda d, v: _zip(d, {}),
    "keras_no_config": lambda d, v: _zip(d, {"config.json": None}, v[0]),
    "keras_config_not_json": lambda d, v: _zip(
        d, {"config.json": b"{not json"}, v[0]),
    "keras_config_a_list": lambda d, v: _zip(d, {"config.json": b"[]"}, v[0]),
    "keras_config_invalid_utf8": lambda d, v: _zip(
        d, {"config.json": b"\xff\xfe{\x00"}, v[0]),
    "keras_config_nested_100000_deep": lambda d, v: _zip(
        d, {"config.json": _DEEP}, v[0]),
    "keras_config_65_mb_deflated": lambda d, v: _zip(
        d, {"config.json": b" " * (65 * 2**20)}, v[0], zipfile.ZIP_DEFLATED),
    "keras_no_weights": lambda d, v: _zip(d, {"model.weights.h5": None},
                                          v[0]),
    "keras_weights_random_bytes": lambda d, v: _zip(
        d, {"model.weights.h5": _RANDOM}, v[0]),
    "keras_weights_truncated": lambda d, v: _zip(
        d, {"model.weights.h5": _bytes_of(v[1])[:2048]}, v[0]),
    "keras_weights_of_another_shape": lambda d, v: _zip(
        d, {"config.json": _wider_dense()}, v[0]),
    "h5_empty": lambda d, v: _put(d, "broken.h5", b""),
    "h5_random_bytes": lambda d, v: _put(d, "broken.h5", _RANDOM),
    "h5_truncated_to_half": lambda d, v: _put(
        d, "broken.h5", _bytes_of(v[1])[:len(_bytes_of(v[1])) // 2]),
    "h5_signature_only": lambda d, v: _put(
        d, "broken.h5", _bytes_of(v[1])[:8]),
    "h5_bytes_flipped_in_weights": lambda d, v: _put(
        d, "broken.h5", _flipped(_bytes_of(v[1]),
                                 len(_bytes_of(v[1])) * 2 // 3, 256)),
    "h5_no_model_config": lambda d, v: _h5_with(d, v[1], drop_config=True),
    "h5_config_not_json": lambda d, v: _h5_with(d, v[1], "{not json"),
    "h5_config_a_number": lambda d, v: _h5_with(d, v[1], 5),
    "h5_config_nested_100000_deep": lambda d, v: _h5_with(d, v[1], _DEEP),
    "h5_weights_of_another_shape": lambda d, v: _h5_with(
        d, v[1], _wider_dense()),
}

BROKEN_JSON = {
    "truncated": lambda: _valid_config()[:len(_valid_config()) // 2],
    "empty": lambda: "",
    "null": lambda: "null",
    "a_list": lambda: "[]",
    "a_number": lambda: "1e999999",
    "invalid_utf8": lambda: b"\xff\xfe{\x00",
    "nested_100000_deep": lambda: _DEEP,
    "over_64_mb": lambda: " " * (64 * 2**20 + 1),
    "no_class_name": lambda: '{"config": {}}',
}


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_broken_files_are_refused(name, valid_files, workdir, capsys):
  path = BROKEN_FILES[name](str(workdir), valid_files)
  _assert_refused("file", path)
  _assert_keras_refuses(path)
  _assert_cli_refuses(path, capsys)
  assert sorted(os.listdir(workdir)) == [os.path.basename(path)]


@pytest.mark.parametrize("name", sorted(BROKEN_JSON))
def test_broken_json_is_refused(name, workdir):
  del workdir
  _assert_refused("json", BROKEN_JSON[name]())


# -- absurd sizes, in a child process with a memory cap ---------------------

_MEMORY_CAP = 3 * 2**30  # bytes of data segment for the child (RLIMIT_DATA)

_CHILD = r"""
import json, os, sys
import qkeras
from qkeras import _io
from qkeras.qtools import __main__ as cli
results = {}
for name, kind, source in json.load(open(sys.argv[1])):
  try:
    if kind == "json":
      _io.quantized_model_from_json(open(source).read())
    elif kind == "cli":
      code = cli.main([source, "--no-map"])
      results[name] = ["exit", str(code)]
      continue
    else:
      _io.load_qmodel(source)
    results[name] = ["loaded", ""]
  except Exception as e:  # pylint: disable=broad-except
    results[name] = [type(e).__name__, str(e)]
print(json.dumps(results))
"""


def _capped():
  import resource  # pylint: disable=g-import-not-at-top
  resource.setrlimit(resource.RLIMIT_DATA, (_MEMORY_CAP, _MEMORY_CAP))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_DATA (Linux)")
def test_absurd_sizes_are_refused_before_allocating(valid_files, workdir):
  """Billions of weight elements: refused in a child whose data segment
  is capped at 3 GiB (a real allocation would fail it, or crash it)."""
  cases = []
  for name, make in sorted(ABSURD_SIZES.items()):
    config = make()
    for kind in FORMATS:
      source = _hostile_source(kind, config, str(workdir), valid_files)
      if kind == "json":
        source = _put(str(workdir), f"{name}.json", source.encode())
      else:
        extension = os.path.splitext(source)[1]
        renamed = os.path.join(str(workdir), f"{name}_{kind}{extension}")
        os.rename(source, renamed)
        source = renamed
      cases.append((f"{name}/{kind}", kind, source))
      if kind == "keras":
        cases.append((f"{name}/cli", "cli", source))
  listing = _put(str(workdir), "cases.json", json.dumps(cases).encode())
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  child = subprocess.run([sys.executable, "-c", _CHILD, listing], env=env,
                         capture_output=True, text=True, timeout=300,
                         preexec_fn=_capped, check=False)
  assert child.returncode == 0, child.stderr[-3000:]
  results = json.loads(child.stdout.strip().splitlines()[-1])
  assert len(results) == len(cases) == 5 * len(ABSURD_SIZES)
  for name, (kind, message) in results.items():
    if name.endswith("/cli"):
      assert (kind, message) == ("exit", "2"), name
      continue
    assert kind == "ValueError", (name, kind, message[:500])
    assert message.startswith("cannot load "), (name, message[:500])
    # Refused by the count, not after Keras tried (and failed) to allocate.
    assert "weight elements, more than" in message, (name, message[:500])
    assert len(message) < 1000


def test_command_line_refuses_in_one_line(valid_files, workdir):
  """``python -m qkeras.qtools`` itself (a new interpreter): a file with a
  code-running quantizer string exits 2 with one line on stderr."""
  config = _with_string("activation", HOSTILE_STRINGS["import_system"])
  path = _hostile_source("keras", config, str(workdir), valid_files)
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run([sys.executable, "-m", "qkeras.qtools", path],
                          cwd=str(workdir), env=env, capture_output=True,
                          text=True, timeout=300, check=False)
  assert result.returncode == 2, result.stderr[-2000:]
  assert result.stdout == ""
  lines = [l for l in result.stderr.splitlines() if l.strip()]
  assert len(lines) == 1, result.stderr[-2000:]
  assert lines[0].startswith("python -m qkeras.qtools: error: cannot load ")
  assert "is not a valid quantizer" in lines[0]


@pytest.mark.parametrize("option", ["--source-quantizer", "--keras-quantizer",
                                    "--keras-accumulator"])
def test_command_line_refuses_hostile_quantizer_options(option, valid_files,
                                                        workdir, capsys):
  """Every hostile string as a quantizer option of a valid model's
  command line (in this process): exit 2, one line, no code run."""
  for name, text in sorted(HOSTILE_STRINGS.items()):
    if not text and option != "--source-quantizer":
      continue  # QTools(keras_quantizer="") is the default type
    assert qtools_cli.main([valid_files[0], "--no-map", option, text],
                           out=io.StringIO()) == 2, name
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m qkeras.qtools: error: "), (name, err)
    assert "\n" not in err and len(err) < 2000, (name, err[:500])
  del workdir
