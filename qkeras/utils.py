# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Model utilities (``qkeras.utils``, QKeras's path).

QKeras's model utilities: converting float models (``model_quantize``),
exporting quantized weights (``model_save_quantized_weights``), loading and
cloning, sparsity, debugging and dumping, batch-norm folding. They read
models and return new ones; none changes the model it is given.

A façade: it defines nothing and re-exports the functions of the model
readers -- ``qkeras._convert`` (quantizing, folding, cloning),
``qkeras._export`` (quantized weights, sparsity, debugging) and
``qkeras._io`` (loading model files and JSON), and
``qkeras.estimate.check_quantizer_collapse``. Library modules import those
directly; this module is for users.
"""

# pylint: disable=unused-import
from qkeras._convert import clone_model
from qkeras._convert import clone_model_and_freeze_auto_po2_scale
from qkeras._convert import convert_to_folded_model
from qkeras._convert import fold_pairs
from qkeras._convert import get_config
from qkeras._convert import model_quantize
from qkeras._convert import quantize_activation
from qkeras._convert import unfold_model
from qkeras._export import REGISTERED_LAYERS
from qkeras._export import add_bn_fusing_weights
from qkeras._export import find_bn_fusing_layer_pair
from qkeras._export import get_model_sparsity
from qkeras._export import model_save_quantized_weights
from qkeras._export import print_model_sparsity
from qkeras._export import quantized_model_debug
from qkeras._export import quantized_model_dump
from qkeras._io import _add_supported_quantized_objects
from qkeras._io import _custom_objects
from qkeras._io import _qkeras09_h5_copy
from qkeras._io import get_y_from_TFOpLambda
from qkeras._io import is_TFOpLambda_layer
from qkeras._io import load_qmodel
from qkeras._io import quantized_model_from_json
from qkeras.estimate import check_quantizer_collapse

__all__ = ["load_qmodel", "quantized_model_from_json",
           "convert_to_folded_model", "unfold_model", "clone_model",
           "model_save_quantized_weights", "get_model_sparsity",
           "print_model_sparsity", "quantized_model_debug",
           "quantized_model_dump", "find_bn_fusing_layer_pair",
           "add_bn_fusing_weights", "REGISTERED_LAYERS", "model_quantize",
           "quantize_activation", "clone_model_and_freeze_auto_po2_scale",
           "get_config", "is_TFOpLambda_layer", "get_y_from_TFOpLambda",
           "check_quantizer_collapse"]
