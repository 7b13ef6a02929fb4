# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``QBatchNormalization``: batch normalization with quantized parameters."""

import keras
from keras import ops

from qkeras._bn_fold import drop_unsupported_bn_args
from qkeras.qlayers import QLayerMixin
from qkeras.qlayers import constructor_arguments
from qkeras.qlayers import construction_stacklevel
from qkeras.qlayers import register_layer

__all__ = ["QBatchNormalization"]


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
  ``quantized_parameters()`` and ``inference_scale_offset()`` give the
  quantized inference parameters (what exporters read).
  """

  _quantizer_names = ("gamma_quantizer", "beta_quantizer", "mean_quantizer",
                      "variance_quantizer", "inverse_quantizer")
  _weight_quantizers = ("gamma_quantizer", "variance_quantizer")
  _constrained_weights = {"gamma": "scale", "beta": "center"}
  _activation_names = ("activation",)
  _range_names = ("beta_range", "gamma_range")
  _own_names = ("activation",)

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
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def _prepare_arguments(self, owner, arguments):
    """Drops QKeras's Keras-2 arguments (warning when set); checks
    ``inverse_quantizer``; ``axis`` as one integer."""
    super()._prepare_arguments(owner, arguments)
    drop_unsupported_bn_args(owner, arguments, construction_stacklevel(self))
    if arguments["inverse_quantizer"] is not None and (
        arguments["gamma_quantizer"] is not None or
        arguments["variance_quantizer"] is not None):
      raise ValueError(
          f"{owner}: argument 'inverse_quantizer' needs gamma_quantizer=None "
          "and variance_quantizer=None (it quantizes gamma/sqrt(variance) as "
          "one value).")
    arguments["axis"] = _single_axis(owner, arguments["axis"])

  def _broadcast(self, v, rank):
    axis = self.axis % rank
    if axis == rank - 1:
      return v
    shape = [1] * rank
    shape[axis] = -1
    return ops.reshape(v, shape)

  def quantized_parameters(self, mean=None, variance=None, training=None):
    """``(inv, beta, mean)``: the quantized parameters of ``x * inv + beta -
    mean * inv``.

    ``inv = inverse_quantizer(rsqrt(q_var(variance) + eps) * q_gamma(gamma))``
    (without ``scale`` no gamma factor), ``beta = q_beta(beta)`` (None without
    ``center``), ``mean = q_mean(mean)``. ``mean`` and ``variance`` default to
    the moving statistics (inference).
    """
    if mean is None:
      mean, variance = self.moving_mean, self.moving_variance
    gamma = (self._quantize("gamma_quantizer", self.gamma, training)
             if self.scale else None)
    beta = (self._quantize("beta_quantizer", self.beta, training)
            if self.center else None)
    mean = self._quantize("mean_quantizer", mean, training)
    variance = self._quantize("variance_quantizer", variance, training)
    inv = ops.rsqrt(variance + self.epsilon)
    if gamma is not None:
      inv = inv * gamma
    inv = self._quantize("inverse_quantizer", inv, training)
    return inv, beta, mean

  def inference_scale_offset(self, mean=None, variance=None, training=None):
    """``(inv, offset)`` with ``y = x * inv + offset`` (before ``activation``):
    ``offset = beta - mean * inv`` (``-mean * inv`` without ``center``), from
    ``quantized_parameters``."""
    inv, beta, mean = self.quantized_parameters(mean, variance, training)
    offset = -mean * inv if beta is None else beta - mean * inv
    return inv, offset

  def call(self, inputs, training=None, mask=None):
    if not keras.backend.is_float_dtype(keras.backend.standardize_dtype(
        inputs.dtype)):
      # Integer and boolean inputs: the float dtype Keras's own
      # BatchNormalization computes them in.
      inputs = ops.cast(inputs, keras.backend.result_type(inputs.dtype,
                                                          "float32"))
    rank = len(inputs.shape)
    mean = variance = None
    if training and self.trainable:
      mean, variance = self._moments(inputs, mask)
      mean = ops.reshape(mean, (-1,))
      variance = ops.reshape(variance, (-1,))
      momentum = self.momentum
      self.moving_mean.assign(self.moving_mean * momentum +
                              mean * (1.0 - momentum))
      self.moving_variance.assign(self.moving_variance * momentum +
                                  variance * (1.0 - momentum))
    inv, offset = self.inference_scale_offset(mean, variance, training)
    outputs = inputs * self._broadcast(inv, rank) + self._broadcast(offset,
                                                                    rank)
    return self._activate(outputs, training)

  def get_config(self):
    config = super().get_config()
    for key in ("synchronized", "renorm", "renorm_clipping",
                "renorm_momentum"):
      config.pop(key, None)
    return config

  def get_prunable_weights(self):
    return []
