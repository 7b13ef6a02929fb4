# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Energy of a quantized MLP against its unquantized reference.

    python -m qkeras.qtools.examples.example_get_energy

Both are estimated with weights and activations in SRAM (at least 16 MB),
the model input/output not counted (``rd_wr_on_io=False``); the reference
uses 8-bit weights (``keras_quantizer="int8"``) and 32-bit arithmetic
(``keras_accumulator="int32"``).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from qkeras import QActivation  # noqa: E402
from qkeras import QDense  # noqa: E402
from qkeras import quantized_bits  # noqa: E402
from qkeras.qtools import QTools  # noqa: E402
from qkeras.qtools import settings as qtools_settings  # noqa: E402


def quantized_mlp():
  x = x_in = keras.Input((784,), name="input")
  x = QDense(300, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="d0")(x)
  x = QActivation("quantized_relu(4,0)", name="d0_qr4")(x)
  x = QDense(100, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="d1")(x)
  x = QActivation("quantized_relu(4,0)", name="d1_qr4")(x)
  x = QDense(10, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="d2")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x)


def energy(model, for_reference):
  qtools = QTools(model, process="horowitz",
                  source_quantizers=[quantized_bits(8, 0, 1)],
                  is_inference=False, weights_path=None,
                  keras_quantizer="int8", keras_accumulator="int32",
                  for_reference=for_reference)
  per_layer = qtools.pe(weights_on_memory="sram",
                        activations_on_memory="sram",
                        min_sram_size=8 * 16 * 1024 * 1024,
                        rd_wr_on_io=False)
  include = qtools_settings.cfg.include_energy
  return (qtools.extract_energy_profile(include, per_layer),
          qtools.extract_energy_sum(include, per_layer))


def main(argv=None):
  del argv
  model = quantized_mlp()
  reference_profile, reference_size = energy(model, for_reference=True)
  trial_profile, trial_size = energy(model, for_reference=False)
  for title, profile in (("reference", reference_profile),
                         ("quantized", trial_profile)):
    print(f"{title} energy profile (pJ):")
    for layer, entry in profile.items():
      print(f"  {layer:10} {entry['total']:12.2f}  {entry['energy']}")
  print(f"Total energy: reference {reference_size} pJ, quantized "
        f"{trial_size} pJ ({reference_size / max(trial_size, 1):.1f}x less)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
