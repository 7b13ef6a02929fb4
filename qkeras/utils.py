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
from qkeras import qconv2d_batchnorm
from qkeras import qdense_batchnorm
from qkeras import qdepthwiseconv2d_batchnorm
from qkeras.bn_folding_utils import unfold_model
from qkeras import qnormalization
from qkeras import qpooling
from qkeras import qrecurrent
from qkeras import qseparable_conv2d_transpose

__all__ = ["load_qmodel", "quantized_model_from_json",
           "convert_to_folded_model", "unfold_model"]

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


_FOLDABLE = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def _functional(model):
  """A functional view of ``model`` (Sequential models included)."""
  if isinstance(model, keras.Sequential):
    return keras.Model(model.inputs, model.outputs, name=model.name)
  return model


def _consumers(model):
  """Layer -> the layers of ``model`` that take its output."""
  consumers = {id(layer): [] for layer in model.layers}
  for layer in model.layers:
    for node in layer._inbound_nodes:  # pylint: disable=protected-access
      for parent in node.parent_nodes:
        if id(parent.operation) in consumers:
          consumers[id(parent.operation)].append(layer)
  return consumers


def convert_to_folded_model(model):
  """Removes the batch norms that follow a convolution, for folding.

  Finds every float ``Conv2D`` / ``DepthwiseConv2D`` (exactly those classes)
  whose output goes to a single ``BatchNormalization`` and returns
  ``(new_model, layers_to_fold)``: a copy of the model without those batch
  norms (the convolution feeds the batch norm's consumers directly) and the
  names of the convolutions. ``model_quantize(..., enable_bn_folding=True)``
  turns them into ``QConv2DBatchnorm`` / ``QDepthwiseConv2DBatchnorm``. The
  original model is not changed.
  """
  model = _functional(model)
  consumers = _consumers(model)
  layers_to_fold, skipped_bn = [], set()
  for layer in model.layers:
    followers = consumers[id(layer)]
    if (type(layer) in _FOLDABLE and len(followers) == 1 and
        isinstance(followers[0], keras.layers.BatchNormalization)):
      layers_to_fold.append(layer.name)
      skipped_bn.add(followers[0].name)

  def call(layer, *args, **kwargs):
    if layer.name in skipped_bn:
      return args[0]
    return layer(*args, **kwargs)

  new_model = keras.models.clone_model(
      model, clone_function=lambda l: l.__class__.from_config(l.get_config()),
      call_function=call)
  for layer in model.layers:
    if layer.name not in skipped_bn and layer.weights:
      new_model.get_layer(layer.name).set_weights(layer.get_weights())
  return new_model, layers_to_fold
