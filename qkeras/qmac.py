# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QScaleShift``: a quantized multiply-accumulate, ``y = x * w + b``."""

import keras

from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import get_auto_range_constraint_initializer
from qkeras.qlayers import layer_quantizer
from qkeras.qlayers import register_layer
from qkeras.qlayers import reject_foreign_quantizers

__all__ = ["QScaleShift"]


@register_layer
class QScaleShift(QLayerMixin, keras.layers.Layer):
  """``y = activation(x * weight_quantizer(w) + bias_quantizer(b))``.

  ``w`` and ``b`` are scalar weights (shape ``(1, 1)``). Both quantizers are
  weight quantizers (``alpha=None`` becomes ``"auto_po2"``, as in QKeras).
  """

  def __init__(self, weight_quantizer=None, bias_quantizer=None,
               use_bias=True, activation=None, weight_initializer="he_normal",
               weight_regularizer=None, bias_initializer="zeros",
               bias_regularizer=None, **kwargs):
    reject_foreign_quantizers("QScaleShift", kwargs)
    super().__init__(**kwargs)
    owner = f"QScaleShift(name={self.name!r})"
    wq = layer_quantizer(owner, "weight_quantizer", weight_quantizer, True)
    bq = layer_quantizer(owner, "bias_quantizer", bias_quantizer, True)
    _, self.weight_initializer = get_auto_range_constraint_initializer(
        wq, None, weight_initializer)
    _, self.bias_initializer = get_auto_range_constraint_initializer(
        bq, None, bias_initializer)
    self.weight_initializer = keras.initializers.get(self.weight_initializer)
    self.bias_initializer = keras.initializers.get(self.bias_initializer)
    self.weight_regularizer = keras.regularizers.get(weight_regularizer)
    self.bias_regularizer = keras.regularizers.get(bias_regularizer)
    self.use_bias = use_bias
    self.activation = layer_quantizer(owner, "activation", activation)
    self._set_quantizers(
        {"weight_quantizer": weight_quantizer, "bias_quantizer": bias_quantizer},
        {"weight_quantizer": wq, "bias_quantizer": bq})

  def build(self, input_shape):
    self.weight = self.add_weight(
        name="weight", shape=(1, 1), initializer=self.weight_initializer,
        regularizer=self.weight_regularizer)
    self.bias = self.add_weight(
        name="bias", shape=(1, 1), initializer=self.bias_initializer,
        regularizer=self.bias_regularizer)

  def call(self, inputs, training=None):
    x = inputs * self._quantize("weight_quantizer", self.weight, training)
    if self.use_bias:
      x = x + self._quantize("bias_quantizer", self.bias, training)
    return self._activate(x, training)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_config(self):
    config = super().get_config()
    config.update(self._quantizer_config())
    config.update({
        "use_bias": self.use_bias,
        "activation": (None if self.activation is None else
                       keras.saving.serialize_keras_object(self.activation)),
        "weight_initializer": keras.initializers.serialize(
            self.weight_initializer),
        "weight_regularizer": keras.regularizers.serialize(
            self.weight_regularizer),
        "bias_initializer": keras.initializers.serialize(
            self.bias_initializer),
        "bias_regularizer": keras.regularizers.serialize(
            self.bias_regularizer),
    })
    return config

  def get_quantization_config(self):
    return {"weight_quantizer": str(self.weight_quantizer_internal),
            "bias_quantizer": str(self.bias_quantizer_internal),
            "activation": str(self.activation)}

  def get_prunable_weights(self):
    return [self.weight, self.bias]
