# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Formats of a batch normalization fused into the previous layer (QKeras
``fused_bn_factory``).

With ``inv = gamma / sqrt(variance + epsilon)`` (the batch norm's inverse
quantizer) and ``x`` the previous layer's sum (bias not yet added)::

  z = inv * x + fused_bias,   fused_bias = inv * bias - inv * mean + beta

The factory derives the formats of ``inv * x``, ``inv * mean``,
``inv * bias``, the fused bias and the final sum.
"""

from qkeras.qtools.quantized_operators import adder_factory
from qkeras.qtools.quantized_operators import auto_po2
from qkeras.qtools.quantized_operators import multiplier_factory


class FusedBNFactory:
  """Makes the fused accumulator of a layer followed by a batch norm.

  After ``make_quantizer``: ``internal_accumulator`` and ``internal_output``
  are the final adder ``inv * x + fused_bias`` (its ``output`` is the fused
  accumulator's format); the steps are ``multiplier_x``,
  ``multiplier_mean``, ``multiplier_bias`` (None without bias),
  ``bias_adder`` (``inv*bias - inv*mean``) and ``fused_bias_adder``
  (``+ beta``).
  """

  def make_quantizer(self, prev_output_quantizer, prev_bias_quantizer,
                     beta_quantizer, mean_quantizer, inverse_quantizer,
                     use_beta, use_bias, qkeras_inverse_quantizer):
    """Derives the formats (see the class docstring). The three products
    by ``inv`` are widened for an ``alpha="auto_po2"``
    ``qkeras_inverse_quantizer`` (``adjust_multiplier_for_auto_po2``).
    Raises ValueError when the inverse quantizer is a float (or None)."""
    if inverse_quantizer is None or inverse_quantizer.is_floating_point:
      raise ValueError(
          "inverse_quantizer in batchnorm layer has to be set for fused bn "
          "inference in hardware!")
    multipliers = multiplier_factory.MultiplierFactory()
    adders = adder_factory.IAdder()

    def times_inverse(quantizer):
      multiplier = multipliers.make_multiplier(inverse_quantizer, quantizer)
      auto_po2.adjust_multiplier_for_auto_po2(multiplier,
                                              qkeras_inverse_quantizer)
      return multiplier

    self.multiplier_x = times_inverse(prev_output_quantizer)
    self.multiplier_mean = times_inverse(mean_quantizer)
    self.multiplier_bias = None
    if use_bias:
      self.multiplier_bias = times_inverse(prev_bias_quantizer)
      self.bias_adder = adders.make_quantizer(self.multiplier_bias.output,
                                              self.multiplier_mean.output)
    else:
      self.bias_adder = self.multiplier_mean
    if use_beta:
      self.fused_bias_adder = adders.make_quantizer(self.bias_adder.output,
                                                    beta_quantizer)
    else:
      self.fused_bias_adder = self.bias_adder
    adder = adders.make_quantizer(self.multiplier_x.output,
                                  self.fused_bias_adder.output)
    self.internal_accumulator = adder
    self.internal_output = adder
