# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Quantized convolutions: ``QConv1D``, ``QConv2D``, ``QConv2DTranspose``,
``QDepthwiseConv2D``, ``QSeparableConv1D``, ``QSeparableConv2D`` and the
``QMobileNetSeparableConv2D`` block.

Each is its Keras 3 layer with quantized weights (see ``qkeras.qlayers``):
the kernel(s) and bias are quantized in ``call`` from float shadow weights,
then the Keras convolution, bias and activation follow.
"""

import keras
from keras import ops
import numpy as np

from qkeras.qlayers import QActivation
from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import _add_bias
from qkeras.qlayers import apply_quantizer
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import register_layer

__all__ = [
    "QConv1D", "QConv2D", "QConv2DTranspose", "QDepthwiseConv2D",
    "QSeparableConv1D", "QSeparableConv2D", "QMobileNetSeparableConv2D",
    "deconv_output_length",
]


def deconv_output_length(input_length, filter_size, padding,
                         output_padding=None, stride=0, dilation=1):
  """Output length of a transposed convolution along one axis.

  ``f = k + (k - 1)(d - 1)``; without ``output_padding``: "valid" ->
  ``L*s + max(f - s, 0)``, "full" -> ``L*s - (s + f - 2)``, "same" -> ``L*s``;
  with it: ``(L - 1)*s + f - 2*pad + output_padding`` (pad = f//2 for
  "same", 0 for "valid", f - 1 for "full").
  """
  if padding not in ("same", "valid", "full"):
    raise ValueError("deconv_output_length: argument 'padding' must be one "
                     f"of 'same', 'valid', 'full', got {padding!r}.")
  if input_length is None:
    return None
  filter_size = filter_size + (filter_size - 1) * (dilation - 1)
  if output_padding is None:
    if padding == "valid":
      return input_length * stride + max(filter_size - stride, 0)
    if padding == "full":
      return input_length * stride - (stride + filter_size - 2)
    return input_length * stride
  pad = {"same": filter_size // 2, "valid": 0, "full": filter_size - 1}[padding]
  return (input_length - 1) * stride + filter_size - 2 * pad + output_padding


class _QConvMixin(QLayerMixin):
  """The kernel+bias convolutions: their declaration and shared ``call``
  pieces."""

  _quantizer_names = ("kernel_quantizer", "bias_quantizer")
  _weight_quantizers = ("kernel_quantizer",)
  _constrained_weights = {"kernel": None, "bias": "use_bias"}
  _activation_names = ("activation",)
  _quantization_config = ("kernel_quantizer", "bias_quantizer", "activation",
                          "filters")

  def _bias_and_activation(self, outputs, training):
    if self.use_bias:
      bias = self._quantize("bias_quantizer", self.bias, training)
      outputs = _add_bias(self, outputs, bias, self.rank, self.filters)
    return self._activate(outputs, training)

  def get_prunable_weights(self):
    return [self.kernel]


@register_layer
class QConv1D(_QConvMixin, keras.layers.Conv1D):
  """``Conv1D`` with quantized kernel and bias (causal padding supported)."""

  _range_names = ("kernel_range", "bias_range")

  def __init__(self, filters, kernel_size, strides=1, padding="valid",
               dilation_rate=1, activation=None, use_bias=True,
               kernel_initializer="he_normal", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, kernel_quantizer=None,
               bias_quantizer=None, kernel_range=None, bias_range=None,
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def call(self, inputs, training=None):
    kernel = self._quantize("kernel_quantizer", self.kernel, training)
    padding = self.padding
    if padding == "causal":
      inputs = ops.pad(inputs, self._compute_causal_padding())
      padding = "valid"
    outputs = ops.conv(inputs, kernel, strides=list(self.strides),
                       padding=padding, dilation_rate=self.dilation_rate,
                       data_format=self.data_format)
    return self._bias_and_activation(outputs, training)


@register_layer
class QConv2D(_QConvMixin, keras.layers.Conv2D):
  """``Conv2D`` with quantized kernel and bias.

  ``mask`` (optional, rank >= 2, e.g. ``(kh, kw)``) multiplies the quantized
  kernel element-wise, to prune fixed kernel positions.
  """

  _range_names = ("kernel_range", "bias_range")
  _own_names = ("mask",)

  def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
               data_format="channels_last", dilation_rate=(1, 1),
               activation=None, use_bias=True,
               kernel_initializer="he_normal", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, kernel_range=None, bias_range=None,
               kernel_quantizer=None, bias_quantizer=None, mask=None,
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)
    if self.mask is not None:  # broadcast over input and output channels
      self._kernel_mask = np.reshape(self.mask, self.mask.shape[:2] + (1, 1))

  def _prepare_arguments(self, owner, arguments):
    """``mask`` as a float32 array of rank >= 2."""
    super()._prepare_arguments(owner, arguments)
    if arguments["mask"] is not None:
      mask = np.asarray(arguments["mask"], dtype=np.float32)
      if mask.ndim < 2:
        raise ValueError(
            f"{owner}: argument 'mask': Expected shape to have rank at least "
            f"2 but provided shape is {mask.shape}.")
      arguments["mask"] = mask

  def _linear(self, inputs, kernel):
    """The convolution with ``kernel`` (times ``mask`` if given)."""
    if self.mask is not None:
      kernel = kernel * ops.cast(self._kernel_mask, kernel.dtype)
    return self.convolution_op(inputs, kernel)

  def call(self, inputs, training=None):
    kernel = self._quantize("kernel_quantizer", self.kernel, training)
    return self._bias_and_activation(self._linear(inputs, kernel), training)


@register_layer
class QConv2DTranspose(_QConvMixin, keras.layers.Conv2DTranspose):
  """``Conv2DTranspose`` with quantized kernel and bias.

  ``output_padding`` is honoured (QKeras accepted and ignored it).
  """

  _legacy_keys = ("groups",)

  def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
               output_padding=None, data_format=None, dilation_rate=(1, 1),
               activation=None, use_bias=True,
               kernel_initializer="glorot_uniform", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, kernel_quantizer=None,
               bias_quantizer=None, **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def call(self, inputs, training=None):
    kernel = self._quantize("kernel_quantizer", self.kernel, training)
    outputs = ops.conv_transpose(
        inputs, kernel, strides=list(self.strides), padding=self.padding,
        output_padding=self.output_padding,
        dilation_rate=self.dilation_rate, data_format=self.data_format)
    return self._bias_and_activation(outputs, training)


# ==========================================================================
# Depthwise and separable convolutions.
# ==========================================================================
@register_layer
class QDepthwiseConv2D(QLayerMixin, keras.layers.DepthwiseConv2D):
  """``DepthwiseConv2D`` with quantized depthwise kernel and bias.

  The kernel variable is named ``depthwise_kernel`` (as in QKeras and
  Keras 2; Keras 3 calls it ``kernel``).
  """

  _quantizer_names = ("depthwise_quantizer", "bias_quantizer")
  _weight_quantizers = ("depthwise_quantizer",)
  _constrained_weights = {"depthwise": None, "bias": "use_bias"}
  _activation_names = ("activation",)
  _range_names = ("depthwise_range", "bias_range")
  _legacy_keys = ("groups",)
  # Upstream's keys (its first one names the attribute, not the argument).
  _quantization_config = ("depthwise_quantizer_internal", "bias_quantizer",
                          "activation", ("filters", None))

  def __init__(self, kernel_size, strides=(1, 1), padding="VALID",
               depth_multiplier=1, data_format=None, activation=None,
               use_bias=True, depthwise_initializer="he_normal",
               bias_initializer="zeros", depthwise_regularizer=None,
               bias_regularizer=None, activity_regularizer=None,
               depthwise_constraint=None, bias_constraint=None,
               dilation_rate=(1, 1), depthwise_quantizer=None,
               bias_quantizer=None, depthwise_range=None, bias_range=None,
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def _prepare_arguments(self, owner, arguments):
    """QKeras's default padding is "VALID"; Keras 3 takes lower case."""
    super()._prepare_arguments(owner, arguments)
    if isinstance(arguments["padding"], str):
      arguments["padding"] = arguments["padding"].lower()

  def build(self, input_shape):
    owner = f"QDepthwiseConv2D(name={self.name!r})"
    if len(input_shape) != 4:
      raise ValueError(f"{owner}: inputs should have rank 4, got input shape "
                       f"{tuple(input_shape)}.")
    channel_axis = -1 if self.data_format == "channels_last" else 1
    channels = input_shape[channel_axis]
    if channels is None:
      raise ValueError(f"{owner}: the channel dimension of the inputs must be "
                       f"defined, got input shape {tuple(input_shape)}.")
    self.input_spec = keras.layers.InputSpec(ndim=4,
                                             axes={channel_axis: channels})
    self.depthwise_kernel = self._add_weight_from_settings(
        "depthwise_kernel",
        tuple(self.kernel_size) + (channels, self.depth_multiplier),
        "depthwise")
    self._add_bias_weight(channels * self.depth_multiplier)

  def _linear(self, inputs, kernel):
    """The depthwise convolution with ``kernel``."""
    return ops.depthwise_conv(inputs, kernel, strides=self.strides,
                              padding=self.padding,
                              dilation_rate=self.dilation_rate,
                              data_format=self.data_format)

  def call(self, inputs, training=None):
    kernel = self._quantize("depthwise_quantizer", self.depthwise_kernel,
                            training)
    outputs = self._linear(inputs, kernel)
    if self.use_bias:
      bias = self._quantize("bias_quantizer", self.bias, training)
      outputs = _add_bias(self, outputs, bias, 2, bias.shape[0])
    return self._activate(outputs, training)

  def get_prunable_weights(self):
    return [self.depthwise_kernel]


