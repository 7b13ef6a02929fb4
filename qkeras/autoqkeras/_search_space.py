# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras's search space: the hyper-model over a compiled float model.

``AutoQKHyperModel`` turns each layer the ``limit`` covers into one
hyper-parameter per quantizer (chosen from the ``quantization_config``
sections), optionally a width factor per layer or for the network
(``tune_filters``) and a learning rate; ``build`` makes the trial model with
``model_quantize``, costs it with the goal's ``ForgivingFactor`` and
compiles it with the ``trial`` and ``score`` metrics.  Reached through
``qkeras.autoqkeras.autoqkeras_internal``.
"""

import copy
import json
import re

import keras
import keras_tuner as kt
import numpy as np
from keras import ops
from keras_tuner import HyperModel

from qkeras._graph import output_layers
from qkeras._graph import parent_layers
from qkeras.autoqkeras._common import _check_choice
from qkeras.autoqkeras._common import _check_compiled
from qkeras.autoqkeras._common import _clone_optimizer
from qkeras.autoqkeras._common import _compile_arguments
from qkeras.autoqkeras._common import _learning_rate
from qkeras.autoqkeras._common import make_target
from qkeras.autoqkeras.quantization_config import default_quantization_config
from qkeras.autoqkeras.utils import activation_name
from qkeras.autoqkeras.utils import print_qmodel_summary
from qkeras._convert import model_quantize
from qkeras._io import quantized_model_from_json

REGISTERED_LAYERS = ["Dense", "Conv1D", "Conv2D", "DepthwiseConv2D",
                     "SimpleRNN", "LSTM", "GRU", "Bidirectional",
                     "Conv2DTranspose", "SeparableConv1D", "SeparableConv2D"]
Q_LAYERS = ["Q" + name for name in REGISTERED_LAYERS]
SEQUENCE_LAYERS = ["SimpleRNN", "LSTM", "GRU", "Bidirectional"]

TUNE_FILTERS = ("none", "layer", "block")
FILTER_FACTORS = [0.5, 0.75, 1.0, 1.5, 2.0]

# limit index of each quantizer field: [kernel, bias, (recurrent,) activation]
_KERNEL, _BIAS, _RECURRENT, _ACTIVATION = 0, 1, 2, -1
_SEPARABLE = ("SeparableConv1D", "SeparableConv2D")
_DEPTHWISE_KERNEL = ("DepthwiseConv2D",) + _SEPARABLE


# -- limits ------------------------------------------------------------------


def _is_class_key(key, classes):
  """A limit key naming a layer class (one AutoQKeras knows, Activation, or
  the class of a layer in the model, ``classes``) rather than a regex."""
  return (key == "default" or key in REGISTERED_LAYERS or
          key == "Activation" or key in classes)


def _layer_classes(model):
  return {type(layer).__name__ for layer in model.layers}


def _check_limit(limit, model):
  """Every limit key names a layer class of ``model`` or matches a layer
  name as a regex; values are lists or bit counts."""
  if limit is None:
    return
  if not isinstance(limit, dict):
    raise ValueError("AutoQKeras: argument 'limit' must be a dict "
                     "{class name or layer-name regex: [kernel, bias, "
                     f"activation] limits}}, got {limit!r}.")
  classes = _layer_classes(model)
  names = [layer.name for layer in model.layers]
  for key, value in limit.items():
    if key == "default":
      if not isinstance(value, (int, list)) or (
          isinstance(value, list) and not 3 <= len(value) <= 4):
        raise ValueError("AutoQKeras: limit['default'] must be a bit count "
                         "or a list of 3 ([kernel, bias, activation]) or 4 "
                         "([kernel, bias, recurrent, activation]) limits, "
                         f"got {value!r}.")
      continue
    if key in classes:
      continue
    try:
      pattern = re.compile(key)
    except re.error as e:
      raise ValueError(f"AutoQKeras: limit key {key!r} is neither a layer "
                       f"class of the model nor a valid regex: {e}.") from None
    if not any(pattern.match(name) for name in names):
      raise ValueError(
          f"AutoQKeras: limit key {key!r} names nothing in model "
          f"{model.name!r}: no layer has that class (classes: "
          f"{', '.join(sorted(classes))}) and no layer name matches it as a "
          "regex.")
    if not isinstance(value, (int, list)):
      raise ValueError(f"AutoQKeras: limit[{key!r}] must be a list of "
                       f"limits, got {value!r}.")


def _pad_limit(value, default, sequence):
  """The limit list of one layer: ``[kernel, bias, activation]`` (or with
  ``recurrent`` before the activation for sequence layers), the missing
  entries taken from ``default``."""
  if not isinstance(value, list):
    value = [value]
  if sequence:
    full = default if len(default) == 4 else default[:2] + default[:1] + \
        default[-1:]
    return value + full[len(value):]
  full = default if len(default) == 3 else default[:2] + default[-1:]
  if len(value) >= 3:
    return value
  return value + full[len(value):2] + full[-1:]


# -- trial metrics and weights -----------------------------------------------


def _score_metric(metrics, head_name):
  """The metric the score scales: first of ``metrics`` (a dict: of the
  ``head_name`` entry, or of the first one)."""
  if isinstance(metrics, dict):
    if head_name is None:
      head_name = next(iter(metrics))
    if head_name not in metrics:
      raise ValueError(f"AutoQKeras: head_name {head_name!r} is not a key of "
                       f"metrics (keys: {', '.join(metrics)}).")
    metrics = metrics[head_name]
  if isinstance(metrics, (list, tuple)):
    if not metrics:
      raise ValueError("AutoQKeras: argument 'metrics' is empty; give the "
                       "metric the score scales, e.g. ['acc'].")
    return metrics[0]
  return metrics


def _accuracy_function(y_true, y_pred):
  """binary / sparse categorical / categorical accuracy, as Keras 2's
  ``"accuracy"`` string chose from the shapes."""
  true_shape, pred_shape = y_true.shape, y_pred.shape
  if pred_shape[-1] == 1:
    return keras.metrics.binary_accuracy
  if len(true_shape) < len(pred_shape) or (
      true_shape[-1] == 1 and pred_shape[-1] != 1):
    return keras.metrics.sparse_categorical_accuracy
  return keras.metrics.categorical_accuracy


def adjusted_score(hyper_model, delta, metric_function=None):
  """The ``score`` metric: ``metric(y_true, y_pred) * (1 + delta)``.

  ``metric_function`` is a callable or a name: "accuracy"/"acc" picks
  binary, sparse categorical or categorical accuracy from the shapes, any
  other string ``keras.metrics.get`` of it.
  """
  del hyper_model
  factor = 1.0 + float(delta)

  def score(y_true, y_pred):
    fn = metric_function
    if fn is None or fn in ("accuracy", "acc"):
      fn = _accuracy_function(y_true, y_pred)
    elif isinstance(fn, str):
      fn = keras.metrics.get(fn)
    value = fn(y_true, y_pred)
    if isinstance(value, keras.metrics.Metric):  # a Metric class by name
      raise ValueError(f"AutoQKeras: score metric {metric_function!r} must "
                       "be a function of (y_true, y_pred).")
    return ops.cast(value, keras.config.floatx()) * factor

  return score


def trial_size_metric(trial_size):
  """The ``trial`` metric: the trial model's cost, a constant."""
  size = float(trial_size)

  def trial(y_true, y_pred):
    del y_true
    return ops.cast(ops.zeros_like(y_pred[..., 0]), "float32") + size

  return trial


