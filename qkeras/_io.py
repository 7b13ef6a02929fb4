# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Reading model files and JSON descriptions with qkeras layers.

``load_qmodel`` (``.keras`` and legacy ``.h5``, Keras-2 QKeras files
included, with QKeras 0.9's ``QDepthwiseConv2DTranspose`` bias fixed up on
the way in), ``quantized_model_from_json`` (Keras 3 and Keras-2 configs),
the custom objects they pass to Keras, and the helpers that read Keras-2
``TFOpLambda`` layers. A model reader: imports only the layers below it.

Files and JSON from other people are read defensively: before Keras builds
anything, the config is read and checked (size, nesting, JSON), the model
is built once without allocating its weights (``keras.StatelessScope``) to
count them, and a file whose config asks for more weights than it stores is
refused; every refusal is a ``ValueError`` naming the file and the problem
(``OSError`` for the file system). No code runs from a file: quantizer
strings go through ``qkeras.safe_eval`` and Keras loads in safe mode
(``Lambda`` layers refused).
"""

import copy
import io
import json
import math
import os
import zipfile

import keras

from qkeras import qconv2d_batchnorm
from qkeras import qconvolutional
from qkeras import qdense_batchnorm
from qkeras import qdepthwise_conv2d_transpose
from qkeras import qdepthwiseconv2d_batchnorm
from qkeras import qlayers
from qkeras import qmac
from qkeras import qnormalization
from qkeras import qpooling
from qkeras import qrecurrent
from qkeras import qseparable_conv2d_transpose
from qkeras import quantizer_registry
from qkeras import quantizers

_LAYER_MODULES = (qlayers, qconvolutional, qpooling, qnormalization, qmac,
                  qrecurrent, qdepthwise_conv2d_transpose,
                  qseparable_conv2d_transpose, qconv2d_batchnorm,
                  qdepthwiseconv2d_batchnorm, qdense_batchnorm)


def _add_supported_quantized_objects(custom_objects):
  """Adds every qkeras layer, quantizer, constraint and initializer.

  ``custom_objects`` (a dict) is updated in place with their plain class
  names (the names Keras-2 QKeras files use), as QKeras did.
  """
  for module in _LAYER_MODULES:
    for name in module.__all__:
      obj = getattr(module, name)
      if isinstance(obj, type) or callable(obj):
        custom_objects[name] = obj
  custom_objects.update(quantizer_registry.registered_quantizers())
  for function in quantizers._QUANTIZER_FUNCTIONS.values():  # pylint: disable=protected-access
    custom_objects[function.__name__] = function


def _custom_objects(custom_objects):
  objects = dict(custom_objects or {})
  supported = {}
  _add_supported_quantized_objects(supported)
  for name, obj in supported.items():
    objects.setdefault(name, obj)
  return objects


# Limits on what a model file or JSON string may ask of the loader.
MAX_CONFIG_BYTES = 64 * 2**20  # the JSON model config
MAX_CONFIG_DEPTH = 100  # nesting of dicts and lists in the config
# Weights of a model built from JSON alone (no file to compare with):
# 2**28 elements (1 GiB of float32).
MAX_JSON_MODEL_WEIGHTS = 2**28
# A file may ask for (elements) at most the bytes it stores plus this.
_WEIGHT_SLACK = 2**20
_SHOWN = 400  # characters of a refusal's reason


def _shorten(text):
  """``text`` on one line and at most ``_SHOWN`` characters: its start and
  its end (where the reason usually is, after a quoted hostile value)."""
  text = " ".join(str(text).split())
  if len(text) <= _SHOWN:
    return text
  tail = _SHOWN // 3
  return text[:_SHOWN - tail - 5] + " ... " + text[-tail:]


def _refusal(source, problem):
  return ValueError(f"cannot load {source}: {_shorten(problem)}")


def _parse_config(text, source):
  """The JSON object in ``text`` (str or bytes), or a ValueError."""
  if len(text) > MAX_CONFIG_BYTES:
    raise _refusal(source, f"the model config is {len(text)} bytes long "
                   f"(limit MAX_CONFIG_BYTES={MAX_CONFIG_BYTES})")
  try:
    config = json.loads(text)
  except RecursionError:
    raise _refusal(source, "the model config is nested too deeply") from None
  except (ValueError, UnicodeDecodeError) as e:
    raise _refusal(source, f"the model config is not valid JSON ({e})") from e
  if not isinstance(config, dict):
    raise _refusal(source, "the model config is not a JSON object but "
                   f"{type(config).__name__}")
  stack = [(config, 1)]
  while stack:
    value, depth = stack.pop()
    if depth > MAX_CONFIG_DEPTH:
      raise _refusal(source, "the model config is nested more than "
                     f"MAX_CONFIG_DEPTH={MAX_CONFIG_DEPTH} levels deep")
    if isinstance(value, dict):
      stack.extend((v, depth + 1) for v in value.values())
    elif isinstance(value, list):
      stack.extend((v, depth + 1) for v in value)
  return config


def _read_keras_archive(path, source):
  """``(config, bytes on disk)`` of a ``.keras`` zip archive (or folder)."""
  if os.path.isdir(path):
    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
      raise _refusal(source, "the folder has no config.json")
    with open(config_path, "rb") as f:
      text = f.read(MAX_CONFIG_BYTES + 1)
    stored = sum(os.path.getsize(os.path.join(root, name))
                 for root, _, names in os.walk(path) for name in names)
    return _parse_config(text, source), stored
  if not zipfile.is_zipfile(path):
    raise _refusal(source, "not a .keras archive (a zip file); truncated or "
                   "corrupted?")
  try:
    with zipfile.ZipFile(path) as archive:
      try:
        info = archive.getinfo("config.json")
      except KeyError:
        raise _refusal(source, "the archive has no config.json") from None
      if info.file_size > MAX_CONFIG_BYTES:
        raise _refusal(source, f"config.json is {info.file_size} bytes long "
                       f"(limit MAX_CONFIG_BYTES={MAX_CONFIG_BYTES})")
      with archive.open(info) as f:
        text = f.read(MAX_CONFIG_BYTES + 1)
  except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError,
          NotImplementedError, RuntimeError) as e:
    raise _refusal(source, f"the archive is corrupted ({e})") from e
  except OSError as e:
    if _is_file_system_error(e):
      raise
    raise _refusal(source, f"the archive is corrupted ({e})") from e
  # The bytes on disk, not the sizes the archive claims (an attacker's).
  return _parse_config(text, source), os.path.getsize(path)


def _read_h5(path, source):
  """``(config, bytes on disk)`` of a (legacy) ``.h5`` model file."""
  import h5py  # pylint: disable=g-import-not-at-top
  if not h5py.is_hdf5(path):
    raise _refusal(source, "not an HDF5 file; truncated or corrupted?")
  try:
    with h5py.File(path, "r") as f:
      text = f.attrs.get("model_config")
  except OSError as e:
    if _is_file_system_error(e):
      raise
    raise _refusal(source, f"the HDF5 file cannot be read ({e})") from e
  if text is None:
    raise _refusal(source, "the HDF5 file has no model config "
                   "('model_config'); a weights-only file?")
  if not isinstance(text, (str, bytes)):
    raise _refusal(source, "the HDF5 file's 'model_config' is not text")
  return _parse_config(text, source), os.path.getsize(path)


def _read_model_file(filepath):
  """``(config, bytes on disk, is_h5)`` of a model file, or ``None`` for a
  path Keras reads itself (a missing file, another format).

  A model's weights are stored in its file (4 bytes per float32 element,
  no compression in Keras's formats), so the bytes on disk bound the
  number of weight elements an honest file asks for."""
  if not isinstance(filepath, (str, os.PathLike)):
    return None
  path = os.fspath(filepath)
  if not os.path.exists(path):
    return None
  source = repr(path)
  if path.endswith(".keras"):
    return (*_read_keras_archive(path, source), False)
  if path.endswith((".h5", ".hdf5")):
    return (*_read_h5(path, source), True)
  return None


def _uninitialized_variables():
  from keras.src.backend.common import global_state  # pylint: disable=g-import-not-at-top
  return global_state.get_global_attribute("uninitialized_variables", [],
                                           set_to_default=True)


def _weight_elements(build):
  """The number of weight elements ``build()`` creates, counted without
  allocating them (``keras.StatelessScope`` defers initializers); None when
  a layer cannot be built that way.

  Every variable created is counted, not only the returned model's
  weights: a config may hold layers that are built but not connected to
  the model's outputs."""
  pending = list(_uninitialized_variables())
  known = {id(v) for v in pending}
  try:
    with keras.StatelessScope(initialize_variables=False):
      build()
    created = [v for v in _uninitialized_variables() if id(v) not in known]
  except ValueError as e:
    if "stateless scope" in str(e):
      return None  # a variable with a value, not an initializer: no count
    raise
  finally:
    # Forget the deferred variables: nothing may initialize them later.
    _uninitialized_variables()[:] = pending
  return sum(math.prod(int(d) for d in v.shape) for v in created)


