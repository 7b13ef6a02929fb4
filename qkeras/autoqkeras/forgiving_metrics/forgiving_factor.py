# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``ForgivingFactor``: the cost term of the AutoQKeras score.

A trial model of cost ``trial_size`` is compared with the float reference
of cost ``reference_size`` (bits, energy, ...)::

  delta = delta_p * log(reference_size / trial_size) / log(rate)
                                        if trial_size < reference_size
  delta = delta_n * log(reference_size / trial_size) / log(rate)  otherwise

  score = metric * (1 + delta)

so a model ``rate`` times smaller gains ``delta_p`` percent of relative
accuracy, and one ``rate`` times bigger loses ``delta_n`` percent.
"""

import numpy as np


class ForgivingFactor:
  """Base class: subclasses set ``reference_size`` and ``trial_size``, and
  name what they measure in ``size_label`` (the trial lines and
  ``plot_history`` use it).

  Args:
    delta_p: percent gained per factor ``rate`` of cost reduction.
    delta_n: percent lost per factor ``rate`` of cost increase.
    rate: the cost ratio that earns one ``delta_p`` / ``delta_n``.
  """

  size_label = "size"

  def __init__(self, delta_p, delta_n, rate):
    self.delta_p = np.float32(delta_p) / 100.0
    self.delta_n = np.float32(delta_n) / 100.0
    self.rate = rate
    self.reference_size = None
    self.trial_size = None

  def get_reference(self, model):
    """Cost of the reference (float) ``model``."""
    raise NotImplementedError

  def get_trial(self, model):
    """Cost of a trial (quantized) ``model``."""
    raise NotImplementedError

  def print_stats(self):
    """Prints the last comparison."""
    raise NotImplementedError

  def delta(self):
    """``delta_p|delta_n * log(reference_size / trial_size) / log(rate)``."""
    ratio = np.log(self.reference_size / self.trial_size) / np.log(self.rate)
    return np.where(self.trial_size < self.reference_size,
                    self.delta_p * ratio, self.delta_n * ratio)
