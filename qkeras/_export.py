# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Quantized weights of a model, for hardware and for inspection.

These functions read models and never change them: QKeras 0.9's
``model_save_quantized_weights`` (and so ``get_model_sparsity`` and
``print_qstats``) overwrote the model's float weights with their quantized
values; here the quantized values are returned (and written to a file when
asked) while the model keeps its weights.
"""

import io
import logging
import os
import tempfile

import keras
import numpy as np

from qkeras import _atomic, _graph, _qmath
from qkeras import quantizers as qz
from qkeras.qconvolutional import QConv2D, QDepthwiseConv2D
from qkeras.qnormalization import QBatchNormalization

logger = logging.getLogger(__name__)

# A variable's name -> the quantizer arguments that may quantize it (the
# first one the layer has is used).
_VARIABLE_QUANTIZERS = {
    "kernel": ("kernel_quantizer", "depthwise_quantizer"),
    "depthwise_kernel": ("depthwise_quantizer",),
    "pointwise_kernel": ("pointwise_quantizer",),
    "recurrent_kernel": ("recurrent_quantizer",),
    "bias": ("bias_quantizer",),
    "weight": ("weight_quantizer",),
    "gamma": ("gamma_quantizer",),
    "beta": ("beta_quantizer",),
    "moving_mean": ("mean_quantizer",),
    "moving_variance": ("variance_quantizer",),
}

# QKeras's ``utils.REGISTERED_LAYERS`` (the layers quantized_model_debug
# reports).
REGISTERED_LAYERS = [
    "QActivation", "QAdaptiveActivation", "QDense", "QConv1D", "QConv2D",
    "QSeparableConv1D", "QSeparableConv2D", "QDepthwiseConv2D",
    "QConv2DTranspose", "QSimpleRNN", "QLSTM", "QGRU", "QBidirectional",
    "QBatchNormalization", "QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm",
    "QAveragePooling2D", "QGlobalAveragePooling2D"]

_SPARSITY_ALLOW_LIST = [
    "QDense", "Dense", "QConv1D", "Conv1D", "QConv2D", "Conv2D",
    "QDepthwiseConv2D", "DepthwiseConv2D", "QSeparableConv1D",
    "SeparableConv1D", "QSeparableConv2D", "SeparableConv2D", "QOctaveConv2D",
    "QSimpleRNN", "RNN", "QLSTM", "QGRU", "QConv2DTranspose",
    "Conv2DTranspose", "QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm"]


def _numpy(x):
  return np.asarray(keras.ops.convert_to_numpy(x))


def _active_quantizer(owner, argument):
  """``owner``'s quantizer for ``argument`` if it quantizes (as in call)."""
  if not getattr(owner, argument, None):
    return None
  return getattr(owner, argument + "_internal", None)


def _variable_quantizer(owner, variable_name):
  for argument in _VARIABLE_QUANTIZERS.get(variable_name, ()):
    if hasattr(owner, argument + "_internal"):
      return _active_quantizer(owner, argument)
  return None


def quantizable_layer(layer):
  """The layer whose quantizers apply to ``layer``'s weights: the layer
  itself if it has ``get_quantizers``, the wrapped layer of a Keras wrapper
  (``TimeDistributed(QDense)``), else None."""
  if hasattr(layer, "get_quantizers"):
    return layer
  inner = getattr(layer, "layer", None)
  if isinstance(layer, keras.layers.Wrapper) and hasattr(
      inner, "get_quantizers"):
    return inner
  return None


def weights_and_quantizers(layer):
  """``[(name, float_weight, quantizer_or_None), ...]`` of a Q-layer.

  Folded batch-norm layers give their folded kernel and bias (with the
  kernel and bias quantizers); recurrent layers (and both directions of
  ``QBidirectional``) their cell's kernel, recurrent kernel and bias; other
  layers every weight in ``get_weights()`` order, each with the quantizer
  its variable is quantized with in ``call`` (None for weights no quantizer
  touches, such as ``QAdaptiveActivation``'s statistics).
  """
  if hasattr(layer, "get_folded_weights"):
    kernel, bias = layer.get_folded_weights()
    return [("kernel", _numpy(kernel),
             _active_quantizer(layer, layer._kernel_quantizer_name)),  # pylint: disable=protected-access
            ("bias", _numpy(bias), _active_quantizer(layer, "bias_quantizer"))]
  if hasattr(layer, "forward_layer"):
    return (weights_and_quantizers(layer.forward_layer) +
            weights_and_quantizers(layer.backward_layer))
  owner = layer.cell if hasattr(layer, "cell") else layer
  return [(v.name, _numpy(v), _variable_quantizer(owner, v.name))
          for v in layer.weights]


