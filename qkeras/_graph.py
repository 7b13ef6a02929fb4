# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Reading the structure of Keras models (used by the model tools).

This module is the only one in qkeras that reads Keras's private graph
attributes (``_nodes_by_depth``, ``_inbound_nodes``, ``_keras_history``,
``Node.operation``, ...); every tool that walks a model (``_export``,
``_convert``, ``estimate``, QTools' ``qgraph``) goes through the functions
below, so a change of Keras's internals is met here alone.

* ``functional(model)``: a functional view of a Sequential model.
* ``is_graph_model(model)``: whether a model has a layer graph.
* ``layer_calls(model)``: the layer calls of a functional model
  (``LayerCall``: ``layer``, ``inputs``, ``outputs``, ``run(values)``) in
  dependency order.
* ``walk(model, visit, values)``: ``visit`` every layer call, through
  nested models, with the values of the tensors it reads.
* ``producer(tensor)``: ``(layer, node_index, tensor_index)`` of the call
  that made a symbolic tensor.
* ``consumers(model)``, ``single_successor_pairs(...)``,
  ``flat_layers(model)``.
"""

import collections

import keras


def functional(model):
  """A functional view of ``model`` (Sequential models included)."""
  if isinstance(model, keras.Sequential):
    return keras.Model(model.inputs, model.outputs, name=model.name)
  return model


def is_graph_model(model):
  """Whether ``model`` is a functional or Sequential model (a layer graph);
  subclassed models and plain layers are not."""
  return isinstance(model, keras.Sequential) or hasattr(
      model, "_nodes_by_depth")


Producer = collections.namedtuple(
    "Producer", ["layer", "node_index", "tensor_index"])


def producer(tensor):
  """``(layer, node_index, tensor_index)`` of a symbolic Keras tensor: the
  layer (or nested model, or ``InputLayer``) whose call made it, which call
  of that layer, and which of the call's outputs it is."""
  history = tensor._keras_history  # pylint: disable=protected-access
  return Producer(history.operation, history.node_index,
                  history.tensor_index)


class LayerCall:
  """One call of a layer inside a functional model.

  ``layer`` is the layer (a nested model, or an ``InputLayer`` for a model
  input), ``inputs`` and ``outputs`` the symbolic tensors it reads and
  makes (tuples), ``is_input`` whether it is a model input.
  """

  __slots__ = ("layer", "inputs", "outputs", "is_input", "_node")

  def __init__(self, node):
    self.layer = node.operation
    self.inputs = tuple(node.input_tensors)
    self.outputs = tuple(node.outputs)
    self.is_input = bool(node.is_input)
    self._node = node

  def run(self, values):
    """Calls the layer as in the model, on the values of its inputs.

    ``values`` maps ``id(tensor)`` of symbolic tensors to values (it must
    hold those of ``inputs``); the call's other arguments are the model's.
    Returns the flat list of the call's outputs.
    """
    args, kwargs = self._node.arguments.fill_in(values)
    return keras.tree.flatten(self.layer(*args, **kwargs))


def layer_calls(model):
  """The ``LayerCall`` s of a functional (or Sequential) ``model``, each
  after the calls that make its inputs (model inputs first in each depth
  order; nested models are one call, see ``walk``)."""
  model = functional(model)
  if not is_graph_model(model):
    raise ValueError(f"Model {model.name!r} is not a functional or "
                     "Sequential model (subclassed models have no layer "
                     "graph).")
  nodes_by_depth = model._nodes_by_depth  # pylint: disable=protected-access
  return [LayerCall(node) for depth in sorted(nodes_by_depth, reverse=True)
          for node in nodes_by_depth[depth]]


def walk(model, visit, values):
  """Calls ``visit(layer, call, values)`` for every layer call of
  ``model`` (a functional or Sequential model), each after the calls that
  produce its inputs; ``call`` is the ``LayerCall``.

  ``values`` maps ``id(tensor)`` of symbolic tensors to values and must hold
  those of the model's inputs; ``visit`` returns one value per output tensor
  of the call, which are stored in ``values``. Nested functional and
  Sequential models are walked through: their input tensors take the values
  of the tensors they are called on, the call's outputs those of their
  output tensors. Model inputs are not visited.
  """
  for call in layer_calls(model):
    if call.is_input:
      continue
    if is_graph_model(call.layer):
      inner = functional(call.layer)
      for tensor, outer in zip(inner.inputs, call.inputs):
        values[id(tensor)] = values[id(outer)]
      walk(inner, visit, values)
      outputs = [values[id(tensor)] for tensor in inner.outputs]
    else:
      outputs = visit(call.layer, call, values)
    for tensor, value in zip(call.outputs, outputs):
      values[id(tensor)] = value


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
