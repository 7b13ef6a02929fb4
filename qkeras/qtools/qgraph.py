# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The layer graph QTools walks (QKeras's ``qtools.qgraph``).

Nodes are layers (ids ``0..n-1`` in the order they are met, plus ``SOURCE =
-1`` feeding the model inputs and ``SINK = -2`` fed by the outputs); an edge
``u -> v`` carries the tensor ``u`` passes to ``v``: its ``shape``, the
Keras ``tensor`` and the ``quantizer`` it holds (set for the model inputs
from the source quantizers, then by ``GraphPropagateActivationsToEdges``).

Built from Keras 3 models: functional and Sequential models, nested models
(their layers become nodes of the one graph), several inputs and outputs,
shared layers (one node, an edge per call). ``Dropout`` and ``InputLayer``
nodes are removed. The graph is a small class of its own
(``QGraph``) with the part of networkx's ``DiGraph`` API QTools uses; it does
not need networkx.
"""

import logging

import keras

from qkeras import _graph
from qkeras.qtools import settings
from qkeras.qtools.quantized_operators import quantizer_factory

logger = logging.getLogger(__name__)

SOURCE = -1
SINK = -2

__all__ = ["SOURCE", "SINK", "QGraph", "WrongInputQuantizerError",
           "CreateGraph", "GenerateGraphFromModel",
           "GenerateInputQuantizerList", "GraphAddSingleSourceSingleSink",
           "GraphRemoveNode", "GraphRemoveNodeWithNodeType",
           "GraphPropagateActivationsToEdges", "GraphGetInputs",
           "GraphGetOutputs", "GraphUpdateEdge", "PrintGraph"]


class WrongInputQuantizerError(ValueError):
  """The number of source quantizers does not match the model's inputs."""


class _EdgeView:
  """``graph.edges[(u, v)]`` and ``graph.edges(u)`` as in networkx."""

  def __init__(self, graph):
    self._graph = graph

  def __getitem__(self, key):
    return self._graph._edges[key]  # pylint: disable=protected-access

  def __call__(self, node=None):
    edges = self._graph._edges  # pylint: disable=protected-access
    return [e for e in edges if node is None or e[0] == node]

  def __iter__(self):
    return iter(list(self._graph._edges))  # pylint: disable=protected-access

  def __len__(self):
    return len(self._graph._edges)  # pylint: disable=protected-access


class QGraph:
  """A directed graph of layers: ``nodes[id]`` and ``edges[(u, v)]`` are
  attribute dicts; edges keep their insertion order."""

  def __init__(self):
    self.nodes = {}
    self._edges = {}
    self.edges = _EdgeView(self)

  def add_node(self, node_id, **attrs):
    self.nodes.setdefault(node_id, {}).update(attrs)

  def add_edge(self, u, v, **attrs):
    for node in (u, v):
      self.nodes.setdefault(node, {})
    self._edges.setdefault((u, v), {}).update(attrs)

  def remove_edge(self, u, v):
    del self._edges[(u, v)]

  def has_edge(self, u, v):
    return (u, v) in self._edges

  def remove_node(self, node_id):
    for edge in [e for e in self._edges if node_id in e]:
      del self._edges[edge]
    del self.nodes[node_id]

  def predecessors(self, node_id):
    return [u for (u, v) in self._edges if v == node_id]

  def successors(self, node_id):
    return [v for (u, v) in self._edges if u == node_id]

  def in_degree(self, node_id):
    return len(self.predecessors(node_id))

  def out_degree(self, node_id):
    return len(self.successors(node_id))

  def __getitem__(self, u):
    """``graph[u][v]`` is the edge's attribute dict (networkx style)."""
    return {v: self._edges[(u, v)] for v in self.successors(u)}

  def topological_sort(self):
    """Node ids, every node after all its predecessors (ties: node order)."""
    indegree = {n: 0 for n in self.nodes}
    for (_, v) in self._edges:
      indegree[v] += 1
    ready = [n for n in self.nodes if indegree[n] == 0]
    order = []
    while ready:
      node = ready.pop(0)
      order.append(node)
      for v in self.successors(node):
        indegree[v] -= 1
        if indegree[v] == 0:
          ready.append(v)
    if len(order) != len(self.nodes):
      raise ValueError("QTools: the model graph has a cycle.")
    return order


