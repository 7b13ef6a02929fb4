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

__all__ = ["convert_folded_layer_to_unfolded", "unfold_model"]

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
