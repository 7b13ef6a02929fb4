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
and ``.quantizer`` stay what QKeras users read). On top of hls4ml's parser:

* weights quantized with a power-of-two scale (``alpha="auto_po2"``, QKeras's
  default for kernels) are handed over as the layer's exact quantized
  weights with an ``ap_fixed`` type that holds them (``exact_fixed_type``),
  never through hls4ml's ``ApplyAlpha``;
* folded batch-norm layers are handed over as ``unfold_model``'s plain layer;
* settings hls4ml computes differently from Keras are refused at conversion
  (``STRICT``), approximations warn (``Hls4mlInexactWarning``), and Q-layers
  without an hls4ml form (``REFUSED_CLASSES``) say what to use instead.

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

__all__ = ["register", "unregister", "registered_keys", "HANDLED_CLASSES",
           "FOLDED_CLASSES", "REFUSED_CLASSES", "STRICT", "Hls4mlInexactWarning",
           "exact_fixed_type"]

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

# Folded batch-norm layers: handed to hls4ml as the plain Q-layer that
# ``qkeras.utils.unfold_model`` makes of them (same outputs, bit for bit).
FOLDED_CLASSES = {
    "QConv2DBatchnorm": "qkeras.qconv2d_batchnorm",
    "QDepthwiseConv2DBatchnorm": "qkeras.qdepthwiseconv2d_batchnorm",
    "QDenseBatchnorm": "qkeras.qdense_batchnorm",
}

# Q-layers with no hls4ml form: refused at conversion with the alternative
# (instead of hls4ml's "Layer ... not found in registry").
REFUSED_CLASSES = {
    "QAveragePooling2D": (
        "qkeras.qpooling", "use keras.layers.AveragePooling2D followed by a "
        "QActivation (docs/hls4ml.md, recipe 6)"),
    "QGlobalAveragePooling2D": (
        "qkeras.qpooling", "use keras.layers.GlobalAveragePooling2D followed "
        "by a QActivation"),
    "QConv2DTranspose": (
        "qkeras.qconvolutional", "hls4ml 1.3 has no transposed Q-convolution; "
        "use QConv2D on an upsampled input (keras.layers.UpSampling2D)"),
    "QDepthwiseConv2DTranspose": (
        "qkeras.qdepthwise_conv2d_transpose", "hls4ml has no transposed "
        "depthwise convolution"),
    "QSeparableConv2DTranspose": (
        "qkeras.qseparable_conv2d_transpose", "hls4ml has no transposed "
        "separable convolution"),
    "QBidirectional": (
        "qkeras.qrecurrent", "hls4ml 1.3 has no bidirectional Q-recurrent "
        "layer"),
    "QAdaptiveActivation": (
        "qkeras.qlayers", "after training, replace it by QActivation with "
        "the quantizer it converged to"),
    "QScaleShift": (
        "qkeras.qmac", "fold the scale and shift into the neighbouring "
        "QDense/QConv weights"),
}

STRICT = True
"""True: layers and settings that hls4ml 1.3 computes differently from
Keras (wrong numbers, not rounding) are refused at conversion with a
``ValueError`` that names the layer, the setting and what to use instead.
False: they convert, with an ``Hls4mlInexactWarning`` (for studying
hls4ml's behaviour)."""


class Hls4mlInexactWarning(UserWarning):
  """A layer hls4ml computes approximately (lookup-table tanh/sigmoid, a
  batch-norm scale rounded to its type), or, with ``STRICT = False``,
  differently from Keras."""


def _inexact(message, wrong):
  """Refuses ``wrong`` numbers (``STRICT``); warns about approximations."""
  if wrong and STRICT:
    raise ValueError(message)
  # pylint: disable=g-import-not-at-top
  import warnings
  warnings.warn(message, Hls4mlInexactWarning, stacklevel=3)


_RECURRENT = ("QSimpleRNN", "QLSTM", "QGRU")
_LINEAR = (None, "linear")

_installed = {}  # registry key -> our handler (what register() added)


class _LayerReader:
  """hls4ml's weight reader for one layer: the weight named exactly
  ``var_name`` (Keras 3 weight names are bare: ``kernel``, ``bias``, ...),
  else the first one whose name contains it (hls4ml's own rule).

  ``replaced`` maps a weight name to the array handed instead of the
  weight (the exact quantized weights of ``_exact_weights``).
  """

  def __init__(self, layer, replaced=None):
    self.layer = layer
    self.replaced = replaced or {}

  def get_weights_data(self, layer_name, var_name):
    if layer_name != self.layer.name:
      raise ValueError(f"hls4ml asked for weights of {layer_name!r} while "
                       f"converting {self.layer.name!r}")
    if var_name in self.replaced:
      return self.replaced[var_name]
    weights = self.layer.weights
    for w in weights:
      if w.name == var_name:
        return np.asarray(w.numpy())
    for w in weights:
      if var_name in w.name:
        return np.asarray(w.numpy())
    return None


