# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The QTools settings every ``QTools`` applies (``cfg.update(process, ...)``).

``"horowitz"`` (the only process) keeps the Horowitz ISSCC 2014 costs of
``settings`` and reads SRAM with a cubic in ``L = log2(size in bits)``, in pJ
per 64-bit word::

  sram_rd(L) = 9.02427321e-04 L^3 - 2.68847858e-02 L^2 + 2.08900804e-01 L

(2^10 bits: 0.303, 2^18: 0.3125, 2^27: 3.8038, 2^30: 6.4363).
"""

from qkeras.qtools import settings

config_settings = {
    "default_source_quantizer": "quantized_bits(8, 0, 1)",
    "default_interm_quantizer": "quantized_bits(8, 0, 1)",

    "horowitz": {
        "fpm_add": [0.003125, 0],
        "fpm_mul": [0.002994791667, 0.001041666667, 0],
        "fp16_add": [0.4],
        "fp16_mul": [1.1],
        "fp32_add": [0.9],
        "fp32_mul": [3.7],
        "sram_rd": [9.02427321e-04, -2.68847858e-02, 2.08900804e-01, 0.0],
        "dram_rd": [20.3125, 0],
    },

    # The table qtools.settings owns (same values).
    "include_energy": settings.default_include_energy(),
}
