"""Tests for qkeras.qtools: the graph, the data-type map, QTools, the CLI
and the examples."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from qkeras import QActivation
from qkeras import QAveragePooling2D
from qkeras import QBatchNormalization
from qkeras import QConv2D
from qkeras import QDense
from qkeras import QDepthwiseConv2D
from qkeras import QGlobalAveragePooling2D
from qkeras import quantized_bits
from qkeras.qtools import QTools
from qkeras.qtools import qgraph
from qkeras.qtools import settings as qtools_settings

L = keras.layers
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _names(graph, ids):
  return sorted(graph.nodes[i]["layer"][0].name for i in ids
                if i not in (qgraph.SOURCE, qgraph.SINK))


# ---------------------------------------------------------------------------
# Graph
# ---------------------------------------------------------------------------


def test_graph_of_a_functional_model_with_merges_and_dropout():
  x = L.Input((4,), name="x")
  a = L.Dense(3, name="a")(x)
  b = L.Dropout(0.5, name="drop")(a)
  c = L.Dense(3, name="c")(x)
  y = L.Add(name="add")([b, c])
  model = keras.Model(x, y)
  graph, sources = qgraph.CreateGraph(model, "quantized_bits(6,0,1)")
  assert len(sources) == 1 and sources[0].bits == 6
  by_name = {a["layer"][0].name: n for n, a in graph.nodes.items()
             if a["layer"][0] is not None}
  assert set(by_name) == {"a", "c", "add"}  # no InputLayer, no Dropout
  assert _names(graph, graph.successors(qgraph.SOURCE)) == ["a", "c"]
  assert _names(graph, graph.predecessors(by_name["add"])) == ["a", "c"]
  assert graph.edges[(by_name["a"], by_name["add"])]["shape"] == (None, 3)
  assert _names(graph, graph.predecessors(qgraph.SINK)) == ["add"]
  # The model inputs carry the source quantizer.
  edge = graph.edges[(qgraph.SOURCE, by_name["a"])]
  assert edge["quantizer"].bits == 6
  order = graph.topological_sort()
  assert order.index(by_name["a"]) < order.index(by_name["add"])


def test_graph_of_sequential_nested_and_multi_input_models():
  seq = keras.Sequential([L.Input((5,)), L.Dense(4, name="s1"),
                          L.Dense(2, name="s2")], name="seq")
  graph, _ = qgraph.CreateGraph(seq)
  assert _names(graph, graph.successors(qgraph.SOURCE)) == ["s1"]
  assert _names(graph, graph.predecessors(qgraph.SINK)) == ["s2"]

  inner = keras.Sequential([L.Input((3,)), L.Dense(3, name="inner_a"),
                            L.Dense(2, name="inner_b")], name="inner")
  x1 = L.Input((3,), name="x1")
  x2 = L.Input((2,), name="x2")
  y = L.Concatenate(name="cat")([inner(x1), x2])
  out1 = L.Dense(1, name="out1")(y)
  out2 = L.Dense(1, name="out2")(y)
  model = keras.Model([x1, x2], [out1, out2])
  graph, sources = qgraph.CreateGraph(
      model, ["quantized_bits(4,0,1)", "quantized_bits(6,0,1)"])
  assert [q.bits for q in sources] == [4, 6]
  names = {a["layer"][0].name: n for n, a in graph.nodes.items()
           if a["layer"][0] is not None}
  assert set(names) == {"inner_a", "inner_b", "cat", "out1", "out2"}
  assert _names(graph, graph.predecessors(names["cat"])) == ["inner_b"] or (
      qgraph.SOURCE in graph.predecessors(names["cat"]))
  assert qgraph.SOURCE in graph.predecessors(names["cat"])
  assert graph.edges[(qgraph.SOURCE, names["cat"])]["quantizer"].bits == 6
  assert graph.edges[(qgraph.SOURCE, names["inner_a"])]["quantizer"].bits == 4
  assert _names(graph, graph.predecessors(qgraph.SINK)) == ["out1", "out2"]


def test_graph_bad_input():
  model = keras.Sequential([L.Input((5,)), L.Dense(4)])
  with pytest.raises(qgraph.WrongInputQuantizerError,
                     match=r"Number of input \(1\).*source quantizers \(2\)"):
    qgraph.CreateGraph(model, ["quantized_bits(4)", "quantized_bits(4)"])
  with pytest.raises(ValueError, match="has not been built"):
    qgraph.CreateGraph(keras.Sequential([L.Dense(4)]))
