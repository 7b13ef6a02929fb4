# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QSeparableConv2DTranspose``: depthwise then pointwise transposed conv."""

import keras
from keras import ops

from qkeras.qdepthwise_conv2d_transpose import channel_groups
from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import _add_bias
from qkeras.qlayers import apply_quantizer
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import register_layer

__all__ = ["QSeparableConv2DTranspose"]


@register_layer
class QSeparableConv2DTranspose(QLayerMixin, keras.layers.Conv2DTranspose):
  """Separable transposed convolution with quantized kernels.

  Each input channel ``c`` goes through its own transposed convolution
  (``depthwise_kernel[:, :, :, c]``, shape ``kernel_size + (1, channels)``,
  with the layer's strides, padding and output padding), then
  ``depthwise_activation``, then a 1x1 transposed convolution
  (``pointwise_kernel``, shape ``(1, 1, filters, channels)``) plus the
  quantized bias, then ``pointwise_activation``.
  """

  _quantizer_names = ("depthwise_kernel_quantizer",
                      "pointwise_kernel_quantizer", "bias_quantizer")
  _weight_quantizers = ("depthwise_kernel_quantizer",
                        "pointwise_kernel_quantizer")
  _activation_names = ("depthwise_activation", "pointwise_activation")
  _listed_activations = _activation_names
  _own_names = ("depth_multiplier",) + _activation_names
  # Keras 2's Conv2DTranspose config has ``groups`` (always 1 here).
  _legacy_keys = ("groups",)

  def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
               output_padding=None, depth_multiplier=1,
               depthwise_activation=None, pointwise_activation=None,
               use_bias=True, depthwise_kernel_quantizer=None,
               pointwise_kernel_quantizer=None, bias_quantizer=None,
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def build(self, input_shape):
    axis = -1 if self.data_format == "channels_last" else 1
    channels = input_shape[axis]
    if channels is None:
      raise ValueError(f"QSeparableConv2DTranspose(name={self.name!r}): the "
                       "channel dimension of the inputs must be defined.")
    self.input_spec = keras.layers.InputSpec(min_ndim=4,
                                             axes={axis: channels})
    self.depthwise_kernel = self._add_weight_from_settings(
        "depthwise_kernel", tuple(self.kernel_size) + (1, channels), "kernel")
    self.pointwise_kernel = self._add_weight_from_settings(
        "pointwise_kernel", (1, 1, self.filters, channels), "kernel")
    self._add_bias_weight(self.filters)

  def call(self, inputs, training=None):
    depthwise = self._quantize("depthwise_kernel_quantizer",
                               self.depthwise_kernel, training)
    pointwise = self._quantize("pointwise_kernel_quantizer",
                               self.pointwise_kernel, training)
    outputs = [
        ops.conv_transpose(
            channel, depthwise[:, :, :, c:c + 1], strides=list(self.strides),
            padding=self.padding, output_padding=self.output_padding,
            dilation_rate=self.dilation_rate, data_format=self.data_format)
        for c, channel in enumerate(channel_groups(inputs, 1,
                                                   self.data_format))]
    axis = -1 if self.data_format == "channels_last" else 1
    outputs = ops.concatenate(outputs, axis=axis)
    if self.depthwise_activation is not None:
      outputs = apply_quantizer(self.depthwise_activation, outputs, training)
    outputs = ops.conv_transpose(outputs, pointwise, strides=1,
                                 padding="valid",
                                 data_format=self.data_format)
    if self.use_bias:
      bias = self._quantize("bias_quantizer", self.bias, training)
      outputs = _add_bias(self, outputs, bias, 2, self.filters)
    if self.pointwise_activation is not None:
      outputs = apply_quantizer(self.pointwise_activation, outputs, training)
    return outputs

  def get_prunable_weights(self):
    weights = [self.depthwise_kernel, self.pointwise_kernel]
    if self.use_bias:
      weights.append(self.bias)
    return weights
