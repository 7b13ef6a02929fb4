# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Formats inside a batch normalization (QKeras ``qbn_factory``).

``y = gamma * (x - mean) / stddev + beta`` is modelled as
``divider(gamma, stddev) -> multiplier(.., x) -> adder(.., beta)`` (without
``scale``: ``divider(x, stddev) -> adder(.., beta)``; without ``center`` the
adder is left out).
"""

import copy
import math

import numpy as np

from qkeras.qtools.quantized_operators import adder_factory
from qkeras.qtools.quantized_operators import divider_factory
from qkeras.qtools.quantized_operators import multiplier_factory


def stddev_quantizer_of(variance_quantizer):
  """The format of ``sqrt(variance)``: for a po2 variance one bit less
  (half the exponent) with maximum ``round(sqrt(max_variance))``; other
  formats are kept."""
  stddev = copy.deepcopy(variance_quantizer)
  if stddev.is_po2:
    if variance_quantizer.max_val_po2 >= 0:
      stddev.max_val_po2 = float(
          np.round(math.sqrt(variance_quantizer.max_val_po2)))
    stddev.bits = variance_quantizer.bits - 1
    stddev.int_bits = stddev.bits
  return stddev


def _divider_value_counts(gamma, stddev):
  """Distinct values of gamma/stddev when both po2 counts are known."""
  gamma_counts = getattr(gamma, "inference_value_counts", -1)
  stddev_counts = getattr(stddev, "inference_value_counts", -1)
  if (gamma.is_po2 and gamma_counts > 0 and stddev.is_po2 and
      stddev_counts > 0):
    return gamma_counts * stddev_counts
  return -1


class QBNFactory:
  """Makes the internal formats of a (Q)BatchNormalization.

  After ``make_quantizer``: ``internal_divide_quantizer`` (divider),
  ``internal_multiplier`` (None without scale), ``internal_accumulator``
  (the beta adder, None without center) and ``internal_output`` (the last
  of them), plus the five operand formats.
  """

  def make_quantizer(self, input_quantizer, gamma_quantizer, beta_quantizer,
                     mean_quantizer, variance_quantizer, use_scale,
                     use_center):
    """Derives the formats (see the class docstring)."""
    self.input_quantizer = input_quantizer
    self.gamma_quantizer = gamma_quantizer
    self.beta_quantizer = beta_quantizer
    self.mean_quantizer = mean_quantizer
    self.variance_quantizer = variance_quantizer
    self.use_scale = use_scale
    self.use_center = use_center

    stddev = stddev_quantizer_of(variance_quantizer)
    dividers = divider_factory.IDivider()
    multiplier = None
    accumulator = None
    if use_scale:
      divider = dividers.make_quantizer(gamma_quantizer, stddev)
      counts = _divider_value_counts(gamma_quantizer, stddev)
      if counts > 0:
        divider.output.inference_value_counts = counts
      multiplier = multiplier_factory.MultiplierFactory().make_multiplier(
          divider.output, input_quantizer)
      last = multiplier
    else:
      divider = dividers.make_quantizer(input_quantizer, stddev)
      last = divider
    if use_center:
      accumulator = adder_factory.IAdder().make_quantizer(last.output,
                                                          beta_quantizer)
      last = accumulator

    self.internal_divide_quantizer = divider
    self.internal_multiplier = multiplier
    self.internal_accumulator = accumulator
    self.internal_output = last
