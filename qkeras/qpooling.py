# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Quantized average pooling: ``QAveragePooling2D``, ``QGlobalAveragePooling2D``.

With an ``average_quantizer`` the division by the pool area ``A`` becomes a
multiplication by the quantized factor ``q(1/A)``, as a fixed-point divider
would compute it: ``AvgPool(x * A) * q(1/A)`` (global pooling:
``sum(x) * q(1/A)``). An optional ``activation`` (quantizer) follows.

Integer and boolean inputs are averaged as floats of the layer's compute
dtype (float32 by default), the dtype and values Keras gives for integer
inputs where its pooling accepts them (``GlobalAveragePooling2D`` on every
backend, ``AveragePooling2D`` on JAX).
"""

import keras
from keras import ops
import numpy as np

from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import apply_quantizer
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import register_layer

__all__ = ["QAveragePooling2D", "QGlobalAveragePooling2D"]


class _QPoolingMixin(QLayerMixin):
  """The average quantizer and output activation of the pooling layers."""

  _quantizer_names = ("average_quantizer",)
  _activation_names = ("activation",)
  _own_names = ("activation",)
  _quantization_config = ("average_quantizer", "activation")

  def _float_inputs(self, inputs):
    """``inputs``, cast to the compute dtype unless already floating."""
    if keras.backend.is_float_dtype(keras.backend.standardize_dtype(
        inputs.dtype)):
      return inputs
    return ops.cast(inputs, self.compute_dtype)

  def _quantized_factor(self, area, dtype, training):
    factor = ops.convert_to_tensor(1.0 / area, dtype)
    return ops.cast(apply_quantizer(self.average_quantizer_internal, factor,
                                    training), dtype)


@register_layer
class QAveragePooling2D(_QPoolingMixin, keras.layers.AveragePooling2D):
  """``AveragePooling2D`` whose division is a quantized multiplication."""

  def __init__(self, pool_size=(2, 2), strides=None, padding="valid",
               data_format=None, average_quantizer=None, activation=None,
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def call(self, inputs, training=None):
    inputs = self._float_inputs(inputs)
    if self.average_quantizer:
      area = int(np.prod(self.pool_size))
      x = super().call(inputs * float(area))
      x = x * self._quantized_factor(area, x.dtype, training)
    else:
      x = super().call(inputs)
    return self._activate(x, training)


@register_layer
class QGlobalAveragePooling2D(_QPoolingMixin,
                              keras.layers.GlobalAveragePooling2D):
  """``GlobalAveragePooling2D`` whose division is a quantized multiplication."""

  def __init__(self, data_format=None, average_quantizer=None,
               activation=None, **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def compute_pooling_area(self, input_shape):
    """``H * W`` of the (static) input shape."""
    if self.data_format == "channels_first":
      return int(input_shape[2]) * int(input_shape[3])
    return int(input_shape[1]) * int(input_shape[2])

  def call(self, inputs, training=None):
    inputs = self._float_inputs(inputs)
    if self.average_quantizer:
      axes = [2, 3] if self.data_format == "channels_first" else [1, 2]
      x = ops.sum(inputs, axis=axes, keepdims=self.keepdims)
      area = self.compute_pooling_area(inputs.shape)
      x = x * self._quantized_factor(area, x.dtype, training)
    else:
      x = super().call(inputs)
    return self._activate(x, training)
