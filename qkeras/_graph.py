# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Reading the structure of Keras models (used by the model tools)."""

import keras


def functional(model):
  """A functional view of ``model`` (Sequential models included)."""
  if isinstance(model, keras.Sequential):
    return keras.Model(model.inputs, model.outputs, name=model.name)
  return model


def consumers(model):
  """Layer id -> the layers of ``model`` that take its output."""
  result = {id(layer): [] for layer in model.layers}
  for layer in model.layers:
    for node in layer._inbound_nodes:  # pylint: disable=protected-access
      for parent in node.parent_nodes:
        if id(parent.operation) in result:
          result[id(parent.operation)].append(layer)
  return result


def flat_layers(model):
  """The layers of ``model``, with nested models replaced by their layers
  (depth first, in ``model.layers`` order; input layers skipped)."""
  result = []
  for layer in model.layers:
    if isinstance(layer, keras.Model):
      result.extend(flat_layers(layer))
    elif not isinstance(layer, keras.layers.InputLayer):
      result.append(layer)
  return result


def single_successor_pairs(model, first_types, second_type, exact=True):
  """``{layer.name: successor}`` for layers of ``first_types`` whose output
  goes to exactly one layer, an instance of ``second_type``.

  With ``exact`` the first layer's class must be one of ``first_types``
  (subclasses such as Q-layers do not count).
  """
  model = functional(model)
  followers = consumers(model)
  pairs = {}
  for layer in model.layers:
    is_type = (type(layer) in first_types if exact
               else isinstance(layer, first_types))
    after = followers[id(layer)]
    if is_type and len(after) == 1 and isinstance(after[0], second_type):
      pairs[layer.name] = after[0]
  return pairs


# --- used by autoqkeras ---


def output_layers(model):
  """The layers producing ``model.outputs``, one per output, in order."""
  return [tensor._keras_history.operation for tensor in model.outputs]  # pylint: disable=protected-access


def parent_layers(layer):
  """The layers whose outputs feed the first call of ``layer`` (empty for
  an input layer or a layer never called)."""
  nodes = layer._inbound_nodes  # pylint: disable=protected-access
  if not nodes:
    return []
  return [node.operation for node in nodes[0].parent_nodes]


def compile_arguments(model):
  """A new dict of the arguments ``model.compile`` was called with (the
  objects given, not their configs; empty before ``compile``)."""
  config = getattr(model, "_compile_config", None)
  return dict(getattr(config, "config", None) or {})
