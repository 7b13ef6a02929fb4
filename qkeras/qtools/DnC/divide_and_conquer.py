# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Divide-and-conquer hardware cost of a quantized model (QKeras's
``qtools.DnC.divide_and_conquer``).

    best_path, best_cost = estimate_model_cost(model)

The model is read as a streaming pipeline. Each *compute layer* (QDense,
QConv1D, QConv2D, QDepthwiseConv2D, their folded-batchnorm forms and the
Keras Dense/Conv1D/Conv2D/DepthwiseConv2D) becomes a processing element (PE)
of ``cin_unroll * cout_unroll * kh_unroll * kw_unroll`` MAC units, an input
register ``InElementPerClk`` elements wide, an output register
``OutElementPerClk`` elements wide and a ROM holding its kernel. Its cost in
gates (``CostMode.ACE``, constants in ``dnc_layer_cost_ace``) is::

  cost = max(mac_gates(x, w, a), 0) * cin_u * cout_u * kh_u * kw_u
         + InElementPerClk * x * 10          (register, 10 gates per bit)
         + OutElementPerClk * o * 10         (register)
         + prod(kernel_shape) * w * 0.1      (ROM, 0.1 gate per bit)

with ``x, w, a, o`` the input, weight, accumulator and output bits of the
layer in QTools's data-type map (``generate_layer_data_type_map``; a layer
without an activation outputs its accumulator; float is 32 bits).

Throughput. A layer's MAC dimensions ``(cin, cout, kh, kw)`` are Dense
``(ci, co, 1, 1)``, Conv1D ``(ci / groups, co, 1, k)``, Conv2D
``(ci / groups, co, kh, kw)``, DepthwiseConv2D ``(ci, multiplier, kh, kw)``;
``M = cin * cout * kh * kw`` MACs make one *output position* (one spatial
location with all its channels; for Dense, the output vector). A PE does
``cin_u * cout_u * kh_u * kw_u`` MACs per clock, so its throughput is::

  pe_throughput = cin_u * cout_u * kh_u * kw_u / M   output positions / clock

Every unroll factor is a divisor of its dimension
(``qtools_util.find_divisors``), and a choice is valid when
``pe_throughput >= target_out_throughput`` (T).

Interfaces. Consecutive compute layers ``a -> b`` share one stream of ``E``
elements per clock (a's OutElementPerClk is b's InElementPerClk), with::

  E >= T * out_per_position(a)      a's output channels, T positions / clock
  E >= T * in_per_position(b)       b's input size / b's output positions
  E >= pe_throughput(a) * out_per_position(a) / compute_to_memory_max_ratio
  E <= memory_to_unroll_max_ratio * cin_unroll(b)

The model's input stream is ``ceil(T * in_per_position)`` of the first
compute layer; the last compute layer's OutElementPerClk is
``target_OutElementPerClk`` (which must meet the lower bounds above).

Search. Every cost term grows with ``E`` and the only upper bound on it is
the last one, so the narrowest integer ``E`` (the ceiling of the largest
lower bound) is always the best width for a given pair of unrolls. The best
path is then found exactly by dynamic programming over the chain of compute
layers: the state is the width of the stream entering a layer, and for each
state the cheapest upstream path is kept (Viterbi). ``best_cost`` is the sum
of the layer costs on the cheapest path.

Decisions where QKeras's description is silent (also listed in
docs/compat.md):

* ``target_out_throughput`` holds for every compute layer on its own output
  positions; it is not rescaled across pooling/upsampling/strides. Unrolling
  covers channels and kernel only (no spatial unrolling), so T > 1 cannot be
  met and raises ValueError.
* Layers without MACs (activations, batch normalization, QScaleShift,
  pooling, flatten, reshape, upsampling, padding, ...) are zero-cost
  pass-throughs, as in QTools's ACE ("computed from conv/dense layers
  only"); they appear in ``best_path`` with cost 0.
* Only single-input, single-output chains are supported; merge layers and
  weight layers without a MAC model here (separable, transposed, recurrent,
  octave convolutions, ...) raise NotImplementedError.
