# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""JSON view of the QTools data-type map (QKeras ``qtools.interface``).

``map_to_json(layer_map)`` gives::

  {"source_quantizers": [quantizer, ...],
   "<layer name>": {"layer_type": "<class>", "input_quantizer_list": [...],
                    "output_quantizer": {..., "shape": [-1, ...]},
                    ... the layer kind's formats ...,
                    "operation_count": n}, ...}

where a quantizer is ``populate_quantizer``'s dict. Every value is plain
JSON (Python ints, floats, bools, lists, strings).
"""

import collections

import numpy as np

from qkeras.qtools.quantized_operators import merge_factory
from qkeras.qtools.quantized_operators import quantizer_impl

MERGE_LAYERS = ("Add", "Multiply", "Subtract", "Average", "Maximum",
                "Minimum", "Concatenate", "Dot")

# The entry keys written, in output order (after "layer_type",
# "input_quantizer_list" and "output_quantizer"); _SHAPE_KEYS names the entry
# key holding the shape of a value. A compound value (multiplier,
# accumulator, adder, divider, merge) is written as its ``output`` format with
# ``op_type = implemented_as()``.
_FIELDS = (
    "gamma_quantizer", "beta_quantizer", "mean_quantizer",
    "variance_quantizer", "internal_divide_quantizer",
    "internal_multiplier", "internal_accumulator", "average_quantizer",
    "pool_sum_accumulator", "pool_avg_multiplier", "weight_quantizer",
    "depthwise_quantizer", "pointwise_quantizer", "depthwise_multiplier",
    "recurrent_quantizer", "state_quantizer", "recurrent_multiplier",
    "depthwise_accumulator", "bias_quantizer", "multiplier", "accumulator",
    "bn_beta_quantizer", "bn_mean_quantizer", "bn_inverse_quantizer",
    "fused_accumulator")
_SHAPE_KEYS = {
    "weight_quantizer": "w_shapes",
    "depthwise_quantizer": "depthwise_shapes",
    "pointwise_quantizer": "pointwise_shapes",
    "recurrent_quantizer": "recurrent_shapes",
    "bias_quantizer": "b_shapes",
}
_COMPOUND = frozenset({
    "internal_divide_quantizer", "internal_multiplier",
    "internal_accumulator", "pool_sum_accumulator", "pool_avg_multiplier",
    "depthwise_multiplier", "recurrent_multiplier", "depthwise_accumulator",
    "multiplier", "accumulator", "fused_accumulator"})


def _plain(value):
  """``value`` with NumPy scalars made Python numbers (bools stay bools)."""
  if isinstance(value, (bool, np.bool_)):
    return bool(value)
  if isinstance(value, (int, np.integer)):
    return int(value)
  if isinstance(value, (float, np.floating)):
    return float(value)
  return value


def _plain_shape(shape):
  """A shape as JSON: tuples become lists (nested for lists of shapes),
  unknown dimensions (None) become -1."""
  if shape is None:
    return -1
  if isinstance(shape, (tuple, list)) or hasattr(shape, "as_list"):
    dims = shape.as_list() if hasattr(shape, "as_list") else shape
    return [_plain_shape(d) for d in dims]
  return _plain(shape)


def populate_quantizer(quantizer, shape=None, implemented_as=None):
  """The JSON dict of the format ``quantizer`` ({} for None).

  ``quantizer_type`` (its name) and, by kind: float -> ``bits``; po2 ->
  ``bits, is_signed, max_value``; binary -> ``bits, int_bits, is_signed,
  values`` ([-1, 1] or [0, 1]); ternary -> ``bits: 2, int_bits: 2,
  is_signed: 1, values: [0, -1, 1]``; fixed point -> ``bits``, ``int_bits``
  *including the sign bit* (``int_bits + is_signed``), ``is_signed``. Then
  ``shape`` (if given) and ``op_type`` (``implemented_as``, if given).
  """
  result = collections.OrderedDict()
  if quantizer is None:
    return result
  result["quantizer_type"] = quantizer.name
  if quantizer.is_floating_point:
    result["bits"] = _plain(quantizer.bits)
  elif quantizer.is_po2:
    result["bits"] = _plain(quantizer.bits)
    result["is_signed"] = _plain(quantizer.is_signed)
    result["max_value"] = _plain(quantizer.max_val_po2)
  elif quantizer.mode in (3, 4):
    result["bits"] = _plain(quantizer.bits)
    result["int_bits"] = _plain(quantizer.int_bits)
    result["is_signed"] = _plain(quantizer.is_signed)
    result["values"] = [0, 1] if quantizer.mode == 4 else [-1, 1]
  elif quantizer.mode == 2:
    result["bits"] = 2
    result["int_bits"] = 2
    result["is_signed"] = 1
    result["values"] = [0, -1, 1]
  elif quantizer.mode == 0:
    result["bits"] = _plain(quantizer.bits)
    result["int_bits"] = _plain(quantizer.int_bits + quantizer.is_signed)
    result["is_signed"] = _plain(quantizer.is_signed)
  if shape is not None:
    result["shape"] = _plain_shape(shape)
  if implemented_as is not None:
    result["op_type"] = implemented_as
  return result


def _populate_value(value, shape=None, compound=False):
  """A format, a compound operation (its ``output``) or a list of them."""
  if isinstance(value, (list, tuple)):
    return [_populate_value(v, compound=compound) for v in value]
  if isinstance(value, quantizer_impl.IQuantizer):
    return populate_quantizer(value, shape)
  if compound and hasattr(value, "output"):
    return populate_quantizer(value.output, shape, value.implemented_as())
  raise ValueError(f"map_to_json: cannot write {value!r} as a data type.")


def _entry_dict(entry):
  if hasattr(entry, "_asdict"):
    return entry._asdict()
  if isinstance(entry, dict):
    return entry
  raise ValueError(
      "map_to_json: a layer entry must be a LayerDataType namedtuple or a "
      f"dict, got {type(entry).__name__}.")


def _multiplier_key(layer, value):
  if (type(layer).__name__ in MERGE_LAYERS or
      isinstance(value, merge_factory.IMerger)):
    return type(layer).__name__ + "_quantizer"
  return "multiplier"


def _layer_json(layer, entry):
  feature = _entry_dict(entry)
  item = collections.OrderedDict()
  item["layer_type"] = type(layer).__name__
  item["input_quantizer_list"] = [
      populate_quantizer(q) for q in feature.get("input_quantizer_list") or ()]
  output = feature.get("output_quantizer")
  if output is not None:
    item["output_quantizer"] = _populate_value(
        output, shape=feature.get("output_shapes"))
  for key in _FIELDS:
    value = feature.get(key)
    if value is None:
      continue
    shape = feature.get(_SHAPE_KEYS[key]) if key in _SHAPE_KEYS else None
    data = _populate_value(value, shape=shape, compound=key in _COMPOUND)
    if data:
      name = _multiplier_key(layer, value) if key == "multiplier" else key
      item[name] = data
  item["operation_count"] = _plain(feature.get("operation_count"))
  for key in ("depthwise_operation_count", "pointwise_operation_count",
              "input_operation_count", "recurrent_operation_count"):
    if feature.get(key) is not None:
      item[key] = _plain(feature[key])
  if feature.get("unsupported"):
    item["unsupported"] = True  # passed through: QTools does not model it
  return item


def map_to_json(layer_map):
  """The JSON-able dict of ``generate_layer_data_type_map``'s result
  (keys ``source_quantizer_list`` and ``layer_data_type_map``: an ordered
  ``{layer: LayerDataType or dict}``)."""
  result = collections.OrderedDict()
  sources = [populate_quantizer(q)
             for q in layer_map.get("source_quantizer_list") or ()]
  if sources:
    result["source_quantizers"] = sources
  for layer, entry in layer_map["layer_data_type_map"].items():
    result[layer.name] = _layer_json(layer, entry)
  return result
