# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""hls4ml hand-off: Keras-3 layer handlers for hls4ml 1.3.

hls4ml 1.3 converts Keras 3 models layer by layer, looking each layer up in
its Keras-3 handler registry by ``"<layer.__module__>.<ClassName>"`` and then
by ``"<ClassName>"``. It has no entries for QKeras layers, so they fall back
to its Keras-2 handlers, which refuse any layer whose ``activation``
attribute is not a plain Python function -- every ``QActivation`` and every
``QDense(..., activation=quantized_relu(...))``.

``register()`` adds one handler per Q-layer class of this package (keyed by
the full module path, never by the bare class name, so other libraries'
``QDense`` are not touched). Each handler feeds the layer's ``get_config()``
and weights to hls4ml's own QKeras (Keras-2) parser for that class, and
splits a quantizer activation into a separate activation node, as hls4ml's
Keras-2 front end does. The layers themselves are unchanged (``.activation``
and ``.quantizer`` stay what QKeras users read).

Usage (after ``pip install hls4ml``)::

  import hls4ml
  import qkeras                         # either order registers the handlers

  config = hls4ml.utils.config_from_keras_model(model, granularity="name")
  hls_model = hls4ml.converters.convert_from_keras_model(
      model, hls_config=config, output_dir="prj", backend="Vitis",
      io_type="io_parallel")
  hls_model.compile()