class _QSeparableMixin(QLayerMixin):
  """Quantized depthwise + pointwise kernels, optional activation between."""

  _quantizer_names = ("depthwise_quantizer", "pointwise_quantizer",
                      "bias_quantizer")
  _weight_quantizers = ("depthwise_quantizer", "pointwise_quantizer")
  _constrained_weights = {"depthwise": None, "pointwise": None,
                          "bias": "use_bias"}
  _activation_names = ("activation", "depthwise_activation")
  _own_names = ("depthwise_activation",)
  _legacy_keys = ("groups", "kernel_initializer",
                  "kernel_regularizer", "kernel_constraint")

  def call(self, inputs, training=None):
    depthwise = self._quantize("depthwise_quantizer", self.depthwise_kernel,
                               training)
    pointwise = self._quantize("pointwise_quantizer", self.pointwise_kernel,
                               training)
    if self.depthwise_activation is None:
      outputs = ops.separable_conv(
          inputs, depthwise, pointwise, strides=self.strides,
          padding=self.padding, dilation_rate=self.dilation_rate,
          data_format=self.data_format)
    else:
      outputs = ops.depthwise_conv(
          inputs, depthwise, strides=self.strides, padding=self.padding,
          dilation_rate=self.dilation_rate, data_format=self.data_format)
      outputs = apply_quantizer(self.depthwise_activation, outputs, training)
      outputs = ops.conv(outputs, pointwise, strides=1, padding="valid",
                         data_format=self.data_format)
    if self.use_bias:
      bias = self._quantize("bias_quantizer", self.bias, training)
      outputs = _add_bias(self, outputs, bias, self.rank, self.filters)
    return self._activate(outputs, training)

  def get_prunable_weights(self):
    return [self.depthwise_kernel, self.pointwise_kernel]