# hls4ml node attribute -> (our quantizer argument, the weight it quantizes).
_WEIGHT_QUANTIZERS = {
    "weight_quantizer": ("kernel_quantizer", "kernel"),
    "depthwise_quantizer": ("depthwise_quantizer", "depthwise_kernel"),
    "pointwise_quantizer": ("pointwise_quantizer", "pointwise_kernel"),
    "recurrent_weight_quantizer": ("recurrent_quantizer", "recurrent_kernel"),
    "bias_quantizer": ("bias_quantizer", "bias"),
}

# Weight quantizers whose outputs are fixed-point numbers when their scale is
# a power of two (or they have none): handed to hls4ml as exact values.
_EXACT_CLASSES = ("quantized_bits", "quantized_linear", "binary",
                  "stochastic_binary", "ternary", "stochastic_ternary",
                  "quantized_po2", "quantized_relu_po2", "quantized_relu")

# hls4ml cannot hold a wider weight type sensibly; no QKeras weight quantizer
# with a power-of-two scale comes near it.
_MAX_WIDTH = 64


def _hls4ml_handles_itself(config):
  """True when hls4ml 1.3's own QKeras quantizer wrapper types this weight
  quantizer exactly: ``quantized_bits`` with ``alpha`` 1 (or None) and
  ``keep_negative`` (hls4ml types it ``fixed<bits, integer+1>``, signed),
  and ``binary``/``ternary`` with ``alpha`` 1 (or None) on -1/+1 levels."""
  name, args = config["class_name"], config.get("config", {})
  if not _is_one(args.get("alpha")):
    return False
  if name == "quantized_bits":
    return bool(args.get("keep_negative", True))
  if name in ("binary", "ternary"):
    return not args.get("use_01", False)
  return False


def _is_one(alpha):
  return alpha is None or (not isinstance(alpha, (str, list, tuple, dict))
                           and np.ndim(alpha) == 0 and float(alpha) == 1.0)


def _is_power_of_two(values):
  mantissa, _ = np.frexp(np.asarray(values, np.float64))
  return bool(np.all(mantissa == 0.5))


def exact_fixed_type(values):
  """``(width, integer)`` of the narrowest signed ``ap_fixed<width,
  integer>`` that holds every value exactly (``integer`` >= 1).

  Every float is ``k * 2**-f`` for integers ``k`` and ``f``: ``f`` is the
  smallest count of fractional bits that makes every ``value * 2**f`` an
  integer, and ``width`` holds the largest such ``|k|`` plus the sign.
  """
  values = np.asarray(values, np.float64).ravel()
  if not np.all(np.isfinite(values)):
    raise ValueError("values that are not finite have no fixed-point type")
  fractional = 0
  while not np.all(np.floor(values * 2.0**fractional) ==
                   values * 2.0**fractional):
    fractional += 1  # ends: a float32 has at most 149 fractional bits
  scaled = values * 2.0**fractional  # integers, exactly
  high, low = float(np.max(scaled, initial=0)), float(np.min(scaled,
                                                             initial=0))
  width = 2
  while high > 2.0**(width - 1) - 1 or low < -2.0**(width - 1):
    width += 1
  integer = width - fractional
  if integer < 1:
    width, integer = fractional + 1, 1
  return width, integer


