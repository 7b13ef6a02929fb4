# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QBatchNormalization``: batch normalization with quantized parameters."""

import warnings

import keras
from keras import ops

from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import get_auto_range_constraint_initializer
from qkeras.qlayers import layer_quantizer
from qkeras.qlayers import register_layer
from qkeras.qlayers import check_ranges
from qkeras._bn_fold import UNSUPPORTED_BN_DEFAULTS
from qkeras.qlayers import reject_foreign_quantizers

__all__ = ["QBatchNormalization"]

# Keras-2 arguments QKeras accepted and dropped (with a warning when not at
# their defaults; Keras 3 configs carry renorm_momentum=0.99).
_DROPPED_KWARGS = UNSUPPORTED_BN_DEFAULTS


def _single_axis(owner, axis):
  """Keras 2 configs store ``axis`` as a one-element list."""
  if isinstance(axis, (list, tuple)):
    if len(axis) != 1:
      raise ValueError(f"{owner}: argument 'axis' must be a single axis, got "
                       f"{axis!r}.")
    axis = axis[0]
  return int(axis)


@register_layer
class QBatchNormalization(QLayerMixin, keras.layers.BatchNormalization):
  """Batch normalization with quantized gamma, beta, mean and variance.

  Inference: ``inv = rsqrt(q_var(moving_variance) + eps) * q_gamma(gamma)``
  (then ``inverse_quantizer(inv)`` if given) and
  ``y = x * inv + (q_beta(beta) - q_mean(moving_mean) * inv)``. In training
  the quantized *batch* mean and variance are used, while the moving averages
  are updated with the unquantized batch statistics. ``activation`` (a
  quantizer) is applied to the output (QKeras stored it but never applied it).
  """

  def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True,
               scale=True, activation=None, beta_initializer="zeros",
               gamma_initializer="ones", moving_mean_initializer="zeros",
               moving_variance_initializer="ones", beta_regularizer=None,
               gamma_regularizer=None, beta_quantizer="quantized_po2(5)",
               gamma_quantizer="quantized_relu_po2(6, 2048)",
               mean_quantizer="quantized_po2(5)",
               variance_quantizer="quantized_relu_po2(6, "
               "quadratic_approximation=True)",
               inverse_quantizer=None, gamma_constraint=None,
               beta_constraint=None, beta_range=None, gamma_range=None,
               **kwargs):
    owner = f"QBatchNormalization(name={kwargs.get('name')!r})"
    reject_foreign_quantizers(owner, kwargs)
    for key, default in _DROPPED_KWARGS.items():
      if key in kwargs:
        value = kwargs.pop(key)
        if value != default and value is not None:
          warnings.warn(f"{owner}: argument '{key}' is not supported and is "
                        "ignored.", stacklevel=2)
    if inverse_quantizer is not None and (gamma_quantizer is not None or
                                          variance_quantizer is not None):
      raise ValueError(
          f"{owner}: argument 'inverse_quantizer' needs gamma_quantizer=None "
          "and variance_quantizer=None (it quantizes gamma/sqrt(variance) as "
          "one value).")
    gq = layer_quantizer(owner, "gamma_quantizer", gamma_quantizer, True)
    bq = layer_quantizer(owner, "beta_quantizer", beta_quantizer)
    mq = layer_quantizer(owner, "mean_quantizer", mean_quantizer)
    vq = layer_quantizer(owner, "variance_quantizer", variance_quantizer, True)
    iq = layer_quantizer(owner, "inverse_quantizer", inverse_quantizer)
    if scale and gq is not None:
      gamma_constraint, gamma_initializer = (
          get_auto_range_constraint_initializer(gq, gamma_constraint,
                                                gamma_initializer))
    if center and bq is not None:
      beta_constraint, beta_initializer = (
          get_auto_range_constraint_initializer(bq, beta_constraint,
                                                beta_initializer))
    super().__init__(
        axis=_single_axis(owner, axis), momentum=momentum, epsilon=epsilon,
        center=center, scale=scale, beta_initializer=beta_initializer,
        gamma_initializer=gamma_initializer,
        moving_mean_initializer=moving_mean_initializer,
        moving_variance_initializer=moving_variance_initializer,
        beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
        beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
        **kwargs)
    names = ("gamma_quantizer", "beta_quantizer", "mean_quantizer",
             "variance_quantizer", "inverse_quantizer")
    raws = (gamma_quantizer, beta_quantizer, mean_quantizer,
            variance_quantizer, inverse_quantizer)
    self._set_quantizers(dict(zip(names, raws)),
                         dict(zip(names, (gq, bq, mq, vq, iq))))
    self.activation = layer_quantizer(owner, "activation", activation)
    self.beta_range = beta_range
    self.gamma_range = gamma_range
    check_ranges(self, beta_range=beta_range, gamma_range=gamma_range)

  def _broadcast(self, v, rank):
    axis = self.axis % rank
    if axis == rank - 1:
      return v
    shape = [1] * rank
    shape[axis] = -1
    return ops.reshape(v, shape)

  def call(self, inputs, training=None, mask=None):
    rank = len(inputs.shape)
    gamma = (self._quantize("gamma_quantizer", self.gamma, training)
             if self.scale else None)
    beta = (self._quantize("beta_quantizer", self.beta, training)
            if self.center else None)
    if training and self.trainable:
      mean, variance = self._moments(inputs, mask)
      mean = ops.reshape(mean, (-1,))
      variance = ops.reshape(variance, (-1,))
      momentum = self.momentum
      self.moving_mean.assign(self.moving_mean * momentum +
                              mean * (1.0 - momentum))
      self.moving_variance.assign(self.moving_variance * momentum +
                                  variance * (1.0 - momentum))
    else:
      mean, variance = self.moving_mean, self.moving_variance
    mean = self._quantize("mean_quantizer", mean, training)
    variance = self._quantize("variance_quantizer", variance, training)
    inv = ops.rsqrt(variance + self.epsilon)
    if gamma is not None:
      inv = inv * gamma
    inv = self._quantize("inverse_quantizer", inv, training)
    offset = -mean * inv if beta is None else beta - mean * inv
    outputs = inputs * self._broadcast(inv, rank) + self._broadcast(offset,
                                                                    rank)
    return self._activate(outputs, training)

  def get_config(self):
    config = super().get_config()
    for key in ("synchronized", "renorm", "renorm_clipping",
                "renorm_momentum"):
      config.pop(key, None)
    config.update(self._quantizer_config())
    config["activation"] = (None if self.activation is None else
                            keras.saving.serialize_keras_object(
                                self.activation))
    config["beta_range"] = self.beta_range
    config["gamma_range"] = self.gamma_range
    return config

  def get_prunable_weights(self):
    return []
