# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QTools settings: default quantizers and the energy polynomials.

Energies are in pJ (Horowitz, "Computing's energy problem", ISSCC 2014,
45 nm). Each cost is a ``numpy.poly1d`` (highest power first) evaluated at a
bit count ``b``:

  fpm_add(b)  = 0.003125 b                        fixed-point add
  fpm_mul(b)  = 0.002994791667 b^2 + 0.001041666667 b   fixed-point multiply
  fp16_add = 0.4, fp16_mul = 1.1, fp32_add = 0.9, fp32_mul = 3.7  (constants)
  dram_rd(b)  = 20.3125 b                         (1.3 nJ per 64-bit word)
  sram_rd(L)  = 0.02455 L^2 - 0.2656 L + 0.8661   per 64-bit word, L = log2
                                                  of the SRAM size in bits

``sram_mul_factor = 1/64`` (SRAM is read in 64-bit words) and
``dram_mul_factor = 1``. ``QTools`` calls ``cfg.update("horowitz",
config_public.config_settings)``, which replaces the SRAM polynomial with a
cubic and sets both default quantizers to ``"quantized_bits(8, 0, 1)"``.

``include_energy[class_name]`` lists the energy components
(``"inputs"``, ``"outputs"``, ``"parameters"``, ``"op_cost"``) that
``QTools.extract_energy_sum`` / ``extract_energy_profile`` count for a layer
class; ``"default"`` is used for every other class.
"""

import numpy as np

# Settings attributes that hold a polynomial, set per process by update().
POLYNOMIALS = ("fpm_add", "fpm_mul", "fp16_add", "fp16_mul", "fp32_add",
               "fp32_mul", "sram_rd", "dram_rd")

# Keys of a config_settings dict that are not processes.
_GLOBAL_KEYS = ("default_source_quantizer", "default_interm_quantizer",
                "include_energy")


# The energy components counted per layer class (the one table: ConfigClass
# and config_public.config_settings both read it).
_INCLUDE_ENERGY = {
    "default": ("inputs", "parameters", "op_cost"),
    "QActivation": ("outputs",),
    "QAdaptiveActivation": ("outputs",),
    "Activation": ("outputs",),
    "QBatchNormalization": ("parameters",),
    "BatchNormalization": ("parameters",),
    "Add": ("op_cost",),
    "Subtract": ("op_cost",),
    "MaxPooling2D": ("op_cost",),
}


def default_include_energy():
  """The energy components counted per layer class (a fresh dict of fresh
  lists)."""
  return {name: list(rule) for name, rule in _INCLUDE_ENERGY.items()}


class ConfigClass:
  """The QTools configuration; ``cfg`` below is the one QTools uses."""

  def __init__(self):
    self.default_source_quantizer = "quantized_bits(8, 0, 1)"
    self.default_interm_quantizer = "fp32"

    self.fpm_add = np.poly1d([0.003125, 0])
    self.fpm_mul = np.poly1d([0.002994791667, 0.001041666667, 0])
    self.fp16_add = np.poly1d([0.4])
    self.fp16_mul = np.poly1d([1.1])
    self.fp32_add = np.poly1d([0.9])
    self.fp32_mul = np.poly1d([3.7])
    self.sram_rd = np.poly1d([0.02455, -0.2656, 0.8661])
    self.dram_rd = np.poly1d([20.3125, 0])
    self.sram_mul_factor = 1 / 64.
    self.dram_mul_factor = 1.0

    self.include_energy = default_include_energy()

  def update(self, process, config_settings):
    """Applies ``config_settings`` (see ``config_public``) for ``process``.

    Sets the two default quantizers when present, every polynomial the
    process lists (others keep their value), and merges
    ``config_settings["include_energy"]`` into ``include_energy``; a rule for
    a class ``"Q<name>"`` is also used for the Keras class ``"<name>"``.
    An unknown ``process`` raises ``ValueError`` (QKeras ignored it and kept
    the polynomials it had).
    """
    processes = sorted(k for k in config_settings if k not in _GLOBAL_KEYS)
    if process not in processes:
      raise ValueError(
          f"QTools settings: unknown process {process!r}; allowed: "
          f"{', '.join(processes)}.")

    for name in ("default_source_quantizer", "default_interm_quantizer"):
      if name in config_settings:
        setattr(self, name, config_settings[name])

    for name in POLYNOMIALS:
      if name in config_settings[process]:
        setattr(self, name, np.poly1d(config_settings[process][name]))

    for class_name, rule in config_settings.get("include_energy", {}).items():
      self.include_energy[class_name] = rule
      if class_name.startswith("Q"):
        self.include_energy[class_name[1:]] = rule


cfg = ConfigClass()