def _exact_weights(layer, config):
  """``{weight name: (exact quantized weights, (width, integer))}`` for
  the weight quantizers hls4ml 1.3 would not hand off exactly.

  hls4ml would insert its ``ApplyAlpha`` node for a string or per-channel
  ``alpha`` (``auto_po2``, QKeras's default for kernels) and type power-of-two
  quantizers as exponents; both crash ``compile()`` or compute other numbers.
  A weight quantized with a power-of-two scale is exactly a fixed-point
  number (its integer level times a power of two), so the layer's own
  quantized weights, as ``call`` computes them in inference, are handed to
  hls4ml with a fixed-point type that holds each of them exactly. Raises a
  ``ValueError`` naming the layer and the setting for anything else.
  """
  # pylint: disable=g-import-not-at-top
  from keras import ops
  owner = getattr(layer, "cell", layer)  # recurrent layers: their cell
  exact = {}
  for arg, weight_name in _WEIGHT_QUANTIZERS.values():
    quantizer_config = config.get(arg)
    if not isinstance(quantizer_config, dict) or not getattr(owner, arg,
                                                             None):
      continue
    if _hls4ml_handles_itself(quantizer_config):
      continue
    name = quantizer_config["class_name"]
    where = f"{layer.name}: {arg}={_short(quantizer_config)}"
    if name not in _EXACT_CLASSES:
      raise ValueError(
          f"{where} has no exact fixed-point form in hls4ml; use "
          "quantized_bits (alpha=1 or 'auto_po2'), binary, ternary or "
          "quantized_po2 for weights.")
    weight = next((w for w in owner.weights if w.name == weight_name), None)
    if weight is None:
      continue
    quantizer = getattr(owner, arg + "_internal")
    values = np.asarray(ops.convert_to_numpy(
        owner._quantize(arg, weight.value, training=False)), np.float32)  # pylint: disable=protected-access
    scale = getattr(quantizer, "scale", 1.0)
    if not _is_one(quantizer_config.get("config", {}).get("alpha")) and (
        not _is_power_of_two(ops.convert_to_numpy(scale))):
      raise ValueError(
          f"{where}: its scale {np.ravel(ops.convert_to_numpy(scale))[:4]}"
          "... is not a power of two, so its weights are not fixed-point "
          "numbers and hls4ml cannot compute them exactly; quantize them "
          "with alpha='auto_po2' or alpha=1.")
    width, integer = exact_fixed_type(values)
    if width > _MAX_WIDTH:
      raise ValueError(
          f"{where}: holding its weights exactly needs ap_fixed<{width},"
          f"{integer}> (more than {_MAX_WIDTH} bits); use fewer bits or a "
          "scale closer to 1.")
    exact[weight_name] = (values, (width, integer))
  return exact


def _short(quantizer_config):
  args = ", ".join(f"{k}={v!r}" for k, v in
                   sorted(quantizer_config.get("config", {}).items())
                   if k in ("bits", "integer", "alpha", "keep_negative"))
  return f"{quantizer_config['class_name']}({args})"


def _exact_quantizer(width, integer):
  """hls4ml's fixed-point quantizer for an exact weight type: it leaves
  values of that type unchanged, and (having no ``alpha``) hls4ml inserts no
  ``ApplyAlpha`` for it."""
  # pylint: disable=g-import-not-at-top
  from hls4ml.model.quantizers import QuantNodeQuantizer
  from hls4ml.model.types import FixedPrecisionType
  return QuantNodeQuantizer(FixedPrecisionType(width, integer, signed=True))


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


_SUPPORTED_ACTIVATIONS = ("quantized_bits (alpha=1), quantized_relu, "
                          "quantized_tanh, quantized_sigmoid, binary or "
                          "ternary")


def _check_activation(layer_name, arg, activation):
  """Refuses an activation hls4ml computes differently from Keras (or has
  no form for), naming the layer, the setting and the alternative; warns
  about the ones it approximates (lookup tables)."""
  if activation in (None, "linear", "relu"):
    return
  where = f"{layer_name}: {arg}="
  if _is_keras_activation(activation):
    _inexact(f"{where}{_activation_name(activation)!r}: hls4ml computes it "
             "with a lookup table, close to Keras but not bit for bit; use "
             "quantized_tanh / quantized_sigmoid / quantized_relu for an "
             "exact hand-off.", wrong=False)
    return
  # pylint: disable=g-import-not-at-top
  from qkeras.quantizers import get_quantizer
  quantizer = get_quantizer(activation)
  if not hasattr(quantizer, "get_config"):  # a QKeras function
    name = getattr(quantizer, "__name__", repr(quantizer))
    if "binary" not in name and "ternary" not in name:
      raise ValueError(f"{where}{name} has no hls4ml form; use "
                       f"{_SUPPORTED_ACTIVATIONS}.")
    return
  name, config = type(quantizer).__name__, quantizer.get_config()
  where += str(quantizer)
  if name == "quantized_bits":
    if not _is_one(config.get("alpha")):
      _inexact(f"{where}: hls4ml computes a quantized_bits activation as "
               "its fixed-point type, without the scale alpha; use "
               "alpha=1.", wrong=True)
    elif not config.get("keep_negative", True):
      _inexact(f"{where}: hls4ml types every quantized_bits activation as "
               "signed, so negative values are not clipped to 0; use "
               f"quantized_relu({config['bits']}, {config['integer']}) for "
               "unsigned outputs.", wrong=True)
    elif config.get("symmetric"):
      _inexact(f"{where}: hls4ml saturates at -2**integer, not at the "
               "symmetric limit (one LSB off there); use symmetric=0.",
               wrong=True)
  elif name == "quantized_relu":
    if config.get("negative_slope"):
      _inexact(f"{where}: hls4ml's leaky relu does not round the negative "
               "side as Keras does (several LSBs off); use "
               "negative_slope=0.", wrong=True)
  elif name in ("quantized_tanh", "quantized_sigmoid"):
    if config.get("use_real_tanh") or config.get("use_real_sigmoid"):
      _inexact(f"{where}: hls4ml computes the real tanh/sigmoid with a "
               "lookup table, close to Keras but not bit for bit; use the "
               "default (hard) form for an exact hand-off.", wrong=False)
  elif name not in ("binary", "ternary"):
    raise ValueError(f"{where} has no hls4ml form; use "
                     f"{_SUPPORTED_ACTIVATIONS}.")