@register_layer
class QSeparableConv1D(_QSeparableMixin, keras.layers.SeparableConv1D):
  """``SeparableConv1D`` with quantized depthwise/pointwise kernels and bias.

  ``depthwise_activation`` (default None, as QKeras) quantizes the result of
  the depthwise step before the pointwise step.
  """

  def __init__(self, filters, kernel_size, strides=1, padding="valid",
               data_format=None, dilation_rate=1, depth_multiplier=1,
               activation=None, use_bias=True,
               depthwise_initializer="glorot_uniform",
               pointwise_initializer="glorot_uniform",
               bias_initializer="zeros", depthwise_regularizer=None,
               pointwise_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, depthwise_constraint=None,
               pointwise_constraint=None, bias_constraint=None,
               depthwise_quantizer=None, pointwise_quantizer=None,
               bias_quantizer=None, depthwise_activation=None, **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)


@register_layer
class QSeparableConv2D(_QSeparableMixin, keras.layers.SeparableConv2D):
  """``SeparableConv2D`` with quantized depthwise/pointwise kernels and bias.

  ``depthwise_activation`` (default None, as QKeras) quantizes the result of
  the depthwise step before the pointwise step, as the QKeras README's
  example network writes it (``depthwise_activation=quantized_tanh(6, 2, 1)``).
  """

  def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
               data_format=None, dilation_rate=(1, 1), depth_multiplier=1,
               activation=None, use_bias=True,
               depthwise_initializer="glorot_uniform",
               pointwise_initializer="glorot_uniform",
               bias_initializer="zeros", depthwise_regularizer=None,
               pointwise_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, depthwise_constraint=None,
               pointwise_constraint=None, bias_constraint=None,
               depthwise_quantizer=None, pointwise_quantizer=None,
               bias_quantizer=None, depthwise_activation=None, **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)


