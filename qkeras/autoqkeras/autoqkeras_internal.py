# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras: per-layer quantization search on keras-tuner.

``AutoQKHyperModel`` turns a compiled float model into a keras-tuner
search space: every layer the ``limit`` covers gets one hyper-parameter per
quantizer (kernel, bias, activation, ...), chosen from the
``quantization_config`` sections.  A trial model is built with
``model_quantize`` and compiled with two extra metrics::

  trial = cost of the trial model (bits or energy, from the goal)
  score = metric * (1 + delta)          (see ``ForgivingFactor.delta``)

``AutoQKeras`` runs a keras-tuner tuner (random, bayesian, hyperband or a
custom one) maximising ``val_score``; ``AutoQKerasScheduler`` runs one
``AutoQKeras`` per block of layers.

Search state lives in keras-tuner's project directory, so an interrupted
search restarted with ``overwrite=False`` continues, and keras-tuner's
distributed mode (``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP``,
``KERASTUNER_ORACLE_PORT``) splits the trials between processes.
"""

import copy
import json
import os
import re
import warnings

import keras
import keras_tuner as kt
import numpy as np
from keras import ops
from keras_tuner import BayesianOptimization
from keras_tuner import HyperModel
from keras_tuner import Hyperband
from keras_tuner import RandomSearch

from qkeras.autoqkeras.forgiving_metrics import ForgivingFactor
from qkeras.autoqkeras.forgiving_metrics import forgiving_factor
from qkeras.autoqkeras.quantization_config import default_quantization_config
from qkeras.autoqkeras.utils import activation_name
from qkeras.autoqkeras.utils import print_qmodel_summary
from qkeras.utils import model_quantize
from qkeras.utils import quantized_model_from_json

REGISTERED_LAYERS = ["Dense", "Conv1D", "Conv2D", "DepthwiseConv2D",
                     "SimpleRNN", "LSTM", "GRU", "Bidirectional",
                     "Conv2DTranspose", "SeparableConv1D", "SeparableConv2D"]
Q_LAYERS = ["Q" + name for name in REGISTERED_LAYERS]
SEQUENCE_LAYERS = ["SimpleRNN", "LSTM", "GRU", "Bidirectional"]

MODES = ("random", "bayesian", "hyperband")
TUNE_FILTERS = ("none", "layer", "block")
FILTER_FACTORS = [0.5, 0.75, 1.0, 1.5, 2.0]
DEFAULT_GOAL = {
    "type": "bits",
    "params": {"delta_p": 8.0, "delta_n": 8.0, "rate": 2.0, "stress": 1.0,
               "input_bits": 8, "output_bits": 8, "ref_bits": 8,
               "config": {"default": ["parameters", "activations"]}},
}
_GOAL_PARAMS = {"bits": ("delta_p", "delta_n", "rate"),
                "energy": ("delta_p", "delta_n", "rate")}

# limit index of each quantizer field: [kernel, bias, (recurrent,) activation]
_KERNEL, _BIAS, _RECURRENT, _ACTIVATION = 0, 1, 2, -1
_SEPARABLE = ("SeparableConv1D", "SeparableConv2D")
_DEPTHWISE_KERNEL = ("DepthwiseConv2D",) + _SEPARABLE


# -- argument checks ---------------------------------------------------------


def make_target(goal):
  """The ``ForgivingFactor`` a ``goal`` describes.

  ``goal`` is a ``ForgivingFactor``, None (the default bits goal) or
  ``{"type": "bits" | "energy", "params": {...}}``.
  """
  if goal is None:
    goal = copy.deepcopy(DEFAULT_GOAL)
  if isinstance(goal, ForgivingFactor):
    return goal
  if not isinstance(goal, dict) or "type" not in goal:
    raise ValueError(
        "AutoQKeras: argument 'goal' must be a ForgivingFactor or a dict "
        "{'type': 'bits' | 'energy', 'params': {...}}, got "
        f"{goal!r}.")
  kind = goal["type"]
  if kind not in forgiving_factor:
    raise ValueError(f"AutoQKeras: goal type {kind!r} is unknown; allowed: "
                     f"{', '.join(sorted(forgiving_factor))}.")
  params = goal.get("params")
  if not isinstance(params, dict):
    raise ValueError(f"AutoQKeras: goal {kind!r} needs a 'params' dict with "
                     f"{', '.join(_GOAL_PARAMS[kind])}, got {params!r}.")
  missing = [p for p in _GOAL_PARAMS[kind] if p not in params]
  if missing:
    raise ValueError(f"AutoQKeras: goal {kind!r} params miss "
                     f"{', '.join(missing)} (required: "
                     f"{', '.join(_GOAL_PARAMS[kind])}).")
  try:
    return forgiving_factor[kind](**params)
  except TypeError as e:
    raise ValueError(f"AutoQKeras: goal {kind!r} params {sorted(params)} "
                     f"are not accepted: {e}") from None


def _check_choice(argument, value, allowed):
  if value not in allowed:
    raise ValueError(f"AutoQKeras: argument {argument!r} must be one of "
                     f"{', '.join(map(repr, allowed))}, got {value!r}.")


def _check_compiled(model):
  if not isinstance(model, keras.Model):
    raise ValueError("AutoQKeras: argument 'model' must be a Keras model, "
                     f"got {type(model).__name__}.")
  if not getattr(model, "compiled", False) or model.optimizer is None:
    raise ValueError(
        f"AutoQKeras: model {model.name!r} is not compiled; call "
        "model.compile(optimizer, loss, metrics) first (its optimizer and "
        "loss train every trial).")


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


# -- compile helpers ---------------------------------------------------------


def _learning_rate(optimizer):
  """The optimizer's learning rate as a float (None for schedules)."""
  lr = optimizer.learning_rate
  if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
    return None
  return float(ops.convert_to_numpy(lr))


