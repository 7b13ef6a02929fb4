# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QScaleShift``: a quantized multiply-accumulate, ``y = x * w + b``."""

import keras

from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import register_layer

__all__ = ["QScaleShift"]


@register_layer
class QScaleShift(QLayerMixin, keras.layers.Layer):
  """``y = activation(x * weight_quantizer(w) + bias_quantizer(b))``.

  ``w`` and ``b`` are scalar weights (shape ``(1, 1)``). Both quantizers are
  weight quantizers (``alpha=None`` becomes ``"auto_po2"``, as in QKeras).
  """

  _quantizer_names = ("weight_quantizer", "bias_quantizer")
  _weight_quantizers = ("weight_quantizer", "bias_quantizer")
  # Initializers only: the layer has no constraint arguments.
  _constrained_weights = {"weight": None, "bias": None}
  _activation_names = ("activation",)
  _own_names = ("use_bias", "activation", "weight_initializer",
                "weight_regularizer", "bias_initializer", "bias_regularizer")
  _quantization_config = ("weight_quantizer", "bias_quantizer", "activation")

  def __init__(self, weight_quantizer=None, bias_quantizer=None,
               use_bias=True, activation=None, weight_initializer="he_normal",
               weight_regularizer=None, bias_initializer="zeros",
               bias_regularizer=None, **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)
    for name in ("weight_initializer", "bias_initializer"):
      setattr(self, name, keras.initializers.get(getattr(self, name)))
    for name in ("weight_regularizer", "bias_regularizer"):
      setattr(self, name, keras.regularizers.get(getattr(self, name)))

  def build(self, input_shape):
    self.weight = self._add_weight_from_settings("weight", (1, 1), "weight")
    self.bias = self._add_weight_from_settings("bias", (1, 1), "bias")

  def call(self, inputs, training=None):
    x = inputs * self._quantize("weight_quantizer", self.weight, training)
    if self.use_bias:
      x = x + self._quantize("bias_quantizer", self.bias, training)
    return self._activate(x, training)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_prunable_weights(self):
    return [self.weight, self.bias]
