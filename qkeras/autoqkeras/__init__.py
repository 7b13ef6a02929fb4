# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras: automatic per-layer quantization search on keras-tuner.

    from qkeras.autoqkeras import AutoQKeras
    autoqk = AutoQKeras(model, metrics=["acc"], goal=goal, mode="random",
                        max_trials=20)
    autoqk.fit(x, y, validation_data=(xv, yv), epochs=10)
    qmodel = autoqk.get_best_model()

See ``autoqkeras_internal`` for the search, ``forgiving_metrics`` for the
goals (bits, energy) and ``utils`` for summaries and plots.
"""

from qkeras.autoqkeras.autoqkeras_internal import AutoQKeras
from qkeras.autoqkeras.autoqkeras_internal import AutoQKerasScheduler
from qkeras.autoqkeras.autoqkeras_internal import AutoQKHyperModel
from qkeras.autoqkeras.autoqkeras_internal import Q_LAYERS
from qkeras.autoqkeras.autoqkeras_internal import REGISTERED_LAYERS
from qkeras.autoqkeras.autoqkeras_internal import SEQUENCE_LAYERS
from qkeras.autoqkeras.forgiving_metrics import ForgivingFactor
from qkeras.autoqkeras.forgiving_metrics import ForgivingFactorBits
from qkeras.autoqkeras.forgiving_metrics import ForgivingFactorPower
from qkeras.autoqkeras.forgiving_metrics import forgiving_factor
from qkeras.autoqkeras.quantization_config import default_quantization_config
from qkeras.autoqkeras.utils import Q_SEQUENCE_LAYERS
from qkeras.autoqkeras.utils import get_quantization_dictionary
from qkeras.autoqkeras.utils import plot_history
from qkeras.autoqkeras.utils import print_qmodel_summary
from qkeras.autoqkeras.utils import save_quantization_dict
# QKeras's ``from qkeras.autoqkeras import *`` also gave these (its notebooks
# rely on it).
from qkeras._convert import clone_model
from qkeras._convert import model_quantize

__all__ = ["AutoQKeras", "AutoQKerasScheduler", "AutoQKHyperModel",
           "REGISTERED_LAYERS", "Q_LAYERS", "SEQUENCE_LAYERS",
           "ForgivingFactor", "ForgivingFactorBits", "ForgivingFactorPower",
           "forgiving_factor", "default_quantization_config",
           "Q_SEQUENCE_LAYERS", "get_quantization_dictionary",
           "plot_history", "print_qmodel_summary", "save_quantization_dict",
           "model_quantize", "clone_model"]