def GenerateInputQuantizerList(input_quantizers, inputs_length,  # pylint: disable=invalid-name
                               default_source_quantizer):
  """One source quantizer per model input.

  None -> ``inputs_length`` times the default; a list must have one entry
  per input; anything else is used for every input. Strings are parsed by
  ``qkeras.quantizers.get_quantizer`` (never evaluated).
  """
  factory = quantizer_factory.QuantizerFactory()
  if input_quantizers is None:
    logger.info("SOURCE has no quantizer type. Use default quantizer "
                "instead.")
    return [factory.make_default_quantizer(mode=default_source_quantizer)
            for _ in range(inputs_length)]
  if not isinstance(input_quantizers, (list, tuple)):
    input_quantizers = [input_quantizers] * inputs_length
  if len(input_quantizers) != inputs_length:
    raise WrongInputQuantizerError(
        f"ERROR: Number of input ({inputs_length}) must be the same as "
        f"number of source quantizers ({len(input_quantizers)})")
  return [factory.make_quantizer(q) if not isinstance(q, str)
          else factory.make_default_quantizer(mode=q)
          for q in input_quantizers]


class _Builder:
  """Adds the layers of a (possibly nested) model to a QGraph."""

  def __init__(self):
    self.graph = QGraph()
    self.ids = {}       # id(layer) -> node id
    self.aliases = {}   # id(inner InputLayer) -> node id of what feeds it
    self.views = {}     # id(model) -> its functional view

  def functional(self, model):
    if id(model) not in self.views:
      self.views[id(model)] = _graph.functional(model)
    return self.views[id(model)]

  def node_of(self, layer):
    if id(layer) not in self.ids:
      node_id = len(self.ids)
      self.ids[id(layer)] = node_id
      self.graph.add_node(node_id, layer=[layer],
                          type=[type(layer).__name__], out_quantizer=None)
    return self.ids[id(layer)]

  def producer(self, tensor):
    """The node id of the layer whose output ``tensor`` is (through nested
    models and their input layers)."""
    operation, _, index = _graph.producer(tensor)
    if isinstance(operation, keras.Model):
      return self.producer(self.functional(operation).outputs[index])
    if id(operation) in self.aliases:
      return self.aliases[id(operation)]
    return self.ids.get(id(operation))

  def add_model(self, model, top):
    model = self.functional(model)
    if not _graph.is_graph_model(model):
      raise ValueError(f"QTools: model {model.name!r} is not a functional "
                       "or Sequential model (subclassed models have no "
                       "layer graph).")
    for call in _graph.layer_calls(model):
      self.add_call(call, top)

  def add_call(self, call, top):
    layer = call.layer
    if isinstance(layer, keras.layers.InputLayer):
      if top:
        self.node_of(layer)
      return
    if isinstance(layer, keras.Model):
      inner_inputs = self.functional(layer).inputs
      for inner, outer in zip(inner_inputs, call.inputs):
        self.aliases[id(_graph.producer(inner).layer)] = self.producer(outer)
      self.add_model(layer, top=False)
      return
    node_id = self.node_of(layer)
    for tensor in call.inputs:
      parent = self.producer(tensor)
      if parent is not None:
        self.graph.add_edge(parent, node_id, shape=tuple(tensor.shape),
                            tensor=tensor, quantizer=None)


def GenerateGraphFromModel(model, input_quantizers,  # pylint: disable=invalid-name
                           default_source_quantizer):
  """``(graph, source_quantizer_list)``: the layer graph of ``model`` with
  SOURCE/SINK and the source quantizers on the model-input edges."""
  if not model.built or not getattr(model, "outputs", None):
    raise ValueError(
        f"QTools: model {model.name!r} has not been built (give the "
        "Sequential model an Input or call it on data first).")
  builder = _Builder()
  builder.add_model(model, top=True)
  graph = builder.graph
  functional = _graph.functional(model)
  source_quantizers = GenerateInputQuantizerList(
      input_quantizers, len(functional.inputs), default_source_quantizer)
  for tensor, quantizer in zip(functional.inputs, source_quantizers):
    input_node = builder.producer(tensor)
    graph.add_edge(SOURCE, input_node, shape=tuple(tensor.shape),
                   tensor=tensor, quantizer=quantizer)
    for (u, v) in graph.edges(input_node):
      graph.edges[(u, v)]["quantizer"] = quantizer
  graph.add_node(SOURCE, layer=[None], type=["SOURCE"], out_quantizer=None)
  outputs = [builder.producer(t) for t in functional.outputs]
  for tensor, node_id in zip(functional.outputs, outputs):
    graph.add_edge(node_id, SINK, shape=tuple(tensor.shape), tensor=tensor,
                   quantizer=None)
  graph.add_node(SINK, layer=[None], type=["SINK"], out_quantizer=None)
  return graph, source_quantizers


