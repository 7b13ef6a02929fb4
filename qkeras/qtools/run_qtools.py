# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QTools``: the data-type map and the energy of a model
(QKeras's ``qtools.run_qtools``)."""

import json
import logging

import numpy as np

from qkeras import _atomic
from qkeras.qtools import config_public
from qkeras.qtools import generate_layer_data_type_map as datatype_map
from qkeras.qtools import interface
from qkeras.qtools import qgraph
from qkeras.qtools import qtools_util
from qkeras.qtools.qenergy import qenergy
from qkeras.qtools.settings import cfg

logger = logging.getLogger(__name__)

WEIGHTS_ON_MEMORY = ("dram", "sram", "fixed")
ACTIVATIONS_ON_MEMORY = ("dram", "sram", "fixed")


class QTools:
  """The data types and energy of ``model``.

  Args:
    model: a built Keras model (functional, Sequential, nested).
    process: the energy model: ``"horowitz"`` (45 nm, ISSCC 2014).
    source_quantizers: the type of each model input (a quantizer, a
      quantizer string such as ``"quantized_bits(8,0,1)"``, "int8", ...; one
      per input, or one for all); default ``quantized_bits(8, 0, 1)``.
    is_inference: po2 weights record their distinct values (shifters).
    weights_path: weights loaded into ``model`` first (``load_weights``).
    keras_quantizer / keras_accumulator: the weight / arithmetic types of
      plain Keras layers ("int8", "fp32", a quantizer string, ...).
    for_reference: describe the model as unquantized (every layer with
      ``keras_quantizer`` / ``keras_accumulator``), to compare with.
    model_weights_already_quantized, hw_weight_dict: as QKeras (the
      result of ``model_save_quantized_weights`` describes batch norms fused
      into the preceding layer).
  """

  def __init__(self, model, process="horowitz", source_quantizers=None,
               is_inference=False, weights_path=None, keras_quantizer=None,
               keras_accumulator=None, for_reference=False,
               model_weights_already_quantized=True, hw_weight_dict=None):
    self._model = model
    if weights_path is not None:
      model.load_weights(weights_path)
    cfg.update(process, config_public.config_settings)
    (self._graph, source_quantizer_list,
     self._layer_map) = datatype_map.model_data_type_map(
         model, source_quantizers, cfg.default_source_quantizer,
         is_inference=is_inference, keras_quantizer=keras_quantizer,
         keras_accumulator=keras_accumulator, for_reference=for_reference,
         model_weights_already_quantized=model_weights_already_quantized,
         hw_weight_dict=hw_weight_dict)
    self._output_dict = interface.map_to_json(self._layer_map)
    self.source_quantizer_list = source_quantizer_list

  @property
  def layer_map(self):
    return self._layer_map

  @property
  def output_dict(self):
    """The data-type map as JSON-able dicts."""
    return self._output_dict

  def qtools_stats_to_json(self, json_name):
    """Writes the data-type map to ``json_name`` (indent 4), all or nothing
    (a temporary file renamed onto it: a failure leaves an existing file)."""
    _atomic.write_text(json_name, json.dumps(self._output_dict, indent=4))

  def qtools_stats_print(self):
    """Prints the data-type map as JSON (indent 4)."""
    print(json.dumps(self._output_dict, indent=4))

  def pe(self, weights_on_memory="dram", activations_on_memory="dram",
         min_sram_size=0, rd_wr_on_io=True, verbose=False):
    """Energy per layer (pJ): ``{layer: {"class_name", "energy": {"inputs",
    "outputs", "parameters", "op_cost"}, "total_cost"}}``.

    ``weights_on_memory`` / ``activations_on_memory``: where they are read
    from ("dram", "sram" or "fixed" = free); ``min_sram_size``: the smallest
    SRAM (bits) the read cost is computed for; ``rd_wr_on_io``: the model's
    input and output go through DRAM.
    """
    for argument, value in (("weights_on_memory", weights_on_memory),
                            ("activations_on_memory", activations_on_memory)):
      if value not in WEIGHTS_ON_MEMORY:
        raise ValueError(f"QTools.pe: argument {argument!r} must be one of "
                         f"{', '.join(WEIGHTS_ON_MEMORY)}, got {value!r}.")
    energy = qenergy.energy_estimate(self._model, self._layer_map,
                                     weights_on_memory, activations_on_memory,
                                     min_sram_size, rd_wr_on_io)
    if verbose:
      print("COST:")
      print(json.dumps(energy, indent=4))
    return energy

  @staticmethod
  def _selected(cfg_setting, entry):
    keys = cfg_setting.get(entry["class_name"], cfg_setting.get("default", []))
    return sum(entry["energy"][key] for key in keys)

  def extract_energy_sum(self, cfg_setting, energy_dict):
    """Sum over layers of the energy parts ``cfg_setting`` selects per
    layer class (``qtools_settings.cfg.include_energy``), as an int."""
    return int(sum(self._selected(cfg_setting, entry)
                   for name, entry in energy_dict.items()
                   if name != "total_cost"))

  def extract_energy_profile(self, cfg_setting, energy_dict):
    """``{layer: {"energy": {...}, "total": selected sum}}``."""
    return {name: {"energy": entry["energy"],
                   "total": self._selected(cfg_setting, entry)}
            for name, entry in energy_dict.items() if name != "total_cost"}

  # -- roofline numbers ------------------------------------------------------

  def _weight_entries(self):
    for layer, entry in self._layer_map["layer_data_type_map"].items():
      entry = entry._asdict() if hasattr(entry, "_asdict") else entry
      if entry.get("weight_quantizer") is not None:
        yield layer, entry

  def calculate_ace(self, default_float_bits):
    """``(ACE, ACE_float)``: the sum over conv/dense layers of operations x
    input bits x weight bits, and the same with ``default_float_bits``."""
    logger.info("ACE are computed from conv/dense layers only!")
    ace, ace_float = 0, 0
    for _, entry in self._weight_entries():
      count = entry["operation_count"]
      input_bits = entry["input_quantizer_list"][0].bits
      ace += count * input_bits * entry["weight_quantizer"].bits
      ace_float += count * default_float_bits ** 2
    return int(ace), int(ace_float)

  def calculate_output_bytes(self, include_model_input_size,
                             default_float_bits):
    """``(bytes, float bytes)`` of the QActivation outputs (and of the model
    input with its source quantizer when ``include_model_input_size``)."""
    total, total_float = 0.0, 0.0
    for layer, entry in self._layer_map["layer_data_type_map"].items():
      entry = entry._asdict() if hasattr(entry, "_asdict") else entry
      if type(layer).__name__ in ("QActivation", "QAdaptiveActivation"):
        size = qtools_util.size(entry["output_shapes"])
        total += size * entry["output_quantizer"].bits / 8
        total_float += size * default_float_bits / 8
    if include_model_input_size:
      for layer in self._layer_map["input_layers"]:
        entry = self._layer_map["layer_data_type_map"][layer]
        entry = entry._asdict() if hasattr(entry, "_asdict") else entry
        edge_shape = _input_shape(self._graph, layer)
        size = qtools_util.size(edge_shape)
        total += size * entry["input_quantizer_list"][0].bits / 8
        total_float += size * default_float_bits / 8
    return total, total_float

  def calculate_weight_bytes(self, default_float_bits):
    """``(bytes, float bytes)`` of the conv/dense weights and biases."""
    total, total_float = 0.0, 0.0
    for layer, entry in self._weight_entries():
      weights = layer.get_weights()
      count_w = int(np.prod(weights[0].shape))
      count_b = int(np.prod(weights[1].shape)) if len(weights) > 1 and (
          getattr(layer, "use_bias", False)) else 0
      bias_bits = (entry["bias_quantizer"].bits
                   if entry["bias_quantizer"] is not None else 0)
      total += (count_w * entry["weight_quantizer"].bits +
                count_b * bias_bits) / 8
      total_float += (count_w + count_b) * default_float_bits / 8
    return total, total_float

  def get_roofline_numbers(self, include_model_input_size=True,
                           default_float_bits=32):
    ace, ace_float = self.calculate_ace(default_float_bits)
    activation, activation_float = self.calculate_output_bytes(
        include_model_input_size, default_float_bits)
    weight, weight_float = self.calculate_weight_bytes(default_float_bits)
    return {"ACE": ace, "weight_in_bytes": weight,
            "activation_in_bytes": activation, "ACE_float": ace_float,
            "weight_in_bytes_float": weight_float,
            "activation_in_bytes_float": activation_float}


def _input_shape(graph, layer):
  for (u, v), edge in ((e, graph.edges[e]) for e in graph.edges):
    node_layer = graph.nodes[v]["layer"][0]
    if u == qgraph.SOURCE and node_layer is layer:
      return edge["shape"]
  return (None,)
