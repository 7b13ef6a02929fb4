# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras: per-layer quantization search on keras-tuner.

``AutoQKHyperModel`` turns a compiled float model into a keras-tuner
search space: every layer the ``limit`` covers gets one hyper-parameter per
quantizer (kernel, bias, activation, ...), chosen from the
``quantization_config`` sections.  A trial model is built with
``model_quantize`` and compiled with two extra metrics::

  trial = cost of the trial model (bits or energy, from the goal)
  score = metric * (1 + delta)          (see ``ForgivingFactor.delta``)

``AutoQKeras`` runs a keras-tuner tuner (random, bayesian, hyperband or a
custom one) maximising ``val_score``; ``AutoQKerasScheduler`` runs one
``AutoQKeras`` per block of layers.

Search state lives in keras-tuner's project directory, so an interrupted
search restarted with ``overwrite=False`` continues, and keras-tuner's
distributed mode (``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP``,
``KERASTUNER_ORACLE_PORT``) splits the trials between processes.

The code lives in three private modules: ``_search_space`` (the
hyper-model: layer tables, limits, quantizer choices, filter tuning, trial
models and their metrics), ``_tuner_state`` (the driver: tuners, progress
lines, atomic saves, resume repair, history, scheduler) and ``_common``
(goal and argument checks, compile helpers).  This module keeps every name
it always had, so imports and class paths recorded before the split still
resolve.
"""

# pylint: disable=unused-import
# The standard and third-party names this module has always exposed.
import copy
import json
import os
import re
import warnings

import keras
import keras_tuner as kt
import numpy as np
from keras import ops
from keras_tuner import BayesianOptimization
from keras_tuner import HyperModel
from keras_tuner import Hyperband
from keras_tuner import RandomSearch

from qkeras.autoqkeras._common import DEFAULT_GOAL
from qkeras.autoqkeras._common import _GOAL_PARAMS
from qkeras.autoqkeras._common import _check_choice
from qkeras.autoqkeras._common import _check_compiled
from qkeras.autoqkeras._common import _clone_optimizer
from qkeras.autoqkeras._common import _compile_arguments
from qkeras.autoqkeras._common import _copy_metrics
from qkeras.autoqkeras._common import _fresh_metric
from qkeras.autoqkeras._common import _learning_rate
from qkeras.autoqkeras._common import make_target
from qkeras.autoqkeras._search_space import AutoQKHyperModel
from qkeras.autoqkeras._search_space import FILTER_FACTORS
from qkeras.autoqkeras._search_space import Q_LAYERS
from qkeras.autoqkeras._search_space import REGISTERED_LAYERS
from qkeras.autoqkeras._search_space import SEQUENCE_LAYERS
from qkeras.autoqkeras._search_space import TUNE_FILTERS
from qkeras.autoqkeras._search_space import _ACTIVATION
from qkeras.autoqkeras._search_space import _BIAS
from qkeras.autoqkeras._search_space import _DEPTHWISE_KERNEL
from qkeras.autoqkeras._search_space import _KERNEL
from qkeras.autoqkeras._search_space import _RECURRENT
from qkeras.autoqkeras._search_space import _SEPARABLE
from qkeras.autoqkeras._search_space import _accuracy_function
from qkeras.autoqkeras._search_space import _check_limit
from qkeras.autoqkeras._search_space import _extend_metrics
from qkeras.autoqkeras._search_space import _hp_key
from qkeras.autoqkeras._search_space import _is_class_key
from qkeras.autoqkeras._search_space import _iter_layer_configs
from qkeras.autoqkeras._search_space import _layer_classes
from qkeras.autoqkeras._search_space import _output_layers
from qkeras.autoqkeras._search_space import _pad_limit
from qkeras.autoqkeras._search_space import _scale_width
from qkeras.autoqkeras._search_space import _score_metric
from qkeras.autoqkeras._search_space import _transfer_weights
from qkeras.autoqkeras._search_space import adjusted_score
from qkeras.autoqkeras._search_space import trial_size_metric
from qkeras.autoqkeras._tuner_state import AutoQKeras
from qkeras.autoqkeras._tuner_state import AutoQKerasScheduler
from qkeras.autoqkeras._tuner_state import MODES
from qkeras.autoqkeras._tuner_state import _EXTRA_BITS
from qkeras.autoqkeras._tuner_state import _ProgressMixin
from qkeras.autoqkeras._tuner_state import _TUNERS
from qkeras.autoqkeras._tuner_state import _atomic_oracle_saves
from qkeras.autoqkeras._tuner_state import _best
from qkeras.autoqkeras._tuner_state import _bits_text
from qkeras.autoqkeras._tuner_state import _fresh_dir
from qkeras.autoqkeras._tuner_state import _last
from qkeras.autoqkeras._tuner_state import _requeue_interrupted_trials
from qkeras.autoqkeras._tuner_state import _with_progress
from qkeras.autoqkeras._tuner_state import _write_json_atomically
from qkeras.autoqkeras.forgiving_metrics import ForgivingFactor
from qkeras.autoqkeras.forgiving_metrics import forgiving_factor
from qkeras.autoqkeras.quantization_config import default_quantization_config
from qkeras.autoqkeras.utils import activation_name
from qkeras.autoqkeras.utils import print_qmodel_summary
from qkeras._convert import model_quantize
from qkeras._io import quantized_model_from_json