def GraphAddSingleSourceSingleSink(graph):  # pylint: disable=invalid-name
  """Connects SOURCE to every node without predecessors and every node
  without successors to SINK (already done by ``GenerateGraphFromModel``
  for the model's inputs and outputs)."""
  for node_id in list(graph.nodes):
    if node_id in (SOURCE, SINK):
      continue
    if graph.in_degree(node_id) == 0:
      graph.add_edge(SOURCE, node_id, shape=None, tensor=None,
                     quantizer=None)
    if graph.out_degree(node_id) == 0:
      graph.add_edge(node_id, SINK, shape=None, tensor=None, quantizer=None)
  graph.nodes.setdefault(SOURCE, {"layer": [None], "type": ["SOURCE"],
                                  "out_quantizer": None})
  graph.nodes.setdefault(SINK, {"layer": [None], "type": ["SINK"],
                                "out_quantizer": None})


def GraphRemoveNode(graph, v):  # pylint: disable=invalid-name
  """Removes node ``v``, connecting each predecessor to each successor
  (the new edges take the attributes of ``v``'s outgoing edges; a model
  input's source quantizer is kept)."""
  predecessors = graph.predecessors(v)
  successors = graph.successors(v)
  incoming = {u: dict(graph.edges[(u, v)]) for u in predecessors}
  outgoing = {w: dict(graph.edges[(v, w)]) for w in successors}
  graph.remove_node(v)
  for u in predecessors:
    for w in successors:
      attrs = dict(outgoing[w])
      if incoming[u].get("quantizer") is not None:
        attrs["quantizer"] = incoming[u]["quantizer"]
      graph.add_edge(u, w, **attrs)


def GraphRemoveNodeWithNodeType(graph, node_type):  # pylint: disable=invalid-name
  for node_id in [n for n, attrs in graph.nodes.items()
                  if attrs.get("type", [None])[-1] == node_type]:
    GraphRemoveNode(graph, node_id)


def _output_quantizer(layer):
  """The quantizer a layer puts on its output edges (None: computed)."""
  if layer is None:
    return None
  if type(layer).__name__ in ("QActivation", "QAdaptiveActivation"):
    return layer.quantizer
  activation = getattr(layer, "activation", None)
  if activation is None or getattr(activation, "__name__", "") == "linear":
    return None
  return activation


def GraphPropagateActivationsToEdges(graph, debug=False):  # pylint: disable=invalid-name
  """Puts every layer's activation (QActivation: its quantizer) on its
  outgoing edges and in the node's ``out_quantizer``."""
  for node_id in graph.topological_sort():
    layer = graph.nodes[node_id]["layer"][0]
    if layer is None:
      continue
    quantizer = _output_quantizer(layer)
    graph.nodes[node_id]["out_quantizer"] = quantizer
    for edge in graph.edges(node_id):
      graph.edges[edge]["quantizer"] = quantizer
    if debug:
      print(layer.name, quantizer)


def GraphUpdateEdge(graph, node_id, quantizer_on_edge):  # pylint: disable=invalid-name
  """Sets the quantizer of every outgoing edge of ``node_id``."""
  for edge in graph.edges(node_id):
    graph.edges[edge]["quantizer"] = quantizer_on_edge


def GraphGetInputs(graph):  # pylint: disable=invalid-name
  """The layers fed by SOURCE."""
  return [graph.nodes[v]["layer"][0] for v in graph.successors(SOURCE)
          if v != SINK]


def GraphGetOutputs(graph):  # pylint: disable=invalid-name
  """The layers feeding SINK."""
  return [graph.nodes[u]["layer"][0] for u in graph.predecessors(SINK)
          if u != SOURCE]


def PrintGraph(graph, msg=""):  # pylint: disable=invalid-name
  print("************ " + msg + " ************")
  for node_id in graph.topological_sort():
    layer = graph.nodes[node_id]["layer"][0]
    name = layer.name if layer is not None else graph.nodes[node_id]["type"][0]
    print(node_id, name, "->", graph.successors(node_id))


def CreateGraph(model, input_quantizers=None,  # pylint: disable=invalid-name
                default_source_quantizer=None, debug=False):
  """``(graph, source_quantizer_list)`` for ``model`` without Dropout and
  InputLayer nodes. Unlike QKeras, no global Keras setting is changed
  (QKeras forced ``image_data_format("channels_last")``)."""
  if default_source_quantizer is None:
    default_source_quantizer = settings.cfg.default_source_quantizer
  graph, source_quantizers = GenerateGraphFromModel(
      model, input_quantizers, default_source_quantizer)
  GraphRemoveNodeWithNodeType(graph, "Dropout")
  GraphRemoveNodeWithNodeType(graph, "InputLayer")
  if debug:
    PrintGraph(graph, "CreateGraph")
  return graph, source_quantizers