def _extend_metrics(metrics, head_name, extra):
  if isinstance(metrics, dict):
    metrics = dict(metrics)
    head = head_name if head_name is not None else next(iter(metrics))
    entry = metrics.get(head) or []
    entry = list(entry) if isinstance(entry, (list, tuple)) else [entry]
    metrics[head] = entry + extra
    return metrics
  if metrics is None:
    return list(extra)
  if not isinstance(metrics, (list, tuple)):
    metrics = [metrics]
  return list(metrics) + extra


def _transfer_weights(source, target, names=None):
  """Copies weights layer by layer (by name) where every shape matches;
  ``names`` limits the layers.  Returns the names copied."""
  copied = []
  for layer in target.layers:
    if names is not None and layer.name not in names:
      continue
    try:
      old = source.get_layer(layer.name)
    except ValueError:
      continue
    old_w, new_w = old.get_weights(), layer.get_weights()
    if not old_w or len(old_w) != len(new_w):
      continue
    if all(a.shape == b.shape for a, b in zip(old_w, new_w)):
      layer.set_weights(old_w)
      copied.append(layer.name)
  return copied


def _output_layers(model):
  """Names of the layers whose width the outputs fix: the layers making
  the outputs and, through weightless layers, the last one with weights."""
  protected = set()
  for layer in output_layers(model):
    while True:
      protected.add(layer.name)
      parents = parent_layers(layer)
      if layer.weights or len(parents) != 1:
        break
      layer = parents[0]
  return protected


