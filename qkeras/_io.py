# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Reading model files and JSON descriptions with qkeras layers.

``load_qmodel`` (``.keras`` and legacy ``.h5``, Keras-2 QKeras files
included, with QKeras 0.9's ``QDepthwiseConv2DTranspose`` bias fixed up on
the way in), ``quantized_model_from_json`` (Keras 3 and Keras-2 configs),
the custom objects they pass to Keras, and the helpers that read Keras-2
``TFOpLambda`` layers. A model reader: imports only the layers below it.
"""

import io
import json

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


def load_qmodel(filepath, custom_objects=None, compile=True):  # pylint: disable=redefined-builtin
  """Loads a model with qkeras layers from ``.keras`` or (legacy) ``.h5``.

  Keras-2 QKeras files load too; no ``custom_objects`` are needed for qkeras
  classes. In QKeras 0.9 ``.h5`` files, the unused ``(filters,)`` bias of
  ``QDepthwiseConv2DTranspose`` is loaded as zeros of shape ``(channels,)``.
  """
  objects = _custom_objects(custom_objects)
  legacy = _qkeras09_h5_copy(filepath)
  if legacy is not None:
    from keras.src.legacy.saving import legacy_h5_format  # pylint: disable=g-import-not-at-top
    with legacy:
      return legacy_h5_format.load_model_from_hdf5(
          legacy, custom_objects=objects, compile=compile)
  return keras.models.load_model(filepath, custom_objects=objects,
                                 compile=compile)


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
  """A model from ``model.to_json()`` (Keras 3 or Keras-2 QKeras)."""
  objects = _custom_objects(custom_objects)
  config = json.loads(json_string)
  if _is_keras2_config(config):
    # Keras 3 reads Keras-2 configs only through its legacy loader.
    from keras.src.legacy.saving import saving_utils  # pylint: disable=g-import-not-at-top
    return saving_utils.model_from_config(config, custom_objects=objects)
  return keras.models.model_from_json(json_string, custom_objects=objects)


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