def _clone_optimizer(optimizer, learning_rate=None):
  """A fresh optimizer like ``optimizer``: a Keras 3 optimizer is bound to
  the variables of the model it first trained, so each trial gets its own."""
  config = optimizer.get_config()
  if learning_rate is not None:
    config["learning_rate"] = float(learning_rate)
  return optimizer.__class__.from_config(config)


def _fresh_metric(metric):
  if isinstance(metric, keras.metrics.Metric):
    return metric.__class__.from_config(metric.get_config())
  return metric


def _copy_metrics(metrics):
  """A copy of a compile ``metrics`` argument with fresh Metric objects."""
  if isinstance(metrics, dict):
    return {k: _copy_metrics(v) for k, v in metrics.items()}
  if isinstance(metrics, (list, tuple)):
    return [_copy_metrics(m) for m in metrics]
  return _fresh_metric(metrics)


def _compile_arguments(model):
  """The arguments ``model.compile`` was called with."""
  config = getattr(model, "_compile_config", None)
  config = dict(getattr(config, "config", None) or {})
  config.pop("optimizer", None)
  config.setdefault("loss", model.loss)
  config["metrics"] = _copy_metrics(config.get("metrics"))
  config["weighted_metrics"] = _copy_metrics(config.get("weighted_metrics"))
  return config


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
  for history in [t._keras_history for t in model.outputs]:  # pylint: disable=protected-access
    layer = history[0]
    while True:
      protected.add(layer.name)
      if layer.weights or not layer._inbound_nodes:  # pylint: disable=protected-access
        break
      parents = layer._inbound_nodes[0].parent_nodes  # pylint: disable=protected-access
      if len(parents) != 1:
        break
      layer = parents[0].operation
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


# -- progress ----------------------------------------------------------------


_EXTRA_BITS = (("pointwise", "pw"), ("recurrent", "rec"),
               ("recurrent_activation", "rec_act"))


def _bits_text(bits):
  """"c1 4/8/4, s 4/8/- pw=2": kernel/bias/activation bits per layer, plus
  pointwise / recurrent kernels and recurrent activations."""
  parts = []
  for name, fields in bits.items():
    text = name + " " + "/".join(str(fields.get(f, "-"))
                                 for f in ("kernel", "bias", "activation"))
    text += "".join(f" {short}={fields[f]}" for f, short in _EXTRA_BITS
                    if f in fields)
    parts.append(text)
  return ", ".join(parts)


def _best(trial, name):
  try:
    value = trial.metrics.get_best_value(name)
  except (KeyError, ValueError):
    return None
  return None if value is None else float(value)