def quantize_weight(quantizer, weight):
  """``quantizer(weight)`` as a NumPy array (``weight`` if no quantizer)."""
  if quantizer is None:
    return weight
  return _numpy(quantizer(keras.ops.convert_to_tensor(weight)))


def _is_po2(quantizer):
  """Whether ``quantizer`` gives powers of two (its ``format.po2``)."""
  return isinstance(quantizer, qz.BaseQuantizer) and quantizer.format.po2


def _hardware_format(quantizer, qweight):
  """``(hw_weight, sign, scale)`` of a quantized weight, as QKeras 0.9.

  * po2 quantizers: ``hw = round(log2|w|)`` and ``sign = sign(w)`` (0 -> +1);
  * ``quantized_bits(alpha="auto_po2")``: ``hw = w * m / m_i`` (the weight
    in steps of the unscaled ``quantized_bits(bits, integer)``, ``m_i / m``,
    with ``m = 2**(bits - keep_negative)``, ``m_i = 2**integer``) and the
    power-of-two step of the scaled grid ``s = scale * m_i / m``. As in
    QKeras, ``hw`` is not divided by the scale: it is the integer code times
    ``quantizer.scale`` (integer codes only where that scale is 1), so
    ``w == hw * m_i / m`` and ``w == (hw / quantizer.scale) * s``;
  * otherwise ``hw = w``.
  """
  if _is_po2(quantizer):
    sign = np.sign(qweight)
    sign = sign + (1.0 - np.abs(sign))
    with np.errstate(divide="ignore"):
      return np.round(np.log2(np.abs(qweight))), sign, None
  if (isinstance(quantizer, qz.quantized_bits) and
      isinstance(quantizer.alpha, str) and quantizer.alpha == "auto_po2"):
    scale = np.asarray(_numpy(quantizer.scale), np.float32)
    if not np.all(np.round(np.log2(scale)) == np.log2(scale)):
      raise ValueError(f"The auto_po2 scale {scale} is not a power of 2.")
    m = np.float32(2.0 ** (quantizer.bits - quantizer.keep_negative))
    m_i = np.float32(2.0 ** _qmath.to_numpy(quantizer.integer))
    hw = np.asarray(qweight, np.float32) * m / m_i
    return hw.astype(np.float32), None, (scale * m_i / m).astype(np.float32)
  return qweight, None, None


def _pooling_factors(layer):
  if isinstance(layer, keras.layers.GlobalAveragePooling2D):
    area = layer.compute_pooling_area(layer.input.shape)
  else:
    area = int(np.prod(layer.pool_size))
  factor = np.float32(1.0 / area)
  return {"q_mult_factor": quantize_weight(layer.average_quantizer_internal,
                                           factor),
          "mult_factor": factor, "pool_area": area}


def _quantized_layer_weights(model, verbose):
  """Per Q-layer of ``model`` (nested models included):
  ``{name: (layer, [quantized float weights], saved-weights entry)}``."""
  result = {}
  for layer in _graph.flat_layers(model):
    qlayer = quantizable_layer(layer)
    if qlayer is None:
      if layer.weights and verbose:
        logger.info("  %s has not been quantized", layer.name)
      continue
    hw_weights, signs, scales, quantized = [], [], [], []
    has_sign = has_scale = False
    for _, weight, quantizer in weights_and_quantizers(qlayer):
      qweight = quantize_weight(quantizer, weight)
      quantized.append(qweight)
      hw, sign, scale = _hardware_format(quantizer, qweight)
      hw_weights.append(hw)
      signs.append(sign if sign is not None else [])
      scales.append(scale if scale is not None else [])
      has_sign |= isinstance(quantizer, qz.quantized_po2)
      has_scale |= scale is not None
    entry = {"weights": hw_weights, "enable_bn_fusing": False}
    if has_sign:
      entry["signs"] = signs
    if has_scale:
      entry["scales"] = scales
    if hasattr(qlayer, "average_quantizer_internal") and (
        qlayer.average_quantizer_internal is not None):
      entry.update(_pooling_factors(qlayer))
    if hasattr(qlayer, "get_folded_weights") and verbose:
      logger.info("%s  conv and batchnorm weights cannot be seperately "
                  "quantized because they will be folded before "
                  "quantization.", layer.name)
    result[layer.name] = (layer, quantized, entry)
  return result