def _check_weights(config, objects, source, limit, legacy, why):
  """Refuses ``config`` when its model has more than ``limit`` weight
  elements (counted before any is allocated)."""
  config = copy.deepcopy(config)  # Keras's deserialization consumes it
  if legacy:
    from keras.src.legacy.saving import saving_utils  # pylint: disable=g-import-not-at-top
    from keras.src.saving import serialization_lib  # pylint: disable=g-import-not-at-top

    def build():
      with serialization_lib.SafeModeScope(True):
        return saving_utils.model_from_config(config, custom_objects=objects)
  else:

    def build():
      return keras.saving.deserialize_keras_object(
          config, custom_objects=objects, safe_mode=True)

  with _clear_errors(source):
    elements = _weight_elements(build)
  if elements is not None and elements > limit:
    raise _refusal(source, f"the model config asks for {elements} weight "
                   f"elements, more than {why} ({limit})")


_KERAS_WRAPPERS = ("could not be deserialized properly",
                   "Error when deserializing class")


def _reason(error):
  """The clearest message in ``error``'s chain: the first that is not one
  of Keras's wrappers (which repeat the whole config)."""
  seen = set()
  chain = []
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    chain.append(error)
    error = error.__cause__ or error.__context__
  for e in chain:
    if not any(w in str(e) for w in _KERAS_WRAPPERS):
      text = str(e) or type(e).__name__
      if not isinstance(e, (ValueError, TypeError)):
        text = f"{type(e).__name__}: {text}"
      return text
  return str(chain[-1])