``import qkeras`` never imports hls4ml, yet registers these handlers once
hls4ml's Keras-3 converter is imported, in either import order
(qkeras/_hls4ml_hook.py imports this module then; turned off by
``QKERAS_HLS4ML_AUTOREGISTER=0``). Importing this module explicitly still
works: it imports hls4ml and registers at once (idempotent), and raises
when that fails. See docs/hls4ml.md.
"""

import numpy as np

__all__ = ["register", "unregister", "registered_keys", "HANDLED_CLASSES"]

# Our class name (also the name of hls4ml's Keras-2 parser for it) -> its
# module. Only layers hls4ml's QKeras parser knows are listed; the others
# (QAveragePooling2D, QConv2DTranspose, QBidirectional, ...) keep hls4ml's
# usual behaviour (an error naming the layer).
HANDLED_CLASSES = {
    "QDense": "qkeras.qlayers",
    "QActivation": "qkeras.qlayers",
    "QConv1D": "qkeras.qconvolutional",
    "QConv2D": "qkeras.qconvolutional",
    "QDepthwiseConv2D": "qkeras.qconvolutional",
    "QSeparableConv1D": "qkeras.qconvolutional",
    "QSeparableConv2D": "qkeras.qconvolutional",
    "QBatchNormalization": "qkeras.qnormalization",
    "QSimpleRNN": "qkeras.qrecurrent",
    "QLSTM": "qkeras.qrecurrent",
    "QGRU": "qkeras.qrecurrent",
}

_RECURRENT = ("QSimpleRNN", "QLSTM", "QGRU")
_LINEAR = (None, "linear")

_installed = {}  # registry key -> our handler (what register() added)


class _LayerReader:
  """hls4ml's weight reader for one layer: the weight named exactly
  ``var_name`` (Keras 3 weight names are bare: ``kernel``, ``bias``, ...),
  else the first one whose name contains it (hls4ml's own rule)."""

  def __init__(self, layer):
    self.layer = layer

  def get_weights_data(self, layer_name, var_name):
    if layer_name != self.layer.name:
      raise ValueError(f"hls4ml asked for weights of {layer_name!r} while "
                       f"converting {self.layer.name!r}")
    weights = self.layer.weights
    for w in weights:
      if w.name == var_name:
        return np.asarray(w.numpy())
    for w in weights:
      if var_name in w.name:
        return np.asarray(w.numpy())
    return None


def _is_quantizer_config(activation):
  return isinstance(activation, dict) and activation.get("class_name") not in (
      None, "function")


def _is_keras_activation(activation):
  """True for a plain Keras activation ("relu", a serialized Keras
  function); False for quantizers and QKeras's functions (binary_tanh,
  hard_sigmoid, ...), which hls4ml's QActivation parser reads."""
  # pylint: disable=g-import-not-at-top
  from qkeras.base_quantizer import BaseQuantizer
  from qkeras.quantizers import get_quantizer
  if _is_quantizer_config(activation):
    return False
  quantizer = get_quantizer(activation)
  if isinstance(quantizer, BaseQuantizer):
    return False
  return not getattr(quantizer, "__module__", "").startswith("qkeras")


def _activation_name(activation):
  """A Keras activation given as a name or a serialized function."""
  if isinstance(activation, str):
    return activation
  if isinstance(activation, dict) and activation.get("class_name") == (
      "function"):
    return str(activation.get("config")).split(">")[-1]
  return None


def _batchnorm_scale_offset(layer):
  """``QBatchNormalization`` in inference is ``x * inv + offset``; returns
  ``(inv, offset)`` as the layer computes them (its
  ``inference_scale_offset()``), as float32 NumPy arrays.

  hls4ml's own parser refolds the float gamma/beta/mean/variance and
  ignores the four quantizers (and knows no ``inverse_quantizer``); handing
  it the layer's own scale and offset makes the two agree.
  """
  # pylint: disable=g-import-not-at-top
  from keras import ops
  inv, offset = layer.inference_scale_offset()
  return (np.asarray(ops.convert_to_numpy(inv), np.float32),
          np.asarray(ops.convert_to_numpy(offset), np.float32))


def _keep_quantized_linear(node):
  """A ``quantized_bits`` activation becomes hls4ml's ``linear`` activation
  with a result precision. hls4ml 1.3's ``MergeLinearActivation`` pass
  removes such a node after a Dense/Conv/BatchNorm whose result precision is
  'auto' and keeps the precision only when the node has a ``quantizer``
  attribute (QONNX style): without one, the quantization is lost. Give it
  one, with the precision ``config_from_keras_model`` derives from the
  quantizer (rounding and saturating, as quantized_bits computes)."""
  config = node.get("activation_quantizer")
  if node.get("activation") != "linear" or not config:
    return
  # pylint: disable=g-import-not-at-top
  from hls4ml.model.quantizers import QuantNodeQuantizer
  from hls4ml.utils.config import _get_precision_from_quantizer
  node["quantizer"] = QuantNodeQuantizer(_get_precision_from_quantizer(
      {"class_name": "quantized_bits", "config": config["config"]}))


def _check_tensorflow_for_scales(layer, config):
  """hls4ml 1.3 converts a weight quantizer with a string ``alpha`` through
  its ApplyAlpha pass, which imports TensorFlow: say so at conversion when
  the backend is not TensorFlow and TensorFlow is not installed."""
  import importlib.util  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  if keras.backend.backend() == "tensorflow" or importlib.util.find_spec(
      "tensorflow") is not None:
    return
  for key, value in config.items():
    if (key.endswith("_quantizer") and isinstance(value, dict) and
        isinstance(value.get("config", {}).get("alpha"), str)):
      raise ValueError(
          f"{layer.name}: hls4ml 1.3 hands {key} with alpha="
          f"{value['config']['alpha']!r} to its ApplyAlpha pass, which needs "
          f"TensorFlow, and the Keras backend here is "
          f"{keras.backend.backend()!r} without TensorFlow installed; install "
          "tensorflow or quantize the weights with alpha=1.")


class QKerasLayerHandler:
  """hls4ml Keras-3 handler for one of our Q-layer classes.

  Called by hls4ml as ``handler(layer, in_tensors, out_tensors)``; returns
  the tuple of hls4ml layer dicts (the layer, plus its activation when it
  has one).
  """

  def __init__(self, class_name):
    self.class_name = class_name

  def __repr__(self):
    return f"QKerasLayerHandler({self.class_name!r})"

  def __call__(self, layer, in_tensors, out_tensors):
    # pylint: disable=g-import-not-at-top
    from hls4ml.converters.keras_v2_to_hls import layer_handlers
    config = layer.get_config()
    for key in ("activation", "recurrent_activation",
                "depthwise_activation"):
      # Keras 3 serializes functions as dicts; hls4ml expects names.
      if isinstance(config.get(key), dict) and not _is_quantizer_config(
          config[key]):
        config[key] = _activation_name(config[key])
    reader = _LayerReader(layer)
    in_names = [t.name for t in in_tensors]
    out_names = [t.name for t in out_tensors]
    in_shapes = [list(t.shape) for t in in_tensors]
    if self.class_name in ("QSeparableConv1D", "QSeparableConv2D") and (
        config.get("depthwise_activation") not in _LINEAR):
      raise ValueError(
          f"{layer.name}: hls4ml has no depthwise_activation between the "
          "depthwise and pointwise steps of a separable convolution; use "
          "a DepthwiseConv + QActivation + 1x1 QConv instead.")
    _check_tensorflow_for_scales(layer, config)
    if self.class_name == "QActivation":
      return (self._qactivation(layer_handlers, config, in_names, out_names,
                                in_shapes, reader),)
    node, out_shape = layer_handlers[self.class_name](
        {"class_name": self.class_name, "config": config}, in_names,
        in_shapes, reader)
    node["input_keras_tensor_names"] = in_names
    node["output_keras_tensor_names"] = out_names
    if self.class_name == "QBatchNormalization":
      node["scale_data"], node["bias_data"] = _batchnorm_scale_offset(layer)
    activation = config.get("activation")
    if self.class_name in _RECURRENT or activation in _LINEAR:
      return (node,)
    # A separate activation node after the layer, as in hls4ml's Keras-2
    # front end.
    between = f"{out_names[0]}_activation"
    node["output_keras_tensor_names"] = [between]
    if not _is_keras_activation(activation):
      label = (activation["class_name"] if isinstance(activation, dict)
               else _activation_name(activation))
      act_layer = {"class_name": "QActivation",
                   "config": {"name": f"{layer.name}_{label}",
                              "activation": activation}}
    else:
      name = _activation_name(activation)
      act_layer = {"class_name": "Activation",
                   "config": {"name": f"{layer.name}_{name}",
                              "activation": name}}
    act, _ = layer_handlers[act_layer["class_name"]](
        act_layer, [between], [out_shape], reader)
    _keep_quantized_linear(act)
    act["input_keras_tensor_names"] = [between]
    act["output_keras_tensor_names"] = out_names
    return node, act

  @staticmethod
  def _qactivation(layer_handlers, config, in_names, out_names, in_shapes,
                   reader):
    activation = config["activation"]
    if _is_keras_activation(activation):  # QActivation("relu")
      handler = layer_handlers["Activation"]
      keras_layer = {"class_name": "Activation",
                     "config": dict(config,
                                    activation=_activation_name(activation))}
    else:  # a quantizer (object, string or dict) or a QKeras function
      handler = layer_handlers["QActivation"]
      keras_layer = {"class_name": "QActivation", "config": config}
    node, _ = handler(keras_layer, in_names, in_shapes, reader)
    node["input_keras_tensor_names"] = in_names
    node["output_keras_tensor_names"] = out_names
    _keep_quantized_linear(node)
    return node


def registered_keys():
  """The hls4ml registry keys this module handles
  (``"qkeras.qlayers.QDense"``, ...)."""
  return [f"{module}.{name}" for name, module in HANDLED_CLASSES.items()]


def register(override=False):
  """Adds our handlers to hls4ml's Keras-3 handler registry; returns the
  keys added.

  A key hls4ml already handles itself (a later hls4ml with QKeras-v3
  support) is left alone unless ``override=True``. Calling it again does
  nothing new.
  """
  try:
    # pylint: disable=g-import-not-at-top
    from hls4ml.converters.keras_v3_to_hls import v3_layer_handlers
  except ImportError as e:
    raise ImportError("qkeras.hls4ml_support needs hls4ml >= 1.3 "
                      f"(pip install hls4ml): {e}") from e
  added = []
  for name, module in HANDLED_CLASSES.items():
    key = f"{module}.{name}"
    current = v3_layer_handlers.get(key)
    if current is not None and (current is _installed.get(key) or
                                not override):
      continue  # ours already, or hls4ml's own
    handler = QKerasLayerHandler(name)
    v3_layer_handlers[key] = handler
    _installed[key] = handler
    added.append(key)
  return added


def unregister():
  """Removes what ``register()`` added (for tests)."""
  # pylint: disable=g-import-not-at-top
  from hls4ml.converters.keras_v3_to_hls import v3_layer_handlers
  for key, handler in list(_installed.items()):
    if v3_layer_handlers.get(key) is handler:
      del v3_layer_handlers[key]
    del _installed[key]


# Importing this module registers (the explicit way; idempotent, so the
# automatic registration of qkeras/_hls4ml_hook.py adds nothing after it).
register()
