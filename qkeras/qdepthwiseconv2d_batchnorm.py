# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QDepthwiseConv2DBatchnorm``: ``QDepthwiseConv2D`` with a folded batch
normalization (see ``qkeras._bn_fold``)."""

from keras import ops

from qkeras._bn_fold import BatchnormFoldMixin
from qkeras._bn_fold import FOLDING_OWN_NAMES
from qkeras.qconvolutional import QDepthwiseConv2D
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import register_layer

__all__ = ["QDepthwiseConv2DBatchnorm"]


@register_layer
class QDepthwiseConv2DBatchnorm(BatchnormFoldMixin, QDepthwiseConv2D):
  """``QDepthwiseConv2D`` followed by a folded ``BatchNormalization``.

  ``inv`` (one value per output channel) is reshaped to
  ``(channels, depth_multiplier)`` to scale the depthwise kernel.
  """

  _kernel_quantizer_name = "depthwise_quantizer"
  _own_names = QDepthwiseConv2D._own_names + FOLDING_OWN_NAMES
  # QDepthwiseConv2D's keys, its first one renamed (and so moved last).
  _quantization_config = ("bias_quantizer", "activation", ("filters", None),
                          "depthwise_quantizer")

  def __init__(self, kernel_size, strides=(1, 1), padding="VALID",
               depth_multiplier=1, data_format=None, activation=None,
               use_bias=True, depthwise_initializer="he_normal",
               bias_initializer="zeros", depthwise_regularizer=None,
               bias_regularizer=None, activity_regularizer=None,
               depthwise_constraint=None, bias_constraint=None,
               dilation_rate=(1, 1), depthwise_quantizer=None,
               bias_quantizer=None, depthwise_range=None, bias_range=None,
               axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
               beta_initializer="zeros", gamma_initializer="ones",
               moving_mean_initializer="zeros",
               moving_variance_initializer="ones", beta_regularizer=None,
               gamma_regularizer=None, beta_constraint=None,
               gamma_constraint=None, renorm=False, renorm_clipping=None,
               renorm_momentum=0.99, fused=None, trainable=True,
               virtual_batch_size=None, adjustment=None,
               ema_freeze_delay=None, folding_mode="ema_stats_folding",
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def _kernel_variable(self):
    return self.depthwise_kernel

  def _fold_kernel(self, inv):
    shape = tuple(self.depthwise_kernel.shape[2:])
    return ops.reshape(inv, shape) * self.depthwise_kernel
