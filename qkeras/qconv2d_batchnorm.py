# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QConv2DBatchnorm``: ``QConv2D`` with a batch normalization folded into
its quantized kernel and bias (see ``qkeras._bn_fold``)."""

from qkeras._bn_fold import BatchnormFoldMixin
from qkeras._bn_fold import FOLDING_OWN_NAMES
from qkeras.qconvolutional import QConv2D
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import register_layer

__all__ = ["QConv2DBatchnorm"]


@register_layer
class QConv2DBatchnorm(BatchnormFoldMixin, QConv2D):
  """``QConv2D`` followed by a folded ``BatchNormalization``.

  The weights are ``kernel``, ``bias`` (with ``use_bias``), the batch norm's
  ``gamma``, ``beta``, ``moving_mean``, ``moving_variance`` and a step
  counter ``iteration``. ``get_folded_weights()`` returns the float folded
  kernel and bias that a plain ``QConv2D`` uses after ``unfold_model``.
  """

  _own_names = QConv2D._own_names + FOLDING_OWN_NAMES

  def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
               data_format="channels_last", dilation_rate=(1, 1),
               activation=None, use_bias=True,
               kernel_initializer="he_normal", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, kernel_quantizer=None,
               bias_quantizer=None, axis=-1, momentum=0.99, epsilon=0.001,
               center=True, scale=True, beta_initializer="zeros",
               gamma_initializer="ones", moving_mean_initializer="zeros",
               moving_variance_initializer="ones", beta_regularizer=None,
               gamma_regularizer=None, beta_constraint=None,
               gamma_constraint=None, renorm=False, renorm_clipping=None,
               renorm_momentum=0.99, fused=None, trainable=True,
               virtual_batch_size=None, adjustment=None,
               ema_freeze_delay=None, folding_mode="ema_stats_folding",
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)
