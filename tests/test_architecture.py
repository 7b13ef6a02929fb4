# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The package's floors (docs/architecture.md), checked on the source.

Every import between qkeras modules — at the top of a module or inside a
function — goes from a floor to the same floor or one below, and no set of
modules imports itself in a circle. Only the entry points (the package's
``__init__``, ``demo``, ``qtools.__main__`` and the example scripts shipped
inside the package) may import from anywhere.
"""

import ast
import pathlib

import pytest

import qkeras

PACKAGE = pathlib.Path(qkeras.__file__).parent

# Floors, bottom first (docs/architecture.md). A module belongs to the floor
# of the longest prefix listed here.
FLOORS = (
    ("foundations", ("_qmath", "_po2_table", "safe_eval", "_validate",
                     "registry", "_summary", "_install_check", "_atomic")),
    ("quantizers", ("base_quantizer", "_quantizer_args", "quantizer_registry",
                    "quantizers", "codebook", "quantizer_imports",
                    "experimental")),
    ("layers", ("qlayers", "_qlayer_base", "_inference_cache",
                "qconvolutional", "qpooling",
                "qnormalization", "qrecurrent", "qmac", "_bn_fold",
                "qconv2d_batchnorm", "qdepthwiseconv2d_batchnorm",
                "qdense_batchnorm", "qdepthwise_conv2d_transpose",
                "qseparable_conv2d_transpose", "qoctave", "b2t")),
    ("readers", ("_graph", "_export", "_convert", "_io")),
    ("tools", ("utils", "estimate", "bn_folding_utils", "qtools", "callbacks",
               "hls4ml_support", "_hls4ml_hook", "qonnx")),
    ("search", ("autoqkeras",)),
)
ENTRY_POINTS = ("", "demo", "qtools.__main__", "qtools.examples",
                "autoqkeras.examples")


def _module_name(path):
  parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
  if parts[-1] == "__init__":
    parts.pop()
  return ".".join(parts)


def _modules():
  return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _within(name, prefix):
  return name == prefix or name.startswith(prefix + ".")


def _floor(name):
  best, floor = -1, None
  for level, (_, prefixes) in enumerate(FLOORS):
    for prefix in prefixes:
      if _within(name, prefix) and len(prefix) > best:
        best, floor = len(prefix), level
  return floor


def _is_entry_point(name):
  return name == "" or any(_within(name, e) for e in ENTRY_POINTS if e)


def _imports(name, path, modules):
  """The qkeras modules ``name`` imports (anywhere in its source)."""
  found = set()
  package = name.split(".") if path.name == "__init__.py" else (
      name.split(".")[:-1])
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      targets = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
      if node.level:
        base = package[:len(package) - node.level + 1]
        module = ".".join([p for p in base if p] +
                          ([node.module] if node.module else []))
      else:
        module = node.module or ""
      targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in (
          "qkeras." + m for m in modules) else module for a in node.names]
    else:
      continue
    for target in targets:
      if target == "qkeras" or target.startswith("qkeras."):
        found.add(target[len("qkeras."):] if target != "qkeras" else "")
  found.discard(name)
  return {m for m in found if m in modules}


@pytest.fixture(scope="module")
def graph():
  modules = _modules()
  return {name: _imports(name, path, modules)
          for name, path in modules.items()}


def test_every_module_has_a_floor(graph):
  assert [m for m in graph
          if _floor(m) is None and not _is_entry_point(m)] == []


def test_imports_go_down_or_sideways(graph):
  upward = []
  for name, targets in graph.items():
    if _is_entry_point(name):
      continue
    for target in targets:
      if _is_entry_point(target) or _floor(target) > _floor(name):
        upward.append(f"{name} ({FLOORS[_floor(name)][0]}) imports "
                      f"{target or 'qkeras'}")
  assert upward == []


def test_no_import_cycle(graph):
  """Tarjan's strongly connected components over every import edge."""
  index, low, stack, on_stack, cycles = {}, {}, [], set(), []

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in graph[v]:
      if _is_entry_point(w) and w != v:
        continue
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        cycles.append(sorted(component))

  for v in sorted(graph):
    if v not in index and not _is_entry_point(v):
      visit(v)
  assert cycles == []


def test_only_graph_touches_keras_graph_internals():
  """Keras's private graph attributes are read in ``qkeras._graph`` only."""
  internals = ("_nodes_by_depth", "_inbound_nodes", "_outbound_nodes",
               "_keras_history", "parent_nodes")
  found = []
  for name, path in _modules().items():
    if name == "_graph":
      continue
    text = path.read_text()
    found += [f"{name}: {attr}" for attr in internals if attr in text]
  assert found == []


def test_library_code_does_not_import_the_facades(graph):
  """``qkeras.utils`` and ``qkeras.bn_folding_utils`` re-export QKeras's
  names for users; library modules import from the owning module."""
  facades = ("utils", "bn_folding_utils")
  found = [f"{name} imports {target}" for name, targets in graph.items()
           if not _is_entry_point(name) and name not in facades
           for target in targets if target in facades]
  assert found == []


@pytest.mark.parametrize("facade", ["utils", "bn_folding_utils"])
def test_facades_define_nothing(facade):
  """A façade module holds imports and ``__all__`` only."""
  tree = ast.parse((PACKAGE / f"{facade}.py").read_text())
  defined = [type(node).__name__ for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef,
                                  ast.AsyncFunctionDef))]
  assert defined == []
