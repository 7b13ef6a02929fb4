# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Model utilities (``qkeras.utils``).

QKeras's model utilities: converting float models (``model_quantize``),
exporting quantized weights (``model_save_quantized_weights``), loading and
cloning, sparsity, debugging and dumping, batch-norm folding. They read
models and return new ones; none changes the model it is given.
"""

import io
import json

import keras
import numpy as np

from qkeras import _export
from qkeras import _graph
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

from qkeras._convert import model_quantize
from qkeras._convert import quantize_activation
from qkeras._export import REGISTERED_LAYERS
from qkeras._export import add_bn_fusing_weights
from qkeras._export import find_bn_fusing_layer_pair
from qkeras._export import get_model_sparsity
from qkeras._export import model_save_quantized_weights
from qkeras._export import print_model_sparsity
from qkeras._export import quantized_model_debug
from qkeras._export import quantized_model_dump

__all__ = ["load_qmodel", "quantized_model_from_json",
           "convert_to_folded_model", "unfold_model", "clone_model",
           "model_save_quantized_weights", "get_model_sparsity",
           "print_model_sparsity", "quantized_model_debug",
           "quantized_model_dump", "find_bn_fusing_layer_pair",
           "add_bn_fusing_weights", "REGISTERED_LAYERS", "model_quantize",
           "quantize_activation", "clone_model_and_freeze_auto_po2_scale",
           "get_config", "is_TFOpLambda_layer", "get_y_from_TFOpLambda"]

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


def get_config(quantizer_config, layer, layer_class, parameter=None):
  """QKeras's lookup: the entry of ``quantizer_config`` for the layer
  description ``layer`` (a ``{"config": {"name": ...}}`` dict, as in a
  model's JSON, or a layer) -- by layer name, else by ``layer_class`` --
  and, with ``parameter``, that field of it (None when missing)."""
  if isinstance(layer, dict):
    name = layer.get("config", {}).get("name", layer.get("name"))
  else:
    name = layer.name
  quantizer = quantizer_config.get(name, quantizer_config.get(layer_class))
  if quantizer is not None and parameter is not None:
    quantizer = quantizer.get(parameter) if isinstance(quantizer, dict) else None
  return quantizer


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


_FOLDABLE = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def fold_pairs(model):
  """``{conv_name: bn_layer}``: every float ``Conv2D`` / ``DepthwiseConv2D``
  (exactly those classes) whose output goes to a single
  ``BatchNormalization``."""
  return _graph.single_successor_pairs(model, _FOLDABLE,
                                       keras.layers.BatchNormalization)


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
  model = _graph.functional(model)
  pairs = fold_pairs(model)
  skipped_bn = {bn.name for bn in pairs.values()}

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
  return new_model, list(pairs)


def clone_model(model, custom_objects=None):
  """A copy of ``model`` (same layers, configs and weights, new variables),
  through its JSON description as in QKeras."""
  copy = quantized_model_from_json(model.to_json(), custom_objects)
  copy.set_weights(model.get_weights())
  return copy


_FREEZE_LAYERS = ("QConv2D", "QDepthwiseConv2D", "QDense",
                  "QBatchNormalization")


def _is_auto_po2(quantizer):
  return (isinstance(quantizer, quantizers.quantized_bits) and
          isinstance(quantizer.alpha, str) and quantizer.alpha == "auto_po2")


def _auto_po2_arguments(layer):
  return [name for name in getattr(layer, "_quantizer_names", ())
          if _is_auto_po2(getattr(layer, name + "_internal"))]


def _computed_scale(layer, argument):
  """The scale ``layer``'s auto_po2 quantizer ``argument`` gives its
  weight (BatchNormalization: gamma / sqrt(variance + eps))."""
  quantizer = getattr(layer, argument + "_internal")
  if argument == "inverse_quantizer":
    _export.bn_inverse(layer)
  else:
    for _, weight, q in _export.weights_and_quantizers(layer):
      if q is quantizer:
        _export.quantize_weight(q, weight)
  return np.asarray(keras.ops.convert_to_numpy(quantizer.scale)).tolist()


def clone_model_and_freeze_auto_po2_scale(orig_model=None,
                                          orig_model_path=None,
                                          quantize_model_weights=False):
  """A copy of the model whose ``auto_po2`` scales are frozen.

  In every ``QConv2D``, ``QDepthwiseConv2D``, ``QDense`` and
  ``QBatchNormalization`` the (at most one) ``quantized_bits`` with
  ``alpha="auto_po2"`` is replaced by the same quantizer with
  ``post_training_scale`` set to the scale its current weights give, so the
  model computes the same outputs with fixed scales. Give exactly one of
  ``orig_model`` and ``orig_model_path`` (loaded with ``load_qmodel``).
  Returns ``(new_model, hardware weights or None)``: with
  ``quantize_model_weights`` the new model's
  ``model_save_quantized_weights`` result, checked to equal the original's.
  """
  if (orig_model is None) == (orig_model_path is None):
    raise ValueError("clone_model_and_freeze_auto_po2_scale: give exactly one "
                     "of 'orig_model' and 'orig_model_path'.")
  if orig_model is None:
    orig_model = load_qmodel(orig_model_path, compile=False)

  def clone(layer):
    config = layer.get_config()
    if type(layer).__name__ in _FREEZE_LAYERS:
      arguments = _auto_po2_arguments(layer)
      if len(arguments) > 1:
        raise ValueError(f"{layer.name} has more than one auto_po2 quantizer "
                         f"({', '.join(arguments)}).")
      for argument in arguments:
        quantizer = qlayers.serialize_quantizer(
            getattr(layer, argument + "_internal"))
        quantizer["config"]["post_training_scale"] = _computed_scale(
            layer, argument)
        config[argument] = quantizer
    return layer.__class__.from_config(config)

  new_model = keras.models.clone_model(orig_model, clone_function=clone)
  new_model.set_weights(orig_model.get_weights())
  for layer in _graph.flat_layers(new_model):
    if type(layer).__name__ in _FREEZE_LAYERS:
      for argument in _auto_po2_arguments(layer):
        if getattr(layer, argument + "_internal").post_training_scale is None:
          raise ValueError(f"{layer.name}: {argument} is still auto_po2 "
                           "without a frozen scale.")
  if not quantize_model_weights:
    return new_model, None
  before = model_save_quantized_weights(orig_model)
  after = model_save_quantized_weights(new_model)
  for name, entry in before.items():
    for key in ("weights", "scales"):
      for a, b in zip(entry.get(key, []), after[name].get(key, [])):
        if not np.array_equal(np.asarray(a), np.asarray(b)):
          raise ValueError(f"No Match: {name} {key} differ after freezing.")
  return new_model, after
