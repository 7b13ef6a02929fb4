# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Bias quantizers of folded layers from QTools' accumulator types.

``populate_bias_quantizer_from_accumulator`` (re-exported by
``qkeras.bn_folding_utils``, its upstream home) reads QTools' data-type map
of a model and gives each folded layer without a bias quantizer the type of
its accumulator.
"""

from qkeras._convert import is_folded
from qkeras.qtools import generate_layer_data_type_map as datatypes

__all__ = ["populate_bias_quantizer_from_accumulator"]


def populate_bias_quantizer_from_accumulator(model, source_quantizers=None):
  """Gives every folded layer without a bias quantizer the accumulator's
  type as its bias quantizer (QTools data-type map; sources default to
  ``quantized_bits(8, 0, 1)``). The folded bias then has the width the
  hardware sum has. Changes the layers of ``model`` in place (that is its
  purpose) and returns ``model``; a second call changes nothing.
  """
  default = "quantized_bits(8, 0, 1)"
  _, _, layer_map = datatypes.model_data_type_map(
      model, source_quantizers or default, default, is_inference=False,
      keras_quantizer=default, keras_accumulator=default)
  for layer, entry in layer_map["layer_data_type_map"].items():
    bias_type = getattr(entry, "bias_quantizer", None)
    if (not is_folded(layer) or bias_type is None or
        layer.bias_quantizer_internal is not None):
      continue
    quantizer = bias_type.convert_to_qkeras_quantizer()
    layer.set_quantizer("bias_quantizer", quantizer)
  return model
