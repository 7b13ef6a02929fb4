# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Printing and saving the quantizers an AutoQKeras search chose."""

import json

import numpy as np

from qkeras import _atomic

Q_SEQUENCE_LAYERS = ["QSimpleRNN", "QLSTM", "QGRU", "QBidirectional"]

_UNIT_LAYERS = ("Dense", "QDense", "QDenseBatchnorm")
_FILTER_LAYERS = ("Conv1D", "QConv1D", "Conv2D", "QConv2D",
                  "QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm")


def activation_name(activation):
  """"linear" (also for None), "relu", "softmax", ... for activation
  strings and Keras functions; None for other objects (quantizers)."""
  if activation is None:
    return "linear"
  if isinstance(activation, str):
    return activation
  return getattr(activation, "__name__", None)


def _is_linear(activation):
  return activation_name(activation) == "linear"


def _quantized_layer_line(layer):
  """``name u=units|f=filters q1 q2 ... recurrent act=.. act=..``."""
  name = layer.__class__.__name__
  line = "{:20} ".format(layer.name)
  if name in _UNIT_LAYERS:
    line += "u={} ".format(layer.units)
  elif name in _FILTER_LAYERS and hasattr(layer, "filters"):
    line += "f={} ".format(layer.filters)
  for quantizer in layer.get_quantizers():
    if quantizer is not None:
      line += str(quantizer) + " "
  recurrent = getattr(layer, "recurrent_activation", None)
  if recurrent is not None:
    line += "recurrent act={}".format(recurrent)
  activation = getattr(layer, "activation", None)
  if not _is_linear(activation):
    line += "act={}".format(activation)
  return line


def print_qmodel_summary(q_model):
  """Prints one line per quantized layer (its quantizers), then a blank."""
  for layer in q_model.layers:
    name = layer.__class__.__name__
    if name in ("QActivation", "QAdaptiveActivation"):
      print("{:20} {}".format(layer.name, str(layer.activation)))
    elif name == "QBatchNormalization":
      print("{:20} QBN, mean={}".format(
          layer.name, str(np.array(layer.moving_mean))))
    elif name == "BatchNormalization":
      print("{:20} is normal keras bn layer".format(layer.name))
    elif hasattr(layer, "get_quantizers"):
      print(_quantized_layer_line(layer))
  print()


def get_quantization_dictionary(q_model):
  """``{layer name: layer.get_quantization_config()}`` for Q-layers."""
  return {layer.name: layer.get_quantization_config()
          for layer in q_model.layers
          if hasattr(layer, "get_quantization_config")}


def save_quantization_dict(fn, q_model):
  """Writes ``get_quantization_dictionary(q_model)`` to ``fn`` as JSON, all
  or nothing (a temporary file renamed onto ``fn``: a failure leaves an
  existing file as it was)."""
  _atomic.write_text(fn, json.dumps(get_quantization_dictionary(q_model)))


def _history_of(source):
  """The history dict of an ``AutoQKeras`` / scheduler / dict."""
  if isinstance(source, dict):
    return source
  if hasattr(source, "history") and callable(source.history):
    return source.history()
  raise ValueError("plot_history: argument 'history' must be an AutoQKeras "
                   "object or the dict its history() returns, got "
                   f"{type(source).__name__}.")


def _size_label_of(source):
  """What the trial cost of ``source`` measures: its goal's
  ``size_label`` ("size (bits)", "energy (pJ)"), or "trial size"."""
  target = getattr(source, "target", None)
  return getattr(target, "size_label", "trial size")


def plot_history(history, filename=None, metric="val_acc", size_label=None):
  """Plots an AutoQKeras search per trial: score, ``metric`` and the trial
  cost (bits or energy, by the goal), in the order the trials ran.

  Args:
    history: an ``AutoQKeras`` or its ``history()`` dict.
    filename: where to save the figure (png, pdf, ...); None: not saved.
    metric: the accuracy-like key of the history to plot (falls back to the
      first ``val_`` metric).
    size_label: y label of the cost plot (default: by the goal of an
      ``AutoQKeras`` history, "size (bits)" or "energy (pJ)"; "trial size"
      for a dict).

  Returns:
    The matplotlib figure (matplotlib is imported here, not by qkeras).
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  if filename is not None and matplotlib.get_backend().lower() == "":
    matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  data = _history_of(history)
  if not data.get("trial_id"):
    raise ValueError("plot_history: the history has no completed trial.")
  if metric not in data:
    candidates = [k for k in data if k.startswith("val_")]
    if not candidates:
      raise ValueError(f"plot_history: metric {metric!r} is not in the "
                       f"history (keys: {', '.join(sorted(data))}).")
    metric = candidates[0]
  order = np.argsort([int(t) for t in data["trial_id"]])
  trials = [int(data["trial_id"][i]) for i in order]
  series = [("score", data["score"]), (metric, data[metric]),
            (size_label or _size_label_of(history), data["trial_size"])]
  fig, axes = plt.subplots(len(series), 1, sharex=True,
                           figsize=(7, 2.2 * len(series)))
  for ax, (label, values) in zip(axes, series):
    ys = [np.nan if values[i] is None else values[i] for i in order]
    ax.plot(trials, ys, "o-")
    ax.set_ylabel(label)
    ax.grid(True, alpha=0.3)
  axes[-1].set_xlabel("trial")
  axes[0].set_title("AutoQKeras search")
  fig.tight_layout()
  if filename is not None:
    fig.savefig(filename)
  return fig