* The bias is not counted (the formula has the kernel only); the MAC cost is
  clipped at 0 where the fitted polynomial goes negative (tiny bit widths).
* Ties go to the first choice in the order cin_unroll, cout_unroll,
  kh_unroll, kw_unroll ascending; widths are whole elements per clock.
* Only ``CostMode.ACE`` is implemented; PE_AREA and PE_BW_AREA raise
  NotImplementedError (QKeras implements ACE only).
"""

import enum
import itertools
import math

import numpy as np

from qkeras.qtools import generate_layer_data_type_map as data_type_map
from qkeras.qtools import qgraph
from qkeras.qtools import qtools_util
from qkeras.qtools.DnC import dnc_layer_cost_ace

__all__ = ["CostMode", "DivideConquerGraph", "estimate_model_cost",
           "get_mac_dims", "get_pe_throughput", "get_valid_unrolls",
           "get_per_layer_cost", "COMPUTE_LAYERS"]

# Layers with a MAC model (get_mac_dims reads their kernel).
COMPUTE_LAYERS = ("QDense", "Dense", "QConv1D", "Conv1D",
                  "QConv2D", "Conv2D", "QConv2DBatchnorm", "QDepthwiseConv2D",
                  "DepthwiseConv2D", "QDepthwiseConv2DBatchnorm")

# Layers with weights that are costed as pass-throughs (no MACs).
_PASS_THROUGH_WEIGHT_LAYERS = ("QBatchNormalization", "BatchNormalization",
                               "QScaleShift", "QActivation",
                               "QAdaptiveActivation", "Activation")

# Relative tolerance of the throughput and width comparisons.
_EPS = 1e-9


class CostMode(enum.Enum):
  """How a layer is costed (only ACE is implemented)."""
  ACE = 1         # gates of MACs, interface registers and weight ROM
  PE_AREA = 2     # PE area only (QKeras: not implemented either)
  PE_BW_AREA = 3  # PE area and memory bandwidth (QKeras: not implemented)


def _check_mode(mode):
  """``mode`` as a CostMode; NotImplementedError unless it is ACE."""
  try:
    mode = CostMode(mode.value if isinstance(mode, CostMode) else mode)
  except ValueError:
    raise ValueError(f"Unknown cost mode {mode!r}; expected one of "
                     f"{[m.name for m in CostMode]}.") from None
  if mode != CostMode.ACE:
    raise NotImplementedError(
        f"{mode} is not implemented; only CostMode.ACE is.")
  return mode


class DivideConquerGraph:
  """The QTools layer graph of a model with its data-type map.

  Nodes are ``qgraph`` ids (``qgraph.SOURCE`` / ``qgraph.SINK`` for the model
  input / output, 0.. for layers); bit widths come from
  ``generate_layer_data_type_map`` (not for reference, not inference).
  """

  def __init__(self, model, source_quantizers=None):
    """Args:
      model: a built functional or Sequential Keras model.
      source_quantizers: the model input quantizer(s) (QKeras quantizer,
        quantizer string or a list with one per input); None: QTools's
        default source quantizer.
    """
    self._model = model
    (self._graph, self._source_quantizer_list,
     self._layer_map) = data_type_map.model_data_type_map(
         model, source_quantizers, is_inference=False, keras_quantizer=None,
         keras_accumulator=None, for_reference=False)
    self._order = self._graph.topological_sort()

  @property
  def graph(self):
    return self._graph

  @property
  def source_quantizer_list(self):
    return self._source_quantizer_list

  def topological_order(self):
    """Node ids, SOURCE first and SINK last."""
    return list(self._order)

  def idx_to_layer(self, node):
    """The Keras layer of node id ``node`` (None for SOURCE/SINK)."""
    return self._graph.nodes[node]["layer"][0]

  def layer_to_idx(self, layer):
    """The node id of ``layer``."""
    ids = [n for n in self._order if self.idx_to_layer(n) is layer]
    if len(ids) != 1:
      raise ValueError(f"Layer {getattr(layer, 'name', layer)!r} is not a "
                       "node of the graph.")
    return ids[0]

  def get_first_node(self):
    return qgraph.SOURCE

  def get_last_node(self):
    return qgraph.SINK

  def is_first_node(self, node):
    return node == qgraph.SOURCE

  def is_last_node(self, node):
    return node == qgraph.SINK

  def get_prev_nodes(self, node):
    return self._graph.predecessors(node)

  def get_next_nodes(self, node):
    return self._graph.successors(node)

  def _entry(self, node):
    """The data-type map entry of node ``node`` as a dict."""
    entry = self._layer_map["layer_data_type_map"][self.idx_to_layer(node)]
    return entry if isinstance(entry, dict) else entry._asdict()

  def get_layer_quantizer_bitwidth(self, node):
    """``{"input_bits", "weight_bits", "acc_bits", "output_bits"}`` of a
    node (None where the layer has no such part); SOURCE: the source
    quantizer's bits as "output_bits"."""
    if self.is_first_node(node):
      return {"input_bits": None, "weight_bits": None, "acc_bits": None,
              "output_bits": self._source_quantizer_list[0].bits}
    entry = self._entry(node)
    inputs = entry.get("input_quantizer_list") or [None]
    accumulator = entry.get("accumulator")
    return {"input_bits": _bits(inputs[0]),
            "weight_bits": _bits(entry.get("weight_quantizer")),
            "acc_bits": _bits(accumulator.output if accumulator else None),
            "output_bits": _bits(entry.get("output_quantizer"))}

  def get_layer_mac_count(self, node):
    """QTools's operation count of the node's layer (whole output)."""
    return int(self._entry(node).get("operation_count") or 0)

  def get_layer_shapes(self, node):
    """``{"input_shape", "output_shape", "weight_shape"}`` (batch first;
    weight_shape: the kernel's, None without one)."""
    input_shape = self._graph.edges[(self.get_prev_nodes(node)[0],
                                     node)]["shape"]
    output_shape = (self._graph.edges[(node, self.get_next_nodes(node)[0])]
                    ["shape"])
    kernel = _kernel(self.idx_to_layer(node))
    weight_shape = None if kernel is None else tuple(int(d) for d in
                                                     kernel.shape)
    return {"input_shape": tuple(input_shape),
            "output_shape": tuple(output_shape),
            "weight_shape": weight_shape}

  def is_compute_node(self, node):
    """Whether the node's layer has a MAC model (``COMPUTE_LAYERS``)."""
    layer = self.idx_to_layer(node)
    return layer is not None and type(layer).__name__ in COMPUTE_LAYERS


