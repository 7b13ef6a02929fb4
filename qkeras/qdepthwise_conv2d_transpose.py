# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QDepthwiseConv2DTranspose``: grouped (depthwise) transposed convolution."""

import warnings

import keras
from keras import ops
import numpy as np

from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import _add_bias
from qkeras.qlayers import apply_quantizer
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import register_layer

__all__ = ["QDepthwiseConv2DTranspose"]

_CLASS_NAME = "QDepthwiseConv2DTranspose"


def channel_groups(inputs, size, data_format):
  """Splits the channels of ``inputs`` into consecutive groups of ``size``."""
  axis = -1 if data_format == "channels_last" else 1
  channels = inputs.shape[axis]
  return [ops.take(inputs, list(range(start, start + size)), axis=axis)
          for start in range(0, channels, size)]


@register_layer
class QDepthwiseConv2DTranspose(QLayerMixin, keras.layers.Conv2DTranspose):
  """Transposed convolution applied per group of ``group_size`` channels.

  The kernel ``depthwise_kernel`` has shape ``kernel_size + (channels,
  group_size)``; group ``g`` maps its ``group_size`` input channels to as many
  output channels with ``kernel[:, :, g*gs:(g+1)*gs, :]``, so the output has
  as many channels as the input (``filters`` is kept for the config only).
  The bias (one per output channel) is quantized and added when
  ``use_bias`` (QKeras created it but never used it), then
  ``depthwise_activation``.
  """

  _quantizer_names = ("depthwise_kernel_quantizer", "bias_quantizer")
  _weight_quantizers = ("depthwise_kernel_quantizer",)
  _activation_names = ("depthwise_activation",)
  _listed_activations = ("depthwise_activation",)
  _own_names = ("group_size", "depth_multiplier", "depthwise_activation")
  # Keras 2's Conv2DTranspose config has ``groups`` (always 1 here).
  _legacy_keys = ("groups",)

  def __init__(self, filters, kernel_size, group_size=1, strides=(1, 1),
               padding="valid", output_padding=None, depth_multiplier=1,
               depthwise_activation=None, use_bias=True,
               depthwise_kernel_quantizer=None, bias_quantizer=None,
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def _prepare_arguments(self, owner, arguments):
    super()._prepare_arguments(owner, arguments)
    group_size = arguments["group_size"]
    if not isinstance(group_size, int) or group_size < 1:
      raise ValueError(f"{owner}: argument 'group_size' must be a positive "
                       f"integer, got {group_size!r}.")

  def _channels(self, input_shape):
    axis = -1 if self.data_format == "channels_last" else 1
    return input_shape[axis]

  def build(self, input_shape):
    channels = self._channels(input_shape)
    if channels is None or channels % self.group_size:
      raise ValueError(
          f"QDepthwiseConv2DTranspose(name={self.name!r}): the number of "
          f"input channels ({channels}) must be a multiple of group_size "
          f"({self.group_size}).")
    axis = -1 if self.data_format == "channels_last" else 1
    self.input_spec = keras.layers.InputSpec(min_ndim=4,
                                             axes={axis: channels})
    self.depthwise_kernel = self._add_weight_from_settings(
        "depthwise_kernel",
        tuple(self.kernel_size) + (channels, self.group_size), "kernel")
    self._add_bias_weight(channels)

  def call(self, inputs, training=None):
    kernel = self._quantize("depthwise_kernel_quantizer",
                            self.depthwise_kernel, training)
    size = self.group_size
    outputs = []
    for g, group in enumerate(channel_groups(inputs, size, self.data_format)):
      outputs.append(ops.conv_transpose(
          group, kernel[:, :, g * size:(g + 1) * size, :],
          strides=list(self.strides), padding=self.padding,
          output_padding=self.output_padding,
          dilation_rate=self.dilation_rate, data_format=self.data_format))
    axis = -1 if self.data_format == "channels_last" else 1
    outputs = ops.concatenate(outputs, axis=axis)
    if self.use_bias:
      bias = self._quantize("bias_quantizer", self.bias, training)
      outputs = _add_bias(self, outputs, bias, 2, bias.shape[0])
    if self.depthwise_activation is not None:
      outputs = apply_quantizer(self.depthwise_activation, outputs, training)
    return outputs

  def compute_output_shape(self, input_shape):
    shape = list(super().compute_output_shape(input_shape))
    axis = -1 if self.data_format == "channels_last" else 1
    shape[axis] = self._channels(input_shape)
    return tuple(shape)

  def get_prunable_weights(self):
    weights = [self.depthwise_kernel]
    if self.use_bias:
      weights.append(self.bias)
    return weights

  def set_weights(self, weights):
    """Sets ``[depthwise_kernel, bias]``; also takes QKeras 0.9's list.

    QKeras 0.9's bias has shape ``(filters,)`` and was never added to the
    outputs. A bias of that shape, when ``filters`` differs from the number
    of channels, is QKeras 0.9's: the layer's bias becomes zeros (QKeras 0.9's
    outputs; a warning names any non-zero value dropped). A ``(channels,)``
    bias is this layer's and is added.
    """
    weights = list(weights)
    if self.built and self.use_bias and len(weights) == 2:
      channels = int(self.bias.shape[0])
      shape = tuple(np.shape(weights[1]))
      if shape == (self.filters,) and shape != (channels,):
        weights[1] = qkeras09_bias(weights[1], channels, self.name)
    super().set_weights(weights)


def qkeras09_bias(bias, channels, name):
  """This layer's bias for QKeras 0.9's unused bias: zeros of ``(channels,)``.

  Warns when the dropped bias had non-zero values (QKeras 0.9 never added
  them, so its outputs are reproduced with zeros).
  """
  values = np.asarray(ops.convert_to_numpy(bias))
  if np.any(values != 0):
    warnings.warn(
        f"{_CLASS_NAME}(name={name!r}): QKeras 0.9's bias {values.shape} "
        f"was never added to the outputs; it is replaced by zeros of shape "
        f"({channels},), which gives QKeras 0.9's outputs.", stacklevel=3)
  return np.zeros((channels,), values.dtype)