def _is_file_system_error(error):
  """Whether ``error`` is the operating system's (a missing or unreadable
  file: an ``OSError`` with an ``errno``), not a reader's complaint about
  the bytes (h5py's ``OSError("Unable to synchronously open file
  (truncated file ...)")`` has none)."""
  return isinstance(error, OSError) and error.errno is not None


class _clear_errors:  # pylint: disable=invalid-name
  """Turns a failure to load ``source`` into ``ValueError("cannot load
  <source>: <reason>")``; the file system's own errors (an ``OSError``
  with an ``errno``: missing, unreadable) pass unchanged."""

  def __init__(self, source):
    self.source = source

  def __enter__(self):
    return self

  def __exit__(self, kind, error, tb):
    if error is None or not isinstance(error, Exception):
      return False
    if _is_file_system_error(error):
      return False
    if isinstance(error, ValueError) and str(error).startswith(
        f"cannot load {self.source}: "):
      return False
    raise _refusal(self.source, _reason(error)) from error


def load_qmodel(filepath, custom_objects=None, compile=True):  # pylint: disable=redefined-builtin
  """Loads a model with qkeras layers from ``.keras`` or (legacy) ``.h5``.

  Keras-2 QKeras files load too; no ``custom_objects`` are needed for qkeras
  classes. In QKeras 0.9 ``.h5`` files, the unused ``(filters,)`` bias of
  ``QDepthwiseConv2DTranspose`` is loaded as zeros of shape ``(channels,)``.

  Hostile or broken files are refused before Keras builds the model: the
  config must be JSON within ``MAX_CONFIG_BYTES`` and ``MAX_CONFIG_DEPTH``,
  and the model it describes may not have more weight elements than the
  file stores bytes (plus 1 MiB), counted without allocating them. Any
  refusal is ``ValueError("cannot load '<path>': <reason>")``; a missing or
  unreadable file an ``OSError``.
  """
  objects = _custom_objects(custom_objects)
  source = repr(os.fspath(filepath)) if isinstance(
      filepath, (str, os.PathLike)) else repr(filepath)
  read = _read_model_file(filepath)
  if read is not None:
    config, stored, is_h5 = read
    _check_weights(config, objects, source, stored + _WEIGHT_SLACK, is_h5,
                   "the file stores bytes (plus 1 MiB)")
  with _clear_errors(source):
    copy = _qkeras09_h5_copy(filepath)
    if copy is not None:
      from keras.src.legacy.saving import legacy_h5_format  # pylint: disable=g-import-not-at-top
      with copy:
        return legacy_h5_format.load_model_from_hdf5(
            copy, custom_objects=objects, compile=compile)
    return keras.models.load_model(filepath, custom_objects=objects,
                                   compile=compile, safe_mode=True)


def _is_keras2_config(config):
  return str(config.get("keras_version", "3")).startswith("2")


def _layer_names(config, names, class_name):
  """Adds the names of every ``class_name`` layer in ``config``."""
  if isinstance(config, dict):
    if (config.get("class_name") == class_name and
        isinstance(config.get("config"), dict)):
      names.add(config["config"].get("name"))
    for value in config.values():
      _layer_names(value, names, class_name)
  elif isinstance(config, list):
    for value in config:
      _layer_names(value, names, class_name)
  return names