def QMobileNetSeparableConv2D(  # pylint: disable=invalid-name
    filters, kernel_size, strides=(1, 1), padding="VALID",
    dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
    depthwise_initializer="he_normal", pointwise_initializer="he_normal",
    bias_initializer="zeros", depthwise_regularizer=None,
    pointwise_regularizer=None, bias_regularizer=None,
    activity_regularizer=None, depthwise_constraint=None,
    pointwise_constraint=None, bias_constraint=None, depthwise_quantizer=None,
    pointwise_quantizer=None, bias_quantizer=None, depthwise_activation=None,
    depthwise_range=None, pointwise_range=None, bias_range=None,
    depthwise_dropout_rate=0.0, pw_first=False, name=""):
  """MobileNet separable block: depthwise conv, activation, pointwise conv.

  Returns a function ``f(x)`` that applies ``QDepthwiseConv2D`` (``<name>_dw``,
  no bias) -> optional ``depthwise_activation`` (``<name>_dw_act``) ->
  optional ``Dropout`` (``<name>_dw_dropout``) -> 1x1 ``QConv2D``
  (``<name>_pw``) -> optional ``activation`` (``<name>_pw_act``).
  ``pw_first=True`` puts the pointwise conv first.
  """

  def depthwise(x):
    return QDepthwiseConv2D(
        kernel_size, strides=strides, dilation_rate=dilation_rate,
        padding=padding, depth_multiplier=depth_multiplier, use_bias=False,
        depthwise_regularizer=depthwise_regularizer,
        depthwise_initializer=depthwise_initializer,
        depthwise_constraint=depthwise_constraint,
        depthwise_quantizer=depthwise_quantizer,
        depthwise_range=depthwise_range, name=name + "_dw")(x)

  def depthwise_activation_and_dropout(x):
    if depthwise_activation:
      if isinstance(depthwise_activation, QActivation):
        x = depthwise_activation(x)
      else:
        x = QActivation(depthwise_activation, name=name + "_dw_act")(x)
    if depthwise_dropout_rate > 0.0:
      x = keras.layers.Dropout(rate=depthwise_dropout_rate,
                               name=name + "_dw_dropout")(x)
    return x

  def pointwise(x):
    return QConv2D(
        filters, (1, 1), strides=(1, 1), padding="same", use_bias=use_bias,
        kernel_regularizer=pointwise_regularizer,
        kernel_initializer=pointwise_initializer,
        kernel_constraint=pointwise_constraint,
        kernel_quantizer=pointwise_quantizer, bias_quantizer=bias_quantizer,
        bias_regularizer=bias_regularizer, bias_initializer=bias_initializer,
        bias_constraint=bias_constraint,
        activity_regularizer=activity_regularizer,
        kernel_range=pointwise_range, bias_range=bias_range,
        name=name + "_pw")(x)

  def block(x):
    first, second = (pointwise, depthwise) if pw_first else (depthwise,
                                                             pointwise)
    x = second(depthwise_activation_and_dropout(first(x)))
    if activation:
      if isinstance(activation, QActivation):
        x = activation(x)
      else:
        x = keras.layers.Activation(activation, name=name + "_pw_act")(x)
    return x

  return block
