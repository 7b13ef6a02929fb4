# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Converting batch-norm-folded layers back to plain Q-layers.

``unfold_model(model)`` replaces every ``QConv2DBatchnorm``,
``QDepthwiseConv2DBatchnorm`` and ``QDenseBatchnorm`` by the plain layer
(``QConv2D``, ``QDepthwiseConv2D``, ``QDense``, with a bias) holding the
folded float weights, so the two models predict the same in inference.
"""

import inspect

import keras

from qkeras.qconv2d_batchnorm import QConv2DBatchnorm
from qkeras.qconvolutional import QConv2D
from qkeras.qconvolutional import QDepthwiseConv2D
from qkeras.qdense_batchnorm import QDenseBatchnorm
from qkeras.qdepthwiseconv2d_batchnorm import QDepthwiseConv2DBatchnorm
from qkeras.qlayers import QDense

__all__ = ["convert_folded_layer_to_unfolded", "unfold_model",
           "populate_bias_quantizer_from_accumulator"]

_UNFOLDED = {
    QConv2DBatchnorm: QConv2D,
    QDepthwiseConv2DBatchnorm: QDepthwiseConv2D,
    QDenseBatchnorm: QDense,
}
_BASE_LAYER_KEYS = ("name", "trainable", "dtype")


def is_folded(layer):
  return type(layer) in _UNFOLDED


def convert_folded_layer_to_unfolded(layer):
  """The plain Q-layer (with a bias) that a folded layer becomes."""
  cls = _UNFOLDED[type(layer)]
  accepted = set(inspect.signature(cls.__init__).parameters)
  accepted.update(_BASE_LAYER_KEYS)
  config = {k: v for k, v in layer.get_config().items() if k in accepted}
  config["use_bias"] = True
  return cls.from_config(config)


def unfold_model(model):
  """A copy of ``model`` with every folded layer replaced by its plain
  Q-layer carrying ``get_folded_weights()``; other layers are copied with
  their weights. Works on functional and Sequential models."""

  def clone(layer):
    if is_folded(layer):
      return convert_folded_layer_to_unfolded(layer)
    return layer.__class__.from_config(layer.get_config())

  new_model = keras.models.clone_model(model, clone_function=clone)
  for old, new in zip(model.layers, new_model.layers):
    weights = old.get_folded_weights() if is_folded(old) else old.weights
    new.set_weights([keras.ops.convert_to_numpy(w) for w in weights])
  return new_model


def populate_bias_quantizer_from_accumulator(model, source_quantizers=None):
  """Gives every folded layer without a bias quantizer the accumulator's
  type as its bias quantizer (QTools data-type map; sources default to
  ``quantized_bits(8, 0, 1)``). The folded bias then has the width the
  hardware sum has. Changes the layers of ``model`` in place (that is its
  purpose) and returns ``model``; a second call changes nothing.
  """
  from qkeras.qtools import generate_layer_data_type_map as datatypes  # pylint: disable=g-import-not-at-top
  from qkeras.qtools import qgraph  # pylint: disable=g-import-not-at-top
  default = "quantized_bits(8, 0, 1)"
  graph, sources = qgraph.CreateGraph(model, source_quantizers or default,
                                      default)
  qgraph.GraphPropagateActivationsToEdges(graph)
  layer_map = datatypes.generate_layer_data_type_map(
      graph, sources, is_inference=False, keras_quantizer=default,
      keras_accumulator=default)
  for layer, entry in layer_map["layer_data_type_map"].items():
    bias_type = getattr(entry, "bias_quantizer", None)
    if (not is_folded(layer) or bias_type is None or
        layer.bias_quantizer_internal is not None):
      continue
    quantizer = bias_type.convert_to_qkeras_quantizer()
    layer.set_quantizer("bias_quantizer", quantizer)
  return model