def _text(value):
  return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _qkeras09_h5_copy(filepath):
  """An in-memory copy of a QKeras 0.9 ``.h5`` model with our weight layout.

  Returns None unless ``filepath`` is a Keras-2 ``.h5`` model file with a
  ``QDepthwiseConv2DTranspose`` that has a bias; otherwise an open, writable
  in-memory ``h5py.File`` (for Keras's legacy loader) in which each such
  layer's bias (QKeras 0.9: ``(filters,)``, never added) is zeros of shape
  ``(channels,)`` (``channels`` from the saved ``depthwise_kernel``), which
  gives QKeras 0.9's outputs.
  """
  import h5py  # pylint: disable=g-import-not-at-top
  if not isinstance(filepath, str) and not hasattr(filepath, "__fspath__"):
    return None
  if not str(filepath).endswith((".h5", ".hdf5")):  # as keras.models
    return None
  try:
    if not h5py.is_hdf5(filepath):
      return None
    with h5py.File(filepath, "r") as f:
      version = _text(f.attrs.get("keras_version", ""))
      config = f.attrs.get("model_config")
      if not _is_keras2_config({"keras_version": version}) or config is None:
        return None
      names = _layer_names(json.loads(_text(config)), set(),
                           "QDepthwiseConv2DTranspose")
      if not names or "model_weights" not in f:
        return None
  except (OSError, ValueError):
    return None
  with open(filepath, "rb") as raw:
    copy = h5py.File(io.BytesIO(raw.read()), "r+")
  weights = copy["model_weights"]
  changed = False
  for group_name in weights:
    group = weights[group_name]
    if not isinstance(group, h5py.Group):
      continue
    weight_names = [_text(n) for n in group.attrs.get("weight_names", [])]
    for name in names:
      suffix = f"{name}/depthwise_kernel:0"
      kernel = [n for n in weight_names
                if n == suffix or n.endswith("/" + suffix)]
      for kernel_name in kernel:
        bias_name = kernel_name[:-len("depthwise_kernel:0")] + "bias:0"
        if bias_name not in weight_names:
          continue
        channels = group[kernel_name].shape[2]
        bias = qdepthwise_conv2d_transpose.qkeras09_bias(
            group[bias_name][()], channels, name)
        del group[bias_name]
        group.create_dataset(bias_name, data=bias)
        changed = True
  if not changed:
    copy.close()
    return None
  return copy


def quantized_model_from_json(json_string, custom_objects=None):
  """A model from ``model.to_json()`` (Keras 3 or Keras-2 QKeras).

  Hostile or broken JSON is refused with ``ValueError("cannot load JSON
  model config: <reason>")`` before any weight is allocated: the checks of
  ``load_qmodel``, with at most ``MAX_JSON_MODEL_WEIGHTS`` weight elements.
  """
  source = "JSON model config"
  if not isinstance(json_string, (str, bytes, bytearray)):
    raise TypeError("quantized_model_from_json: argument 'json_string' must "
                    f"be str or bytes, got {type(json_string).__name__}")
  objects = _custom_objects(custom_objects)
  config = _parse_config(json_string, source)
  legacy = _is_keras2_config(config)
  _check_weights(config, objects, source, MAX_JSON_MODEL_WEIGHTS, legacy,
                 "MAX_JSON_MODEL_WEIGHTS")
  with _clear_errors(source):
    if legacy:
      # Keras 3 reads Keras-2 configs only through its legacy loader.
      from keras.src.legacy.saving import saving_utils  # pylint: disable=g-import-not-at-top
      from keras.src.saving import serialization_lib  # pylint: disable=g-import-not-at-top
      with serialization_lib.SafeModeScope(True):
        model = saving_utils.model_from_config(config, custom_objects=objects)
    else:
      model = keras.saving.deserialize_keras_object(
          config, custom_objects=objects, safe_mode=True)
  if not isinstance(model, keras.layers.Layer):
    # Keras returns a config without a "class_name" as it is (a dict).
    raise _refusal(source, "the JSON does not describe a model or layer "
                   f"(it gives a {type(model).__name__})")
  return model


def is_TFOpLambda_layer(layer):  # pylint: disable=invalid-name
  """Whether ``layer`` is a Keras-2 ``TFOpLambda`` (Keras 3 has none)."""
  return type(layer).__name__ == "TFOpLambda"


def get_y_from_TFOpLambda(model_cfg, layer):  # pylint: disable=invalid-name
  """The constant ``y`` of a Keras-2 ``TFOpLambda`` layer (``x + y``,
  ``x * y``) from a model config, or None."""
  for layer_config in model_cfg.get("layers", []):
    if (layer_config.get("class_name") == "TFOpLambda" and
        layer_config["config"]["name"] == layer.name):
      return layer_config["inbound_nodes"][-1][-1]["y"]
  return None
