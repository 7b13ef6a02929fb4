# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Printing and saving the quantizers an AutoQKeras search chose."""

import json

import numpy as np

Q_SEQUENCE_LAYERS = ["QSimpleRNN", "QLSTM", "QGRU", "QBidirectional"]

_UNIT_LAYERS = ("Dense", "QDense", "QDenseBatchnorm")
_FILTER_LAYERS = ("Conv1D", "QConv1D", "Conv2D", "QConv2D",
                  "QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm")


def _is_linear(activation):
  if activation is None:
    return True
  name = activation if isinstance(activation, str) else getattr(
      activation, "__name__", None)
  return name == "linear"


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
  """Writes ``get_quantization_dictionary(q_model)`` to ``fn`` as JSON."""
  with open(fn, "w") as f:
    f.write(json.dumps(get_quantization_dictionary(q_model)))
