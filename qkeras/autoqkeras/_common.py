# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras's argument checks and compile helpers.

Shared by the search space (``_search_space``: every trial model is compiled
like the float model) and the tuner driver (``_tuner_state``: the scheduler
recompiles each block's best model); reached through
``qkeras.autoqkeras.autoqkeras_internal``.
"""

import copy

import keras
from keras import ops

from qkeras._graph import compile_arguments
from qkeras.autoqkeras.forgiving_metrics import ForgivingFactor
from qkeras.autoqkeras.forgiving_metrics import forgiving_factor

DEFAULT_GOAL = {
    "type": "bits",
    "params": {"delta_p": 8.0, "delta_n": 8.0, "rate": 2.0, "stress": 1.0,
               "input_bits": 8, "output_bits": 8, "ref_bits": 8,
               "config": {"default": ["parameters", "activations"]}},
}
_GOAL_PARAMS = {"bits": ("delta_p", "delta_n", "rate"),
                "energy": ("delta_p", "delta_n", "rate")}


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
  config = compile_arguments(model)
  config.pop("optimizer", None)
  config.setdefault("loss", model.loss)
  config["metrics"] = _copy_metrics(config.get("metrics"))
  config["weighted_metrics"] = _copy_metrics(config.get("weighted_metrics"))
  return config