def _write_json_atomically(path, state):
  """Writes ``state`` as JSON to a temporary file, then renames it onto
  ``path``: a process killed mid-write leaves the old file, never a
  truncated one (keras-tuner writes in place, and a truncated oracle.json
  makes the project impossible to resume)."""
  tmp = f"{path}.{os.getpid()}.tmp"
  with open(tmp, "w") as f:
    f.write(json.dumps(state))
  os.replace(tmp, path)


def _atomic_oracle_saves(oracle):
  """Makes ``oracle`` (a local keras-tuner Oracle) save itself and its
  trials atomically; remote (``gs://``) projects keep keras-tuner's writer."""
  if not isinstance(oracle, kt.Oracle) or "://" in str(oracle._project_dir):  # pylint: disable=protected-access
    return

  def save():
    _write_json_atomically(oracle._get_oracle_fname(), oracle.get_state())  # pylint: disable=protected-access

  def save_trial(trial):
    path = os.path.join(oracle._get_trial_dir(trial.trial_id), "trial.json")  # pylint: disable=protected-access
    _write_json_atomically(path, trial.get_state())

  oracle.save = save
  oracle._save_trial = save_trial  # pylint: disable=protected-access


def _requeue_interrupted_trials(oracle):
  """Repairs the retry queue of a search reloaded after a kill.

  keras-tuner saves its oracle file (which lists the ongoing trials, retried
  on reload) at the end of a trial *before* it drops that trial from the
  ongoing ones, and writes a new trial's file (status RUNNING) *before* the
  oracle file. A kill between those writes reloads (a) a finished trial as
  ongoing, which would run again, and (b) a RUNNING trial that is neither
  ongoing nor queued, which would never run. Finished trials (COMPLETED,
  FAILED, as their own files say) leave the retry queue; such orphaned
  RUNNING trials join it.
  """
  if not isinstance(oracle, kt.Oracle):  # a worker's client: the chief's job
    return
  status = kt.engine.trial.TrialStatus
  queue = oracle._retry_queue  # pylint: disable=protected-access
  queue[:] = [t for t in queue if t in oracle.trials and
              oracle.trials[t].status not in (status.COMPLETED, status.FAILED)]
  queued = set(queue) | {t.trial_id for t in oracle.ongoing_trials.values()}
  for trial_id in sorted(oracle.trials):
    if oracle.trials[trial_id].status == status.RUNNING and (
        trial_id not in queued):
      queue.append(trial_id)
      if trial_id not in oracle.start_order:
        oracle.start_order.append(trial_id)


class _ProgressMixin:
  """Prints one line per finished trial (cost, metrics, bits chosen), saves
  atomically and lets keras-tuner run without tensorboard installed."""

  def save(self):
    """keras-tuner's ``save`` (oracle, then this tuner's file), atomic."""
    if not self._is_worker():
      self.oracle.save()
    fname = self._get_tuner_fname()
    if "://" in fname:
      super().save()
    else:
      _write_json_atomically(fname, self.get_state())

  def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
    # keras-tuner imports tensorboard for every trial on the TensorFlow
    # backend, which TF 2.21 no longer installs; it is only needed to patch
    # TensorBoard callbacks.
    if not any(type(c).__name__ == "TensorBoard" for c in callbacks):
      return
    super()._configure_tensorboard_dir(callbacks, trial, execution)

  def on_trial_end(self, trial):
    super().on_trial_end(trial)
    hypermodel = self.hypermodel
    info = getattr(hypermodel, "trial_summaries", {}).get(
        _hp_key(trial.hyperparameters))
    parts = [f"AutoQKeras trial {trial.trial_id} ({trial.status})"]
    if info is not None:
      ratio = info["trial_size"] / info["reference_size"]
      parts.append(f"size {info['trial_size']:.6g} ({ratio:.3f}x reference)")
    for name in sorted(trial.metrics.metrics):
      if name.startswith("val_") and not name.endswith(("loss", "trial")):
        value = _best(trial, name)
        if value is not None:
          parts.append(f"{name} {value:.4f}")
    if info is not None and info["bits"]:
      parts.append("bits k/b/a: " + _bits_text(info["bits"]))
    print(" | ".join(parts), flush=True)