def _bits(quantizer):
  return None if quantizer is None else int(quantizer.bits)


def _kernel(layer):
  """The layer's kernel variable (depthwise kernel for DepthwiseConv)."""
  kernel = getattr(layer, "depthwise_kernel", None)
  return kernel if kernel is not None else getattr(layer, "kernel", None)


def get_mac_dims(layer):
  """``(cin, cout, kh, kw)``: the MACs of one output position are
  ``cin * cout * kh * kw`` (see the module docstring for each layer)."""
  shape = tuple(int(d) for d in _kernel(layer).shape)
  if getattr(layer, "depthwise_kernel", None) is not None:
    kh, kw, ci, multiplier = shape
    return ci, multiplier, kh, kw
  if len(shape) == 2:
    return shape[0], shape[1], 1, 1
  if len(shape) == 3:
    return shape[1], shape[2], 1, shape[0]
  return shape[2], shape[3], shape[0], shape[1]


def get_pe_throughput(mac_dims, unroll):
  """Output positions per clock: ``prod(unroll) / prod(mac_dims)``."""
  return float(np.prod(unroll)) / float(np.prod(mac_dims))


def get_valid_unrolls(mac_dims, target_pe_throughput):
  """All ``(cin_u, cout_u, kh_u, kw_u)``, each a divisor of its dimension,
  with ``get_pe_throughput >= target_pe_throughput``, in ascending
  lexicographic order."""
  divisors = [qtools_util.find_divisors(d) for d in mac_dims]
  return [u for u in itertools.product(*divisors)
          if get_pe_throughput(mac_dims, u) >=
          target_pe_throughput * (1 - _EPS)]