def find_bn_fusing_layer_pair(model, custom_objects=None):  # pylint: disable=unused-argument
  """``({conv_name: bn_name}, {bn_names})``: every ``QConv2D`` /
  ``QDepthwiseConv2D`` whose output goes only to a ``QBatchNormalization``,
  which hardware can fuse into it."""
  pairs = {}
  for nested in [model] + [l for l in model.layers
                           if isinstance(l, keras.Model)]:
    found = _graph.single_successor_pairs(
        nested, (QConv2D, QDepthwiseConv2D), QBatchNormalization)
    pairs.update({name: bn.name for name, bn in found.items()})
  return pairs, set(pairs.values())


def bn_inverse(bn_layer):
  """``(inv, beta, mean)`` of a ``QBatchNormalization`` as float32 NumPy
  arrays: the layer's own ``quantized_parameters()`` (``inv = gamma *
  rsqrt(variance + epsilon)``, quantized by its ``inverse_quantizer`` when
  set); beta is zeros without ``center``."""
  inv, beta, mean = bn_layer.quantized_parameters()
  mean = _numpy(mean).astype(np.float32)
  beta = np.zeros_like(mean) if beta is None else _numpy(beta).astype(
      np.float32)
  return _numpy(inv).astype(np.float32), beta, mean


def add_bn_fusing_weights(prev_layer, bn_layer, saved_weights):
  """Adds the batch norm ``bn_layer`` fused into ``prev_layer`` to
  ``saved_weights[prev_layer.name]``.

  With the batch norm's quantized parameters,
  ``bn_inv = gamma / sqrt(variance + epsilon)`` (quantized by its
  ``inverse_quantizer`` when set) and
  ``fused_bias = bn_inv * prev_bias + beta - bn_inv * mean``
  (``prev_bias``: the quantized bias of ``prev_layer``, 0 without bias).
  """
  inv, beta, mean = bn_inverse(bn_layer)
  zero = np.zeros_like(mean)
  prev_bias = zero
  if getattr(prev_layer, "use_bias", False):
    bias = [w for n, w, _ in weights_and_quantizers(prev_layer) if n == "bias"]
    prev_bias = quantize_weight(_active_quantizer(prev_layer,
                                                  "bias_quantizer"), bias[0])
  entry = saved_weights[prev_layer.name]
  entry["enable_bn_fusing"] = True
  entry["fused_bn_layer_name"] = bn_layer.name
  entry["bn_inv"] = inv
  entry["fused_bias"] = (inv * prev_bias + beta - inv * mean).astype(
      np.float32)


def _write_weights(model, quantized, filename):
  """Saves ``model``'s weights with the quantized values of ``quantized``
  (``{name: (layer, values, entry)}``) in their place; the model keeps its
  own weights. ``*.weights.h5`` is Keras 3's format, any other ``*.h5``
  Keras 2's (both load with ``model.load_weights``). The file is written to
  a temporary file in the same folder and renamed onto ``filename``, so a
  failure leaves an existing file intact (``qkeras._atomic``)."""
  filename = os.fspath(filename)
  if not filename.endswith(".h5"):
    raise ValueError(
        "model_save_quantized_weights: argument 'filename' must end with "
        f"'.weights.h5' (Keras 3) or '.h5' (Keras 2 layout), got "
        f"{filename!r}.")
  swapped = []
  try:
    for layer, values, _ in quantized.values():
      if hasattr(layer, "get_folded_weights"):
        continue  # folded before quantization (as QKeras)
      for variable, value in zip(quantizable_layer(layer).weights, values):
        swapped.append((variable, _numpy(variable)))
        variable.assign(value)
    # A temporary file renamed onto ``filename``: a failure midway (disk
    # full) leaves an existing file as it was.
    keras3 = filename.endswith(".weights.h5")
    with _atomic.replacing(filename,
                           ".weights.h5" if keras3 else ".h5") as temporary:
      if keras3:
        model.save_weights(temporary)
      else:
        import h5py  # pylint: disable=g-import-not-at-top
        from keras.src.legacy.saving import legacy_h5_format  # pylint: disable=g-import-not-at-top
        # Built in memory, written with Python's io: HDF5 crashes the
        # process (segfault at close) when the disk fills while it writes
        # a file itself; this way a full disk is an OSError.
        image = io.BytesIO()
        with h5py.File(image, "w") as f:
          legacy_h5_format.save_weights_to_hdf5_group(f, model)
        with open(temporary, "wb") as f:
          f.write(image.getbuffer())
  finally:
    for variable, value in reversed(swapped):
      variable.assign(value)