_TUNERS = {"random": RandomSearch, "bayesian": BayesianOptimization,
           "hyperband": Hyperband}


def _with_progress(tuner_class):
  return type("AutoQKeras" + tuner_class.__name__,
              (_ProgressMixin, tuner_class), {})


def _fresh_dir(path):
  """``path``, or ``path_1``, ``path_2``, ... if it exists."""
  if not os.path.exists(path):
    return path
  index = 1
  while os.path.exists(f"{path}_{index}"):
    index += 1
  return f"{path}_{index}"


class AutoQKeras:
  """Searches per-layer quantizers of a compiled float model.

  ``AutoQKeras(model, metrics, goal=..., mode="random", max_trials=20)``
  then ``fit(x, y, validation_data=..., epochs=...)`` as ``model.fit``.
  Each trial is scored ``metric * (1 + delta)`` (``val_score``, or
  ``val_<head_name>_score``); ``get_best_model()`` returns the best trial's
  model with its trained weights.

  Args (besides ``AutoQKHyperModel``'s):
    goal: ``{"type": "bits" | "energy", "params": {...}}`` or a
      ``ForgivingFactor``; default: bits, delta 8%, rate 2.
    output_dir: keras-tuner project (under ``directory``, default ".").
    mode: "random", "bayesian" or "hyperband".
    custom_tuner: a keras-tuner Tuner class used instead of ``mode``'s; it
      gets ``autoqkeras_config`` (these arguments) as a keyword.
    overwrite: True: a fresh project (``output_dir_1``, ... if it exists);
      False: continue the search saved in ``output_dir``.
    score_metric: the objective (default ``val_score``).
    **tuner_kwargs: for the tuner (``max_trials``, ``seed``, ``directory``,
      ``max_epochs`` for hyperband, ``distribution_strategy``, ...).
  """

  def __init__(self, model, metrics=None, custom_objects=None, goal=None,
               output_dir="result", mode="random", custom_tuner=None,
               transfer_weights=False, frozen_layers=None, activation_bits=4,
               limit=None, tune_filters="none", tune_filters_exceptions=None,
               learning_rate_optimizer=False, layer_indexes=None,
               quantization_config=None, overwrite=True, head_name=None,
               score_metric=None, **tuner_kwargs):
    _check_compiled(model)
    if custom_tuner is None:
      _check_choice("mode", mode, MODES)
    self.target = make_target(goal)
    metrics = metrics if metrics is not None else ["acc"]
    search = dict(
        transfer_weights=transfer_weights, frozen_layers=frozen_layers,
        activation_bits=activation_bits, limit=limit,
        tune_filters=tune_filters,
        tune_filters_exceptions=tune_filters_exceptions,
        layer_indexes=layer_indexes,
        learning_rate_optimizer=learning_rate_optimizer,
        head_name=head_name, quantization_config=quantization_config)
    self.hypermodel = AutoQKHyperModel(model, metrics, custom_objects,
                                       self.target, **search)
    directory = tuner_kwargs.get("directory") or "."
    # In keras-tuner's distributed mode every process must use the same
    # project, so a new name is never picked there.
    if overwrite and "KERASTUNER_ORACLE_IP" not in os.environ:
      fresh = _fresh_dir(os.path.join(directory, output_dir))
      output_dir = (fresh if os.path.isabs(output_dir)
                    else os.path.relpath(fresh, directory))
    self.output_dir = output_dir
    if score_metric is None:
      score_metric = ("val_score" if head_name is None
                      else f"val_{head_name}_score")
    self.score_metric = score_metric
    self.head_name = head_name
    self.learning_rate = None
    objective = kt.Objective(score_metric, "max")
    tuner_kwargs.setdefault("overwrite", False)
    if custom_tuner is not None:
      config = dict(search, model=model, metrics=metrics,
                    custom_objects=custom_objects, goal=goal,
                    output_dir=output_dir, mode=mode, overwrite=overwrite,
                    score_metric=score_metric)
      self.tuner = _with_progress(custom_tuner)(
          self.hypermodel, autoqkeras_config=config, objective=objective,
          project_name=output_dir, **tuner_kwargs)
    else:
      if mode == "hyperband" and ("max_trials" in tuner_kwargs or
                                  "max_epochs" not in tuner_kwargs):
        raise ValueError(
            "AutoQKeras: mode='hyperband' takes 'max_epochs' (and "
            "'hyperband_iterations', 'factor'), not 'max_trials'; got "
            f"{sorted(tuner_kwargs)}.")
      self.tuner = _with_progress(_TUNERS[mode])(
          self.hypermodel, objective=objective, project_name=output_dir,
          **tuner_kwargs)
    _atomic_oracle_saves(self.tuner.oracle)
    _requeue_interrupted_trials(self.tuner.oracle)
    self.tuner.search_space_summary()

  def _has_early_stopping(self, callbacks):
    return any(isinstance(c, keras.callbacks.EarlyStopping)
               for c in callbacks)

  def fit(self, *fit_args, **fit_kwargs):
    """``tuner.search`` with ``model.fit``'s arguments; adds
    ``EarlyStopping("val_loss", patience=min(20, epochs // 5))`` unless
    the callbacks have one."""
    callbacks = list(fit_kwargs.get("callbacks") or [])
    if not self._has_early_stopping(callbacks):
      epochs = fit_kwargs.get("epochs", 10)
      callbacks.append(keras.callbacks.EarlyStopping(
          "val_loss", patience=min(20, epochs // 5)))
    fit_kwargs["callbacks"] = callbacks
    self.hypermodel.verbose = fit_kwargs.get("verbose", 1) != 0
    self.tuner.search(*fit_args, **fit_kwargs)

  def _completed_trials(self, number_of_trials=-1):
    trials = [t for t in self.tuner.oracle.trials.values()
              if t.status == "COMPLETED" and t.score is not None]
    trials.sort(key=lambda t: t.score, reverse=True)
    if number_of_trials is not None and number_of_trials >= 0:
      trials = trials[:number_of_trials]
    return trials

  def history(self, number_of_trials=-1):
    """Per completed trial (best score first): ``trial_id``, ``score``,
    every metric and its ``val_`` value (at the best epoch), and
    ``trial_size``."""
    prefix = "" if self.head_name is None else self.head_name + "_"
    result = {"trial_id": [], "score": [], "trial_size": []}
    trials = self._completed_trials(number_of_trials)
    names = set()
    for trial in trials:
      names.update(trial.metrics.metrics)
    keys = sorted(n for n in names if not n.startswith("val_") and
                  n not in ("loss", prefix + "trial", prefix + "score"))
    for key in keys:
      result[key] = []
      result["val_" + key] = []
    for trial in trials:
      result["trial_id"].append(trial.trial_id)
      result["score"].append(float(trial.score))
      result["trial_size"].append(_last(trial, prefix + "trial"))
      for key in keys:
        result[key].append(_best(trial, key))
        result["val_" + key].append(_best(trial, "val_" + key))
    return result

  @staticmethod
  def get_best_lr(qmodel):
    """The learning rate ``qmodel`` was compiled with."""
    return _learning_rate(qmodel.optimizer)

  def get_best_model(self):
    """The best trial's model, compiled, with the weights of its best epoch
    (None before any trial completed)."""
    if not self._completed_trials(1):
      return None
    verbose, self.hypermodel.verbose = self.hypermodel.verbose, False
    try:
      with warnings.catch_warnings():
        # The checkpoint holds the trained optimizer's slots, the fresh
        # model's optimizer has none yet; only the weights matter here.
        warnings.filterwarnings("ignore", message="Skipping variable loading "
                                "for optimizer")
        model = self.tuner.get_best_models(1)[0]
    finally:
      self.hypermodel.verbose = verbose
    self.learning_rate = self.get_best_lr(model)
    return model

  def get_learning_rate(self):
    return self.learning_rate


def _last(trial, name):
  try:
    history = trial.metrics.get_history(name)
  except (KeyError, ValueError):
    return None
  return float(history[-1].value[0]) if history else None


# -- scheduler ---------------------------------------------------------------


class AutoQKerasScheduler:
  """Runs AutoQKeras block by block.

  ``blocks`` are layer-name regexes; each block is searched by its own
  ``AutoQKeras`` (in ``<output_dir>/<i>``) on the model the previous blocks
  produced, the layers already quantized kept (``frozen_layers``).
  ``schedule_block="cost"`` takes the most expensive blocks first.  After
  each block the model is saved as ``model_block_<i>.keras`` and
  ``scheduler.json`` records the next block, so ``overwrite=False``
  resumes an interrupted schedule.
  """

  def __init__(self, model, metrics=None, custom_objects=None, goal=None,
               output_dir="result", mode="random", transfer_weights=False,
               activation_bits=4, limit=None, tune_filters="none",
               tune_filters_exceptions=None, layer_indexes=None,
               learning_rate_optimizer=False, blocks=None,
               schedule_block="sequential", quantization_config=None,
               overwrite=True, debug=False, head_name=None, **tuner_kwargs):
    _check_compiled(model)
    _check_choice("mode", mode, MODES)
    _check_choice("schedule_block", schedule_block, ("sequential", "cost"))
    _check_limit(limit, model)
    self.model = model
    self.metrics = metrics if metrics is not None else ["acc"]
    self.custom_objects = custom_objects or {}
    self.target = make_target(goal)
    self.mode = mode
    self.transfer_weights = transfer_weights
    self.activation_bits = activation_bits
    self.limit = limit
    self.tune_filters = tune_filters
    self.tune_filters_exceptions = tune_filters_exceptions
    self.layer_indexes = layer_indexes
    self.learning_rate_optimizer = learning_rate_optimizer
    self.blocks = list(blocks) if blocks else [".*"]
    for pattern in self.blocks:
      try:
        re.compile(pattern)
      except re.error as e:
        raise ValueError(f"AutoQKerasScheduler: block {pattern!r} is not a "
                         f"valid regex: {e}.") from None
    self.schedule_block = schedule_block
    self.quantization_config = quantization_config
    self.debug = debug
    self.head_name = head_name
    self.tuner_kwargs = tuner_kwargs
    self.learning_rate = _learning_rate(model.optimizer)
    self.overwrite = overwrite
    directory = tuner_kwargs.get("directory") or "."
    path = os.path.join(directory, output_dir)
    if overwrite:
      path = _fresh_dir(path)
    self.output_dir = path
    self.history = []
    self.best_model = None
    self.next_block = self.get_next_block(overwrite)

  # -- bookkeeping -----------------------------------------------------------

  def _state_file(self):
    return os.path.join(self.output_dir, "scheduler.json")

  def get_next_block(self, overwrite):
    """The first block still to search (0 for a fresh schedule)."""
    if overwrite or not os.path.exists(self._state_file()):
      return 0
    with open(self._state_file()) as f:
      return int(json.load(f)["next_block"])

  def _model_file(self, index):
    return os.path.join(self.output_dir, f"model_block_{index}.keras")

  def _history_file(self, index):
    return os.path.join(self.output_dir, f"history_block_{index}.json")

  def _save_state(self, index, model, history):
    os.makedirs(self.output_dir, exist_ok=True)
    model.save(self._model_file(index))
    with open(self._history_file(index), "w") as f:
      json.dump(history, f, default=float)
    with open(self._state_file(), "w") as f:
      json.dump({"next_block": index + 1}, f)

  def _compile_like_original(self, model):
    args = _compile_arguments(self.model)
    model.compile(optimizer=_clone_optimizer(self.model.optimizer,
                                             self.learning_rate), **args)
    return model

  # -- blocks ----------------------------------------------------------------

  def _block_layers(self, model, pattern):
    return [layer.name for i, layer in enumerate(model.layers)
            if re.match(pattern, layer.name) and (
                self.layer_indexes is None or i in self.layer_indexes)]

  def compute_block_costs(self, blocks, model):
    """``{pattern: reference cost of its layers}``."""
    self.target.get_reference(model)
    stats = self.target.get_reference_stats() or {}
    costs = {}
    for pattern in blocks:
      costs[pattern] = sum(float(stats.get(name, {}).get("total", 0))
                           for name in self._block_layers(model, pattern))
    return costs

  def retrieve_max_block(self):
    """Yields ``(pattern, cost)`` in schedule order."""
    costs = self.compute_block_costs(self.blocks, self.model)
    order = list(self.blocks)
    if self.schedule_block == "cost":
      order.sort(key=lambda p: costs[p], reverse=True)
    for pattern in order:
      yield pattern, costs[pattern]

  @staticmethod
  def _block_trials(max_trials, cost, reference_size):
    """Trials of a block: ``max_trials`` scaled by the block's share of the
    reference cost, at least ``min(10, max_trials)``."""
    share = cost / reference_size if reference_size else 1.0
    return max(min(10, max_trials), int(max_trials * share))

  def get_limit(self, model, pattern):
    """The limit restricted to the layers of block ``pattern``: class keys
    of classes in the block, regex keys narrowed to the block's layers they
    match (``^(name1|name2)$``)."""
    names = self._block_layers(model, pattern)
    layers = [model.get_layer(n) for n in names]
    limit = self.limit
    if limit is None:
      limit = {name: 8 for name in REGISTERED_LAYERS + ["Activation"]}
    result = {}
    classes = {type(layer).__name__ for layer in layers}
    model_classes = _layer_classes(model)
    for key, value in limit.items():
      if key == "default":
        result[key] = value
      elif _is_class_key(key, model_classes):
        if key in classes:
          result[key] = value
      else:
        matched = [n for n in names if re.match(key, n)]
        if matched:
          result["^(" + "|".join(re.escape(n) for n in matched) + ")$"] = value
    return result

  def fit(self, *fit_args, **fit_kwargs):
    """Searches every block; the result is ``get_best_model()``."""
    reference_size = self.target.get_reference(self.model)
    max_trials = self.tuner_kwargs.get("max_trials", 10)
    model = self.model
    if self.next_block > 0:
      from qkeras.utils import load_qmodel  # pylint: disable=g-import-not-at-top
      model = self._compile_like_original(
          load_qmodel(self._model_file(self.next_block - 1),
                      custom_objects=self.custom_objects, compile=False))
      for i in range(self.next_block):
        with open(self._history_file(i)) as f:
          self.history.append(json.load(f))
    frozen = []
    for i, (pattern, cost) in enumerate(self.retrieve_max_block()):
      names = self._block_layers(self.model, pattern)
      if i < self.next_block:
        frozen.extend(names)
        continue
      trials = self._block_trials(max_trials, cost, reference_size)
      limit = self.get_limit(model, pattern)
      indexes = [j for j, layer in enumerate(model.layers)
                 if layer.name in names]
      print(f"Block {i}: {pattern!r} cost {cost:.6g}, {len(names)} layers, "
            f"up to {trials} trials, limit {json.dumps(limit)}")
      if self.debug or not names:
        continue
      kwargs = dict(self.tuner_kwargs)
      if self.mode != "hyperband":
        kwargs["max_trials"] = trials
      autoqk = AutoQKeras(
          model, metrics=self.metrics, custom_objects=self.custom_objects,
          goal=self.target, output_dir=os.path.join(self.output_dir, str(i)),
          mode=self.mode, transfer_weights=self.transfer_weights,
          frozen_layers=frozen, activation_bits=self.activation_bits,
          limit=limit, tune_filters=self.tune_filters,
          tune_filters_exceptions=self.tune_filters_exceptions,
          layer_indexes=indexes,
          learning_rate_optimizer=self.learning_rate_optimizer,
          quantization_config=self.quantization_config,
          overwrite=self.overwrite, head_name=self.head_name,
          **{k: v for k, v in kwargs.items() if k != "directory"})
      autoqk.fit(*fit_args, **fit_kwargs)
      autoqk.tuner.results_summary()
      history = autoqk.history()
      self.history.append(history)
      best = autoqk.get_best_model()
      self.learning_rate = autoqk.get_learning_rate() or self.learning_rate
      model = self._compile_like_original(best)
      self._save_state(i, model, history)
      frozen.extend(names)
    if self.debug:
      return
    for layer in model.layers:
      layer.trainable = True
    self.best_model = model

  def get_history(self):
    return self.history

  def get_best_model(self):
    """The model after the last block (None before ``fit``)."""
    if self.best_model is None:
      return None
    self.target.get_trial(self.best_model)
    self.target.print_stats()
    print_qmodel_summary(self.best_model)
    return self.best_model

  def get_learning_rate(self):
    return self.learning_rate