def _ceil(value):
  """The smallest integer >= value (values a hair above one count as it)."""
  return int(math.ceil(value * (1 - _EPS)))


def get_per_layer_cost(bits, weight_count, unroll, in_element_per_clk,
                       out_element_per_clk, mode=CostMode.ACE):
  """The gate cost of one compute layer, by part.

  Args:
    bits: ``{"input_bits", "weight_bits", "acc_bits", "output_bits"}``.
    weight_count: ``prod(kernel_shape)``.
    unroll: ``(cin_u, cout_u, kh_u, kw_u)``.
    in_element_per_clk: input register width in elements.
    out_element_per_clk: output register width in elements.
    mode: only CostMode.ACE.

  Returns:
    ``{"mac_gates", "pe_cost", "in_memory_cost", "out_memory_cost",
    "weight_memory_cost", "cost"}`` with
    ``pe_cost = max(mac_gates, 0) * prod(unroll)``,
    ``in/out_memory_cost = width * bits * MemoryGatesPerBit["Register"]``,
    ``weight_memory_cost = weight_count * weight_bits *
    MemoryGatesPerBit["ROM"]`` and ``cost`` their sum.
  """
  _check_mode(mode)
  ace = dnc_layer_cost_ace
  mac_gates = ace.get_ace_mac_gates(bits["input_bits"], bits["weight_bits"],
                                    bits["acc_bits"])
  parts = {
      "mac_gates": mac_gates,
      "pe_cost": max(mac_gates, 0.0) * float(np.prod(unroll)),
      "in_memory_cost": ace.get_memory_gates(
          in_element_per_clk * bits["input_bits"], ace.REGISTER),
      "out_memory_cost": ace.get_memory_gates(
          out_element_per_clk * bits["output_bits"], ace.REGISTER),
      "weight_memory_cost": ace.get_memory_gates(
          weight_count * bits["weight_bits"], ace.ROM),
  }
  parts["cost"] = (parts["pe_cost"] + parts["in_memory_cost"] +
                   parts["out_memory_cost"] + parts["weight_memory_cost"])
  return parts


def _chain(dnc_graph):
  """The layer nodes from SOURCE to SINK; NotImplementedError unless the
  graph is one chain and every weight layer has a MAC model."""
  graph = dnc_graph.graph
  nodes = [n for n in dnc_graph.topological_order()
           if n not in (qgraph.SOURCE, qgraph.SINK)]
  for node in [qgraph.SOURCE] + nodes + [qgraph.SINK]:
    fan_in = graph.in_degree(node) if node != qgraph.SOURCE else 1
    fan_out = graph.out_degree(node) if node != qgraph.SINK else 1
    if fan_in != 1 or fan_out != 1:
      layer = dnc_graph.idx_to_layer(node)
      name = graph.nodes[node]["type"][0] if layer is None else layer.name
      raise NotImplementedError(
          "estimate_model_cost supports single-input, single-output chains "
          f"of layers only; {name!r} has {fan_in} input(s) and {fan_out} "
          "output(s).")
  for node in nodes:
    layer = dnc_graph.idx_to_layer(node)
    name = type(layer).__name__
    if (not dnc_graph.is_compute_node(node) and layer.weights and
        name not in _PASS_THROUGH_WEIGHT_LAYERS):
      raise NotImplementedError(
          f"estimate_model_cost has no MAC model for {name} "
          f"({layer.name}); supported: {', '.join(COMPUTE_LAYERS)}.")
  return nodes


