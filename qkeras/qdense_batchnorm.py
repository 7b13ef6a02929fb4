# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QDenseBatchnorm``: ``QDense`` with a folded batch normalization (see
``qkeras._bn_fold``; QKeras 0.9 had none, qkerasV3 added one)."""

from keras import ops

from qkeras._bn_fold import BatchnormFoldMixin
from qkeras._bn_fold import check_folding_args
from qkeras._bn_fold import split_bn_args
from qkeras.qlayers import QDense
from qkeras.qlayers import register_layer

__all__ = ["QDenseBatchnorm"]


@register_layer
class QDenseBatchnorm(BatchnormFoldMixin, QDense):
  """``QDense`` followed by a folded ``BatchNormalization``."""

  _kernel_quantizer_name = "kernel_quantizer"

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
    owner = f"QDenseBatchnorm(name={kwargs.get('name')!r})"
    check_folding_args(owner, ema_freeze_delay, folding_mode)
    args = {k: v for k, v in locals().items()
            if k not in ("self", "kwargs", "__class__", "owner",
                         "ema_freeze_delay", "folding_mode")}
    bn_args = split_bn_args(owner, args)
    super().__init__(**args, **kwargs)
    self._init_folding(bn_args, ema_freeze_delay, folding_mode)

  def _kernel_variable(self):
    return self.kernel

  def _linear(self, inputs, kernel):
    return ops.matmul(inputs, kernel)

  def _fold_kernel(self, inv):
    return inv * self.kernel