def _scale_width(config, factor):
  """Scales ``units``/``filters`` in a layer config; True if changed."""
  for key in ("filters", "units"):
    if key in config:
      config[key] = max(int(config[key] * factor), 1)
      return True
  if "layer" in config and isinstance(config["layer"], dict):  # Bidirectional
    changed = _scale_width(config["layer"]["config"], factor)
    if config.get("backward_layer"):
      _scale_width(config["backward_layer"]["config"], factor)
    return changed
  return False


def _iter_layer_configs(model_config):
  return model_config["config"]["layers"]


# -- hyper-model -------------------------------------------------------------


class AutoQKHyperModel(HyperModel):
  """The search space of AutoQKeras over a compiled float ``model``.

  Args:
    model: the compiled model to quantize (optimizer, loss, metrics reused).
    metrics: metrics whose first (of ``head_name`` for a dict) the score
      scales; strings "acc"/"accuracy" pick the accuracy from the shapes.
    custom_objects: extra classes for cloning.
    target: the ``ForgivingFactor`` computing cost and ``delta``.
    transfer_weights: start each trial from ``model``'s weights (where the
      shapes match).
    frozen_layers: names of layers whose weights are copied from ``model``
      (layers a scheduler has already quantized).
    activation_bits: bits of the activations ``model_quantize`` quantizes
      without a chosen quantizer.
    limit: ``{class name | layer-name regex | "default": limits}``; a limit
      is a list ``[kernel, bias, activation]`` (sequence layers
      ``[kernel, bias, recurrent, activation]``) of bit counts (candidates
      with at most that many bits) or lists of quantizer strings.  Layers
      matching one regex share one choice per field.  None: every layer
      class AutoQKeras knows, up to 8 bits.
    tune_filters: "none", "layer" (a width factor per layer) or "block" (one
      factor for the network) over ``[0.5, 0.75, 1, 1.5, 2]``.
    tune_filters_exceptions: regex of layer names whose width stays.
    layer_indexes: indexes in ``model.layers`` of the layers to quantize
      (None: all).
    learning_rate_optimizer: also search the learning rate.
    head_name: output whose metrics hold the score (multi-output models).
    quantization_config: ``{"kernel": {quantizer: bits}, "bias": ...,
      "activation": ..., "linear": ...}`` (default
      ``default_quantization_config``).
    extend_model_metrics: add the ``trial`` and ``score`` metrics.
  """

  def __init__(self, model, metrics, custom_objects=None, target=None,
               transfer_weights=False, frozen_layers=None, activation_bits=4,
               limit=None, tune_filters="none", tune_filters_exceptions=None,
               layer_indexes=None, learning_rate_optimizer=False,
               head_name=None, quantization_config=None,
               extend_model_metrics=True):
    super().__init__()
    _check_compiled(model)
    _check_choice("tune_filters", tune_filters, TUNE_FILTERS)
    _check_limit(limit, model)
    self.model = model
    self.metrics = metrics if metrics is not None else ["acc"]
    self.score_metric = _score_metric(self.metrics, head_name)
    self.custom_objects = custom_objects or {}
    self.target = target if target is not None else make_target(None)
    self.reference_size = self.target.get_reference(model)
    self.transfer_weights = transfer_weights
    self.frozen_layers = list(frozen_layers or [])
    self.activation_bits = activation_bits
    self.tune_filters = tune_filters
    self.tune_filters_exceptions = (
        re.compile(tune_filters_exceptions) if tune_filters_exceptions
        else None)
    self.layer_indexes = (None if layer_indexes is None
                          else set(layer_indexes))
    self.learning_rate_optimizer = learning_rate_optimizer
    self.head_name = head_name
    self.quantization_config = (quantization_config if quantization_config
                                else default_quantization_config)
    self.extend_model_metrics = extend_model_metrics
    self.learning_rate = _learning_rate(model.optimizer)
    if learning_rate_optimizer and self.learning_rate is None:
      raise ValueError("AutoQKeras: learning_rate_optimizer=True needs an "
                       "optimizer with a constant learning rate, not a "
                       "schedule.")
    self._protected = _output_layers(model)
    self._classes = _layer_classes(model)
    self.limit, self.default_limit = self._adjust_limit(limit)
    self.groups = {}
    self.trial_summaries = {}
    self.verbose = True
    print("Limit configuration:" + json.dumps(self.limit))
    self._choices(kt.HyperParameters())  # bad limits fail here, not in a trial

  # -- limits ----------------------------------------------------------------

  @staticmethod
  def _adjust_limit(limit):
    """``(limit, default)`` with the class entries padded to full lists.

    Without a limit every known layer class (and Activation layers) may take
    quantizers of up to 8 bits.
    """
    if limit is None:
      limit = {name: 8 for name in REGISTERED_LAYERS + ["Activation"]}
    limit = copy.deepcopy(limit)
    default = limit.get("default", 8)
    if not isinstance(default, list):
      default = [default] * 3
    for name in REGISTERED_LAYERS:
      if name in limit:
        limit[name] = _pad_limit(limit[name], default,
                                 name in SEQUENCE_LAYERS)
    if "Activation" in limit and not isinstance(limit["Activation"], list):
      limit["Activation"] = [limit["Activation"]]
    return limit, default

  def _limit_entry(self, layer_name, layer_class_name):
    """``(key, limit list, is_pattern)`` for a layer; key None: the limit
    does not cover it.  Regex keys win over the class name."""
    for key in self.limit:
      if _is_class_key(key, self._classes):
        continue
      if re.match(key, layer_name):
        return key, self.limit[key], True
    if layer_class_name in self.limit:
      return layer_class_name, self.limit[layer_class_name], False
    return None, None, False

  def _section(self, head, is_linear):
    """``(config section, limit index)`` of a quantizer head."""
    sections = self.quantization_config
    if is_linear:
      return "linear", _ACTIVATION
    for suffix, index in (("_recurrent_kernel", _RECURRENT),
                          ("_pointwise_kernel", _KERNEL),
                          ("_recurrent_activation", _ACTIVATION)):
      if head.endswith(suffix):
        name = suffix[1:]
        if name not in sections:
          name = name.split("_")[-1]
        return name, index
    if head.endswith("_kernel"):
      return "kernel", _KERNEL
    if head.endswith("_bias"):
      return "bias", _BIAS
    return "activation", _ACTIVATION

  def _get_quantizer(self, hp, head, layer_name, layer_class_name,
                     is_linear=False, sequence=False):
    """``(quantizer string, bits)`` chosen for ``head`` of a layer, or
    ``(None, -1)`` when the limit does not cover the layer."""
    key, value, is_pattern = self._limit_entry(layer_name, layer_class_name)
    if key is None:
      return None, -1
    section, index = self._section(head, is_linear)
    if section not in self.quantization_config:
      raise ValueError(f"AutoQKeras: quantization_config has no {section!r} "
                       f"section (needed by layer {layer_name!r}).")
    choices = self.quantization_config[section]
    if is_pattern:
      value = _pad_limit(value, self.default_limit, sequence)
      group = self.groups.setdefault(key, {})
      if (section, index) in group:
        return group[(section, index)]
      head = key + "_" + section
    allowed = value[index] if index < len(value) else value[-1]
    if isinstance(allowed, (list, tuple)):
      unknown = [q for q in allowed if q not in choices]
      if unknown:
        raise ValueError(
            f"AutoQKeras: limit[{key!r}] allows {unknown}, which are not in "
            f"quantization_config[{section!r}] (choices: "
            f"{', '.join(choices)}).")
      candidates = list(allowed)
    else:
      candidates = [q for q, bits in choices.items() if bits <= allowed]
    if not candidates:
      raise ValueError(
          f"AutoQKeras: no {section} quantizer of at most {allowed} bits for "
          f"layer {layer_name!r} (limit key {key!r}; choices: "
          f"{json.dumps(choices)}).")
    name = head + "_quantizer"
    if len(candidates) == 1:
      quantizer = hp.Fixed(name, candidates[0])
    else:
      quantizer = hp.Choice(name, candidates)
    result = (quantizer, choices[quantizer])
    if is_pattern:
      self.groups[key][(section, index)] = result
    return result

  # -- building trial models -------------------------------------------------

  def _selected(self, index):
    return self.layer_indexes is None or index in self.layer_indexes

  def _width_factor(self, hp, layer, network_filters):
    if self.tune_filters == "none" or layer.name in self._protected:
      return 1.0
    if (self.tune_filters_exceptions is not None and
        self.tune_filters_exceptions.search(layer.name)):
      return 1.0
    if self.tune_filters == "layer":
      return hp.Choice("network_filters_" + layer.name, FILTER_FACTORS,
                       default=1.0)
    return network_filters

  def _layer_quantizers(self, hp, layer):
    """``(model_quantize entry, bits summary)`` of a registered layer, or
    ``(None, None)`` when the limit does not cover it."""
    class_name = type(layer).__name__
    sequence = class_name in SEQUENCE_LAYERS
    head = layer.name
    kernel, kernel_bits = self._get_quantizer(
        hp, head + "_kernel", layer.name, class_name, sequence=sequence)
    if kernel is None:
      return None, None
    inner = layer.forward_layer if class_name == "Bidirectional" else layer
    entry = {}
    bits = {"kernel": kernel_bits}
    if class_name in _DEPTHWISE_KERNEL:
      entry["depthwise_quantizer"] = kernel
    else:
      entry["kernel_quantizer"] = kernel
    if class_name in _SEPARABLE:
      entry["pointwise_quantizer"], bits["pointwise"] = self._get_quantizer(
          hp, head + "_pointwise_kernel", layer.name, class_name)
    if sequence:
      entry["recurrent_quantizer"], bits["recurrent"] = self._get_quantizer(
          hp, head + "_recurrent_kernel", layer.name, class_name,
          sequence=True)
    if getattr(inner, "use_bias", False):
      entry["bias_quantizer"], bits["bias"] = self._get_quantizer(
          hp, head + "_bias", layer.name, class_name, sequence=sequence)
    activation = activation_name(getattr(inner, "activation", None))
    if activation not in ("linear", "softmax", None):
      entry["activation_quantizer"], bits["activation"] = (
          self._get_quantizer(hp, head + "_activation", layer.name,
                              class_name, sequence=sequence))
    if sequence and activation_name(
        getattr(inner, "recurrent_activation", None)) not in ("linear", None):
      q, b = self._get_quantizer(hp, head + "_recurrent_activation",
                                 layer.name, class_name, sequence=True)
      entry["recurrent_activation_quantizer"] = q
      bits["recurrent_activation"] = b
    return entry, bits

  def _choices(self, hp):
    """``(model_quantize config, per-layer bits, width factors, network
    factor)`` for the choices in ``hp`` (registering them)."""
    self.groups = {}
    q_dict, summary, widths = {}, {}, {}
    network_filters = 1.0
    if self.tune_filters == "block" and any(
        type(layer).__name__ in REGISTERED_LAYERS and self._selected(i) and
        layer.name not in self._protected
        for i, layer in enumerate(self.model.layers)):
      network_filters = hp.Choice("network_filters", FILTER_FACTORS,
                                  default=1.0)
    for i, layer in enumerate(self.model.layers):
      if not self._selected(i):
        continue
      class_name = type(layer).__name__
      if class_name in REGISTERED_LAYERS:
        entry, bits = self._layer_quantizers(hp, layer)
        if entry is None:
          continue
        q_dict[layer.name] = entry
        summary[layer.name] = bits
        factor = self._width_factor(hp, layer, network_filters)
        if factor != 1.0:
          widths[layer.name] = factor
      elif class_name == "Activation":
        activation = activation_name(layer.activation)
        if activation == "softmax":
          continue
        quantizer, bits = self._get_quantizer(
            hp, layer.name + "_activation", layer.name, class_name,
            is_linear=activation == "linear")
        if quantizer is not None:
          q_dict[layer.name] = quantizer
          summary[layer.name] = {"activation": bits}
      elif self._limit_entry(layer.name, class_name)[0] is not None:
        q_dict[layer.name] = {}  # e.g. "BatchNormalization": []
    return q_dict, summary, widths, network_filters

  def quantize_model(self, hp):
    """``(quantized model, per-layer bits)`` for the choices in ``hp``."""
    q_dict, summary, widths, network_filters = self._choices(hp)
    base = self.model
    if widths or (self.tune_filters == "block" and network_filters != 1.0):
      base = self._rescaled_model(widths, network_filters)
    q_model = model_quantize(base, q_dict, self.activation_bits,
                             custom_objects=self.custom_objects,
                             transfer_weights=False)
    if self.transfer_weights:
      _transfer_weights(self.model, q_model)
    if self.frozen_layers:
      _transfer_weights(self.model, q_model, set(self.frozen_layers))
    return q_model, summary

  def _rescaled_model(self, widths, network_filters):
    """A copy of the model with ``units``/``filters`` scaled per layer (and
    Reshape targets scaled by the network factor in block mode)."""
    config = json.loads(self.model.to_json())
    for layer_config in _iter_layer_configs(config):
      layer_config.pop("build_config", None)  # input shapes change
      name = layer_config["config"].get("name")
      if name in widths:
        _scale_width(layer_config["config"], widths[name])
      elif (self.tune_filters == "block" and
            layer_config["class_name"] == "Reshape"):
        shape = list(layer_config["config"]["target_shape"])
        shape[-1] = max(int(shape[-1] * network_filters), 1)
        layer_config["config"]["target_shape"] = shape
    return quantized_model_from_json(json.dumps(config), self.custom_objects)

  def build(self, hp):
    """The compiled trial model for the choices in ``hp``."""
    q_model, summary = self.quantize_model(hp)
    trial_size = self.target.get_trial(q_model)
    delta = self.target.delta()
    score = adjusted_score(self, delta, self.score_metric)
    total_factor = self.target.get_total_factor()
    learning_rate = self.learning_rate
    if self.learning_rate_optimizer:
      delta_lr = 1.0 + min(total_factor, 0.0)
      choices = [float(v) for v in
                 self.learning_rate * np.linspace(delta_lr, 1.1, 5)]
      learning_rate = hp.Choice("learning_rate", choices)
    compile_args = _compile_arguments(self.model)
    if self.extend_model_metrics:
      compile_args["metrics"] = _extend_metrics(
          compile_args["metrics"], self.head_name,
          [trial_size_metric(trial_size), score])
    q_model.compile(optimizer=_clone_optimizer(self.model.optimizer,
                                               learning_rate),
                    **compile_args)
    self.trial_summaries[_hp_key(hp)] = {
        "bits": summary, "trial_size": float(trial_size),
        "reference_size": float(self.reference_size),
        "delta": float(delta)}
    if self.verbose:
      self.target.print_stats()
      print_qmodel_summary(q_model)
    return q_model


def _hp_key(hp):
  return json.dumps(hp.values, sort_keys=True, default=str)

