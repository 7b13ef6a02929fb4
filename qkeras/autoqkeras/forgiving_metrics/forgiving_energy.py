# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``ForgivingFactorPower``: model cost = QTools energy estimate (pJ).

The reference is the model described as a float (or int8) design
(``QTools(..., for_reference=True)``), the trial the quantized model::

  energy = sum over layers of the parts of pe() that
           qtools_settings.cfg.include_energy selects
  reference_size = stress * energy(reference)

List settings have two entries: index 0 for the reference, 1 for the
trial.
"""

import json

from qkeras.autoqkeras.forgiving_metrics.forgiving_factor import (
    ForgivingFactor)
from qkeras.qtools import QTools
from qkeras.qtools.settings import cfg

REFERENCE_INTERNAL = ("fp16", "fp32", "int8")
REFERENCE_ACCUMULATOR = ("int16", "int32", "fp16", "fp32")


class ForgivingFactorPower(ForgivingFactor):
  """Forgiving factor on the QTools energy of a model.

  Args:
    delta_p, delta_n, rate: see ``ForgivingFactor``.
    stress: factor applied to the reference energy (< 1 asks for more).
    process: QTools process ("horowitz").
    parameters_on_memory, activations_on_memory: "dram" / "sram" / "fixed"
      for [reference, trial].
    min_sram_size, rd_wr_on_io: ``QTools.pe`` arguments per model.
    config_json: QTools settings (a dict or a JSON file name) applied over
      the public ones before the energy is computed.
    source_quantizers: the input quantizers of the trial model.
    trained_model: ``QTools(is_inference=...)``.
    reference_internal: the type of the reference's weights and values.
    reference_accumulator: the type of the reference's sums.
  """

  size_label = "energy (pJ)"

  def __init__(self, delta_p, delta_n, rate, stress=1.0, **kwargs):
    super().__init__(delta_p, delta_n, rate)
    self.stress = stress
    self.process = kwargs.get("process", "horowitz")
    self.parameters_on_memory = kwargs.get("parameters_on_memory",
                                           ["fixed", "fixed"])
    self.activations_on_memory = kwargs.get("activations_on_memory",
                                            ["dram", "dram"])
    self.min_sram_size = kwargs.get("min_sram_size", [0, 0])
    self.rd_wr_on_io = kwargs.get("rd_wr_on_io", [True, True])
    self.config_json = kwargs.get("config_json", None)
    self.source_quantizers = kwargs.get("source_quantizers", None)
    self.trained_model = kwargs.get("trained_model", False)
    self.reference_internal = kwargs.get("reference_internal", "fp32")
    self.reference_accumulator = kwargs.get("reference_accumulator", "fp32")
    if self.reference_internal not in REFERENCE_INTERNAL:
      raise ValueError(
          f"ForgivingFactorPower: reference_internal must be one of "
          f"{', '.join(REFERENCE_INTERNAL)}, got {self.reference_internal!r}.")
    if self.reference_accumulator not in REFERENCE_ACCUMULATOR:
      raise ValueError(
          f"ForgivingFactorPower: reference_accumulator must be one of "
          f"{', '.join(REFERENCE_ACCUMULATOR)}, got "
          f"{self.reference_accumulator!r}.")
    self.reference_energy = None
    self.reference_energy_profile = None
    self.trial_energy_profile = None
    self.reference_cost = self.trial_cost = None

  def _apply_config_json(self):
    if self.config_json is None:
      return
    settings = self.config_json
    if isinstance(settings, str):
      with open(settings) as f:
        settings = json.load(f)
    cfg.update(self.process, settings)

  def _energy(self, model, index):
    """``(energy, per-layer profile, pe() dict)`` of ``model``: the float
    reference (``index`` 0, inputs read as ``reference_internal``) or the
    trial (``index`` 1, inputs ``source_quantizers``); ``index`` also picks
    the memory settings."""
    reference = index == 0
    q = QTools(model, self.process,
               source_quantizers=(self.reference_internal if reference
                                  else self.source_quantizers),
               is_inference=self.trained_model,
               keras_quantizer=self.reference_internal,
               keras_accumulator=self.reference_accumulator,
               for_reference=reference)
    self._apply_config_json()
    cost = q.pe(weights_on_memory=self.parameters_on_memory[index],
                activations_on_memory=self.activations_on_memory[index],
                min_sram_size=self.min_sram_size[index],
                rd_wr_on_io=self.rd_wr_on_io[index])
    return (q.extract_energy_sum(cfg.include_energy, cost),
            q.extract_energy_profile(cfg.include_energy, cost), cost)

  def get_reference(self, model):
    """``stress *`` energy of ``model`` as a float design; cached."""
    if self.reference_energy is None:
      (self.reference_energy, self.reference_energy_profile,
       self.reference_cost) = self._energy(model, 0)
      # Upstream kept the unstressed energy for delta(); see docs/compat.md.
      self.reference_size = self.reference_energy * self.stress
    return self.reference_size

  def get_reference_stats(self):
    return self.reference_energy_profile

  def get_trial(self, model):
    """Energy of the quantized ``model``."""
    self.trial_size, self.trial_energy_profile, self.trial_cost = (
        self._energy(model, 1))
    return self.trial_size

  def get_trial_stats(self):
    return self.trial_energy_profile

  def get_total_factor(self):
    """Relative change of the unstressed energy: ``(trial - ref) / ref``."""
    return (self.trial_size - self.reference_energy) / self.reference_energy

  def print_stats(self, verbosity=0):
    """Prints energies and the reduction; ``verbosity > 0`` adds the
    per-layer costs of both models as JSON."""
    print("stats: delta_p={} delta_n={} rate={} trial_size={} "
          "reference_size={}".format(self.delta_p, self.delta_n, self.rate,
                                     int(self.trial_size),
                                     int(self.reference_size)))
    print("       delta={:.2f}%".format(float(self.delta()) * 100))
    if verbosity > 0:
      print("Reference Cost:")
      print(json.dumps(self.reference_cost, indent=4, default=float))
      print("Trial Cost:")
      print(json.dumps(self.trial_cost, indent=4, default=float))
    print("Total Cost Reduction:")
    print("       {} vs {} ({:.2f}%)".format(
        int(self.trial_size), int(self.reference_energy),
        100.0 * self.get_total_factor()))