def model_save_quantized_weights(model, filename=None, custom_objects=None):  # pylint: disable=unused-argument
  """The quantized weights of every Q-layer, in hardware form.

  Returns ``{layer_name: {"weights": [...], "enable_bn_fusing": bool, ...}}``
  for every layer with quantizers (nested models included; ``TimeDistributed``
  and ``QBidirectional`` wrappers too): po2 weights as exponents
  ``round(log2|w|)`` (plus ``"signs"`` for ``quantized_po2``),
  ``quantized_bits(alpha="auto_po2")`` weights as integer codes (plus
  ``"scales"``, their power-of-two steps), others as quantized floats;
  pooling layers add ``"q_mult_factor"``, ``"mult_factor"``, ``"pool_area"``;
  a ``QConv2D``/``QDepthwiseConv2D`` followed only by a
  ``QBatchNormalization`` adds ``"fused_bn_layer_name"``, ``"bn_inv"`` and
  ``"fused_bias"`` (``enable_bn_fusing=True``).

  The model is not changed (QKeras overwrote its weights with the quantized
  ones). With ``filename`` (``*.weights.h5`` or ``*.h5``) the weights are
  saved with the quantized values in place of the float ones; load them with
  ``model.load_weights(filename)`` to get QKeras's quantized model.

  QKeras's progress lines (``... quantizing model``, ``<name> has not been
  quantized``, ``Fuse <conv> output with <bn> ...``) go to this module's
  logger at level INFO (``logging.basicConfig(level=logging.INFO)`` shows
  them).
  """
  logger.info("... quantizing model")
  quantized = _quantized_layer_weights(model, verbose=True)
  saved_weights = {name: entry for name, (_, _, entry) in quantized.items()}
  fusing, _ = find_bn_fusing_layer_pair(model)
  layers = {layer.name: layer for layer in _graph.flat_layers(model)}
  for conv_name, bn_name in fusing.items():
    logger.info("Fuse %s output with %s for hardware inference.", conv_name,
                bn_name)
    add_bn_fusing_weights(layers[conv_name], layers[bn_name], saved_weights)
  if filename:
    _write_weights(model, quantized, filename)
  return saved_weights


def quantized_weights_of(model):
  """``{layer_name: [quantized float weights]}`` of every Q-layer (folded
  layers: the quantized folded kernel and bias). Prints nothing."""
  return {name: values for name, (_, values, _) in
          _quantized_layer_weights(model, verbose=False).items()}


def get_model_sparsity(model, per_layer=False, allow_list=None):
  """The fraction of exactly-zero quantized weights.

  Over the layers of ``model`` with quantizers whose class is in
  ``allow_list`` (default: QKeras's list of dense, convolution and
  recurrent classes). Returns the total fraction, or with ``per_layer``
  ``(total, [(layer_name, fraction), ...])``. Logs what
  ``model_save_quantized_weights`` logs (QKeras printed it) and does not
  change the model.
  """
  allow_list = _SPARSITY_ALLOW_LIST if allow_list is None else allow_list
  logger.info("... quantizing model")
  quantized = _quantized_layer_weights(model, verbose=True)
  per_layer_result, all_values = [], []
  for name, (layer, values, _) in quantized.items():
    if type(layer).__name__ not in allow_list:
      continue
    flat = np.concatenate([np.ravel(v) for v in values]) if values else (
        np.zeros(0, np.float32))
    all_values.append(flat)
    fraction = float(np.mean(flat == 0)) if flat.size else 0.0
    per_layer_result.append((name, fraction))
  total_values = (np.concatenate(all_values) if all_values
                  else np.zeros(0, np.float32))
  total = float(np.mean(total_values == 0)) if total_values.size else 0.0
  return (total, per_layer_result) if per_layer else total


def _prunable_weights(layer):
  if hasattr(layer, "get_prunable_weights"):
    return layer.get_prunable_weights()
  if isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D,
                        keras.layers.Conv2D, keras.layers.Conv3D)):
    return [layer.kernel]
  if isinstance(layer, (keras.layers.SeparableConv1D,
                        keras.layers.SeparableConv2D)):
    return [layer.depthwise_kernel, layer.pointwise_kernel]
  if isinstance(layer, keras.layers.RNN):
    return [layer.cell.kernel, layer.cell.recurrent_kernel]
  return []


