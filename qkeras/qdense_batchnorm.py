# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QDenseBatchnorm``: ``QDense`` with a folded batch normalization (see
``qkeras._bn_fold``; QKeras 0.9 had none, qkerasV3 added one)."""

from qkeras._bn_fold import BatchnormFoldMixin
from qkeras._bn_fold import FOLDING_OWN_NAMES
from qkeras.qlayers import QDense
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import register_layer

__all__ = ["QDenseBatchnorm"]


@register_layer
class QDenseBatchnorm(BatchnormFoldMixin, QDense):
  """``QDense`` followed by a folded ``BatchNormalization``."""

  _own_names = QDense._own_names + FOLDING_OWN_NAMES

  def __init__(self, units, activation=None, use_bias=True,
               kernel_initializer="he_normal", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, kernel_quantizer=None,
               bias_quantizer=None, kernel_range=None, bias_range=None,
               axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
               beta_initializer="zeros", gamma_initializer="ones",
               moving_mean_initializer="zeros",
               moving_variance_initializer="ones", beta_regularizer=None,
               gamma_regularizer=None, beta_constraint=None,
               gamma_constraint=None, ema_freeze_delay=None,
               folding_mode="ema_stats_folding", **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)