class _LayerSpec:
  """What the search needs of one compute layer."""

  def __init__(self, dnc_graph, node):
    self.node = node
    self.layer = dnc_graph.idx_to_layer(node)
    self.bits = dnc_graph.get_layer_quantizer_bitwidth(node)
    shapes = dnc_graph.get_layer_shapes(node)
    self.mac_dims = get_mac_dims(self.layer)
    self.weight_count = int(np.prod(shapes["weight_shape"]))
    output_shape = shapes["output_shape"]
    channel_axis = (1 if getattr(self.layer, "data_format", None) ==
                    "channels_first" else -1)
    # Output positions: the output size over its channels (Dense on a
    # vector: 1).
    self.out_per_position = int(output_shape[channel_axis])
    positions = qtools_util.size(output_shape) / self.out_per_position
    self.in_per_position = qtools_util.size(shapes["input_shape"]) / positions


def _initial_states(first, target):
  """``{width: (cost, back)}`` of the model's input stream."""
  return {_ceil(target * first.in_per_position): (0.0, None)}


def _layer_transitions(spec, states, target, out_width, is_last,
                       compute_to_memory_max_ratio,
                       memory_to_unroll_max_ratio, mode):
  """The cheapest cost per output width after ``spec``'s layer.

  Args:
    spec: the layer's _LayerSpec.
    states: ``{in_width: (cost so far, back pointer)}``.
    target: target_out_throughput.
    out_width: the narrowest output width the next layer allows (the last
      layer: target_OutElementPerClk).
    is_last: whether the output width is fixed to ``out_width``.
    compute_to_memory_max_ratio: see estimate_model_cost.
    memory_to_unroll_max_ratio: see estimate_model_cost.
    mode: CostMode.

  Returns:
    ``{out_width: (cost so far, back pointer)}``, the back pointer being
    ``(in_width, choice dict, previous back pointer)``.
  """
  result = {}
  unrolls = get_valid_unrolls(spec.mac_dims, target)
  if not unrolls:
    raise ValueError(
        f"Layer {spec.layer.name}: no unroll of its MAC dimensions "
        f"{spec.mac_dims} reaches target_out_throughput={target} output "
        "positions per clock (a full unroll gives 1).")
  for in_width, (cost_so_far, back) in states.items():
    for unroll in unrolls:
      if in_width > memory_to_unroll_max_ratio * unroll[0] * (1 + _EPS):
        continue
      throughput = get_pe_throughput(spec.mac_dims, unroll)
      compute_out = throughput * spec.out_per_position
      if is_last:
        width = out_width
        if compute_out > compute_to_memory_max_ratio * width * (1 + _EPS):
          continue
      else:
        width = max(out_width,
                    _ceil(compute_out / compute_to_memory_max_ratio))
      parts = get_per_layer_cost(spec.bits, spec.weight_count, unroll,
                                 in_width, width, mode)
      cost = cost_so_far + parts["cost"]
      if width not in result or cost < result[width][0]:
        choice = dict(zip(("cin_unroll", "cout_unroll", "kh_unroll",
                           "kw_unroll"), unroll))
        choice.update(InElementPerClk=in_width, OutElementPerClk=width,
                      pe_throughput=throughput, **parts)
        result[width] = (cost, (in_width, choice, back))
  if not result:
    raise ValueError(
        f"Layer {spec.layer.name}: no unroll meets the interface limits "
        f"(input widths {sorted(states)}, memory_to_unroll_max_ratio="
        f"{memory_to_unroll_max_ratio}, compute_to_memory_max_ratio="
        f"{compute_to_memory_max_ratio}).")
  return result


def _unwind(back):
  """The choices of a back-pointer chain, first layer first."""
  choices = []
  while back is not None:
    _, choice, back = back
    choices.append(choice)
  return choices[::-1]


