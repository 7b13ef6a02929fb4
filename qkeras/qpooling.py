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

from qkeras import _qmath
from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import apply_quantizer
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import register_layer

__all__ = ["QAveragePooling2D", "QGlobalAveragePooling2D"]


def _bits(n):
  """Bits of a positive integer ``n`` (``ceil(log2(n + 1))``)."""
  return int(n).bit_length()


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

  @staticmethod
  def _shift(inputs, headroom):
    """``(inputs * 2**-k, 2**k)`` with ``k`` the smallest shift that keeps
    sums of ``inputs`` (times ``2**headroom``) finite in float32; ``k`` is 0
    (and the numbers unchanged) for every ordinary input."""
    if keras.backend.standardize_dtype(inputs.dtype) != "float32" or (
        _qmath.has_no_elements(inputs)):
      return inputs, 1.0  # float16/bfloat16: Keras's own overflow rules
    k = _qmath.overflow_shift(ops.max(ops.abs(inputs)), headroom)
    return inputs * _qmath.pow2_exact(-k), _qmath.pow2_exact(k)

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
      # AvgPool(x * A) (a sum) overflows for |x| near float32's limit: such
      # inputs are pooled as x * 2**-k, then scaled back (k = 0 otherwise).
      inputs, up = self._shift(inputs, 2 * _bits(area) + 1)
      x = super().call(inputs * float(area))
      x = _qmath.saturate_overflow(
          x, x * self._quantized_factor(area, x.dtype, training) * up)
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
      area = self.compute_pooling_area(inputs.shape)
      inputs, up = self._shift(inputs, _bits(area) + 1)
      x = ops.sum(inputs, axis=axes, keepdims=self.keepdims)
      x = _qmath.saturate_overflow(
          x, x * self._quantized_factor(area, x.dtype, training) * up)
    else:
      x = super().call(inputs)
    return self._activate(x, training)