def _check_layer(class_name, layer, config):
  """The layer-level checks: activations, recurrent layers hls4ml 1.3
  computes wrongly, batch-norm scales that do not fit their type."""
  if class_name in ("QSimpleRNN", "QGRU"):
    _inexact(f"{layer.name}: hls4ml 1.3 computes {class_name} differently "
             "from Keras (QGRU off by up to 0.84, QSimpleRNN outputs 0 in "
             "our checks); there is no exact hand-off for it.", wrong=True)
    return
  if class_name in _RECURRENT:
    for arg in ("activation", "recurrent_activation"):
      activation = config.get(arg)
      if activation is not None and not _is_keras_activation(activation):
        raise ValueError(
            f"{layer.name}: {arg}={_describe(activation)}: hls4ml's "
            "recurrent layers take only float activations ('tanh', "
            "'sigmoid'), which it approximates with lookup tables.")
    _inexact(f"{layer.name}: hls4ml computes {class_name}'s tanh and "
             "sigmoid with lookup tables: close to Keras, not bit for bit.",
             wrong=False)
    return
  for arg in ("activation",):
    if arg in config:
      _check_activation(layer.name, arg, config[arg])
  if class_name == "QBatchNormalization":
    for label, values in zip(("scale", "offset"),
                             _batchnorm_scale_offset(layer)):
      width, integer = exact_fixed_type(values)
      if width - integer > 10 or integer > 6:
        _inexact(f"{layer.name}: its {label} is not on hls4ml's default "
                 "batch-norm type fixed<16,6>, so hls4ml rounds it; use "
                 "inverse_quantizer= with beta_quantizer/mean_quantizer "
                 "(docs/hls4ml.md, recipe 7) for an exact hand-off.",
                 wrong=False)
        break


def _describe(activation):
  if isinstance(activation, dict):
    return activation.get("class_name")
  return str(activation)


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
    if self.class_name in REFUSED_CLASSES:
      raise ValueError(f"{layer.name}: {self.class_name} has no hls4ml "
                       f"form; {REFUSED_CLASSES[self.class_name][1]}.")
    if self.class_name in FOLDED_CLASSES:
      # pylint: disable=g-import-not-at-top
      from qkeras._convert import unfolded_layer
      plain = unfolded_layer(layer, in_tensors[0].shape)
      return QKerasLayerHandler(type(plain).__name__)(plain, in_tensors,
                                                      out_tensors)
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
    _check_layer(self.class_name, layer, config)
    if self.class_name == "QActivation":
      return (self._qactivation(layer_handlers, config, in_names, out_names,
                                in_shapes, reader),)
    exact = _exact_weights(layer, config)
    reader.replaced = {name: values for name, (values, _) in exact.items()}
    for arg, weight_name in _WEIGHT_QUANTIZERS.values():
      if weight_name in exact:
        config[arg] = None  # typed below; hls4ml must not see its alpha
    node, out_shape = layer_handlers[self.class_name](
        {"class_name": self.class_name, "config": config}, in_names,
        in_shapes, reader)
    for attr, (_, weight_name) in _WEIGHT_QUANTIZERS.items():
      if weight_name in exact and attr in node:
        node[attr] = _exact_quantizer(*exact[weight_name][1])
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
  return [f"{module}.{name}" for name, module in _all_classes().items()]


def _all_classes():
  return {**HANDLED_CLASSES, **FOLDED_CLASSES,
          **{name: module for name, (module, _) in REFUSED_CLASSES.items()}}


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
  for name, module in _all_classes().items():
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