# QKeras's argument names (target_OutElementPerClk).
# pylint: disable=invalid-name
def calc_hw_params(dnc_graph, target_OutElementPerClk, target_out_throughput,
                   compute_to_memory_max_ratio=4,
                   memory_to_unroll_max_ratio=4, mode=CostMode.ACE):
  """``(best_path, best_cost)`` of a DivideConquerGraph (see
  estimate_model_cost)."""
  _check_mode(mode)
  if not target_out_throughput > 0:
    raise ValueError("target_out_throughput must be > 0, got "
                     f"{target_out_throughput}.")
  nodes = _chain(dnc_graph)
  specs = [_LayerSpec(dnc_graph, n) for n in nodes
           if dnc_graph.is_compute_node(n)]
  if not specs:
    raise ValueError("estimate_model_cost: the model has no layer with a "
                     f"MAC model ({', '.join(COMPUTE_LAYERS)}).")
  last = specs[-1]
  needed = target_out_throughput * last.out_per_position
  if target_OutElementPerClk < needed * (1 - _EPS):
    raise ValueError(
        f"target_OutElementPerClk={target_OutElementPerClk} is below the "
        f"{needed:g} elements per "
        f"clock that layer {last.layer.name} outputs at "
        f"target_out_throughput={target_out_throughput}.")
  states = _initial_states(specs[0], target_out_throughput)
  for i, spec in enumerate(specs):
    is_last = i == len(specs) - 1
    if is_last:
      out_width = target_OutElementPerClk
    else:
      out_width = _ceil(target_out_throughput * max(
          spec.out_per_position, specs[i + 1].in_per_position))
    states = _layer_transitions(
        spec, states, target_out_throughput, out_width, is_last,
        compute_to_memory_max_ratio, memory_to_unroll_max_ratio, mode)
  best_cost, back = states[target_OutElementPerClk]
  choices = dict(zip((s.node for s in specs), _unwind(back)))
  best_path = {}
  for node in nodes:
    layer = dnc_graph.idx_to_layer(node)
    entry = {"layer_type": type(layer).__name__}
    if node in choices:
      entry.update(dnc_graph.get_layer_quantizer_bitwidth(node))
      entry.update(choices[node])
    else:
      entry["cost"] = 0.0
    best_path[layer.name] = entry
  return best_path, float(best_cost)


def estimate_model_cost(model, input_quantizer_bits=8,
                        target_OutElementPerClk=10, target_out_throughput=1.0,
                        compute_to_memory_max_ratio=4,
                        memory_to_unroll_max_ratio=4, mode=CostMode.ACE):
  """The cheapest hardware for ``model`` and its gate cost.

  Args:
    model: a built Keras model, a single-input single-output chain of layers
      (QKeras layers give their quantizers' bit widths; Keras layers are
      32-bit float).
    input_quantizer_bits: bits of the model input
      (``quantized_bits(input_quantizer_bits, 0, 1)``).
    target_OutElementPerClk: width of the model's output stream (elements
      per clock).
    target_out_throughput: output positions per clock every compute layer
      must reach (0 < T <= 1).
    compute_to_memory_max_ratio: at most this many output elements per
      clock of a PE per element of its output register.
    memory_to_unroll_max_ratio: at most this many input register elements
      per unrolled input channel.
    mode: CostMode.ACE (the others raise NotImplementedError).

  Returns:
    ``(best_path, best_cost)``: ``best_path`` maps each layer name, in
    graph order, to a dict: for compute layers ``layer_type``, the bit
    widths (``input_bits``, ``weight_bits``, ``acc_bits``, ``output_bits``),
    the unroll factors (``cin_unroll``, ``cout_unroll``, ``kh_unroll``,
    ``kw_unroll``), ``InElementPerClk``, ``OutElementPerClk``,
    ``pe_throughput`` and the cost parts of ``get_per_layer_cost``; for the
    other layers ``layer_type`` and ``cost`` 0. ``best_cost`` is the sum of
    the costs (gates).
  """
  _check_mode(mode)
  dnc_graph = DivideConquerGraph(
      model, source_quantizers=f"quantized_bits({int(input_quantizer_bits)}"
      ", 0, 1)")
  return calc_hw_params(dnc_graph, target_OutElementPerClk,
                        target_out_throughput, compute_to_memory_max_ratio,
                        memory_to_unroll_max_ratio, mode)