def print_model_sparsity(model):
  """Prints the fraction of zeros of each layer's prunable weights."""
  print(f"Model Sparsity Summary ({model.name})")
  print("--")
  for layer in _graph.flat_layers(model):
    weights = [w for w in _prunable_weights(layer) if w is not None]
    if weights and layer.built:
      print("{}: {}".format(layer.name, ", ".join(
          "({}, {})".format(w.name, str(
              1.0 - np.count_nonzero(_numpy(w)) / int(np.prod(w.shape))))
          for w in weights)))
  print("\n")


_SCALED_FIRST_WEIGHT = ("QConv1D", "QConv2D", "QConv2DTranspose", "QDense",
                        "QDepthwiseConv2D")


def quantized_model_debug(model, X_test, plot=False, plt_instance=None):  # pylint: disable=invalid-name
  """Prints the output range of every Q-layer and the range of its quantized
  weights (kernels of dense/conv layers divided by their scale, which is
  printed as ``a(min max)``), as QKeras does. With ``plot`` each layer's
  output and weights are histogrammed on ``plt_instance`` (matplotlib's
  pyplot)."""
  if plot and plt_instance is None:
    raise ValueError("quantized_model_debug: argument 'plt_instance' must be "
                     "given (e.g. matplotlib.pyplot) when plot=True.")
  layers = [l for l in _graph.flat_layers(model)
            if type(l).__name__ in REGISTERED_LAYERS]
  debug_model = keras.Model(model.inputs, [l.output for l in layers])
  outputs = debug_model.predict(X_test, verbose=0)
  if len(layers) == 1:
    outputs = [outputs]
  x = np.asarray(X_test)
  print("{:30} {: 8.4f} {: 8.4f}".format("input", np.min(x), np.max(x)))
  for layer, p in zip(layers, outputs):
    alpha = 1.0
    if type(layer).__name__ in ("QActivation", "QAdaptiveActivation"):
      alpha = qz.get_weight_scale(layer.quantizer, p)
    print(f"{layer.name:30} {np.min(p / alpha): 8.4f} {np.max(p / alpha): 8.4f}", end="")
    if np.any(np.asarray(alpha) != 1.0):
      print(f" a[{np.min(alpha): 8.4f} {np.max(alpha):8.4f}]")
    if plot:
      plt_instance.hist(np.ravel(p / alpha), bins=64)
      plt_instance.title(layer.name)
      plt_instance.show()
    alpha = None
    for i, (_, weight, quantizer) in enumerate(
        weights_and_quantizers(layer)):
      if quantizer is not None:
        weight = quantize_weight(quantizer, weight)
        if i == 0 and type(layer).__name__ in _SCALED_FIRST_WEIGHT:
          alpha = qz.get_weight_scale(quantizer, weight)
          weight = weight / alpha
      print(f" ({np.min(weight): 8.4f} {np.max(weight): 8.4f})",
            end="")
      if plot:
        plt_instance.hist(np.ravel(weight), bins=64)
        plt_instance.title(f"{layer.name} weight {i}")
        plt_instance.show()
    if isinstance(alpha, np.ndarray):
      print(f" a({np.min(alpha): 10.6f} {np.max(alpha): 10.6f})",
            end="")
    print()


def quantized_model_dump(model, x_test, output_dir=None, layers_to_dump=()):
  """Writes the outputs of ``layers_to_dump`` (all layers if empty) on
  ``x_test`` as raw float32 files ``<output_dir>/<layer>.bin``; without
  ``output_dir`` a new temporary directory is used. Returns the directory;
  the directory and each file written are logged at level INFO (QKeras
  printed them)."""
  if output_dir is None:
    output_dir = tempfile.mkdtemp(prefix="qkeras_dump_")
    logger.info("temp dir %s", output_dir)
  os.makedirs(output_dir, exist_ok=True)
  layers = [l for l in _graph.flat_layers(model)
            if not layers_to_dump or l.name in layers_to_dump]
  missing = set(layers_to_dump) - {l.name for l in layers}
  if missing:
    raise ValueError("quantized_model_dump: argument 'layers_to_dump' names "
                     f"layers the model does not have: {sorted(missing)}.")
  outputs = keras.Model(model.inputs, [l.output for l in layers]).predict(
      x_test, verbose=0)
  if len(layers) == 1:
    outputs = [outputs]
  for layer, value in zip(layers, outputs):
    path = os.path.join(output_dir, layer.name + ".bin")
    logger.info("writing the layer output tensor to %s", path)
    np.asarray(value, np.float32).tofile(path)
  return output_dir
