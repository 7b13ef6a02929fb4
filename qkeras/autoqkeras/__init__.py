# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras groundwork: quantizer choices, forgiving factors, utilities.

    from qkeras.autoqkeras import default_quantization_config
    from qkeras.autoqkeras import forgiving_factor, ForgivingFactorBits

``AutoQKeras``, ``AutoQKHyperModel`` and ``AutoQKerasScheduler`` (the
keras-tuner search) come in a later session; this package does not import
keras_tuner.
"""

from qkeras.autoqkeras.forgiving_metrics import ForgivingFactor
from qkeras.autoqkeras.forgiving_metrics import ForgivingFactorBits
from qkeras.autoqkeras.forgiving_metrics import ForgivingFactorPower
from qkeras.autoqkeras.forgiving_metrics import forgiving_factor
from qkeras.autoqkeras.quantization_config import default_quantization_config
from qkeras.autoqkeras.utils import Q_SEQUENCE_LAYERS
from qkeras.autoqkeras.utils import get_quantization_dictionary
from qkeras.autoqkeras.utils import print_qmodel_summary
from qkeras.autoqkeras.utils import save_quantization_dict

__all__ = ["ForgivingFactor", "ForgivingFactorBits", "ForgivingFactorPower",
           "forgiving_factor", "default_quantization_config",
           "Q_SEQUENCE_LAYERS", "get_quantization_dictionary",
           "print_qmodel_summary", "save_quantization_dict"]
