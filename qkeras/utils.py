# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Model utilities (``qkeras.utils``).

This milestone provides loading: ``load_qmodel``,
``quantized_model_from_json`` and ``_add_supported_quantized_objects``.
``model_quantize``, ``model_save_quantized_weights`` and the other QKeras
utilities come with the model-tools milestone.
"""

import json

import keras

from qkeras import quantizer_registry
from qkeras import quantizers
from qkeras import qconvolutional
from qkeras import qdepthwise_conv2d_transpose
from qkeras import qlayers
from qkeras import qmac
from qkeras import qnormalization
from qkeras import qpooling
from qkeras import qrecurrent
from qkeras import qseparable_conv2d_transpose

__all__ = ["load_qmodel", "quantized_model_from_json"]

_LAYER_MODULES = (qlayers, qconvolutional, qpooling, qnormalization, qmac,
                  qrecurrent, qdepthwise_conv2d_transpose,
                  qseparable_conv2d_transpose)


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
  for name in quantizer_registry._QUANTIZERS_REGISTRY.names():  # pylint: disable=protected-access
    custom_objects[name] = quantizer_registry.lookup_quantizer(name)
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
  classes.
  """
  return keras.models.load_model(
      filepath, custom_objects=_custom_objects(custom_objects),
      compile=compile)


def _is_keras2_config(config):
  return str(config.get("keras_version", "3")).startswith("2")


def quantized_model_from_json(json_string, custom_objects=None):
  """A model from ``model.to_json()`` (Keras 3 or Keras-2 QKeras)."""
  objects = _custom_objects(custom_objects)
  config = json.loads(json_string)
  if _is_keras2_config(config):
    # Keras 3 reads Keras-2 configs only through its legacy loader.
    from keras.src.legacy.saving import saving_utils  # pylint: disable=g-import-not-at-top
    return saving_utils.model_from_config(config, custom_objects=objects)
  return keras.models.model_from_json(json_string, custom_objects=objects)
