# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Batch-norm folding helpers (``qkeras.bn_folding_utils``, QKeras's path).

``unfold_model(model)`` replaces every ``QConv2DBatchnorm``,
``QDepthwiseConv2DBatchnorm`` and ``QDenseBatchnorm`` by the plain layer
(``QConv2D``, ``QDepthwiseConv2D``, ``QDense``, with a bias) holding the
folded float weights, so the two models predict the same in inference;
``populate_bias_quantizer_from_accumulator`` gives folded layers the bias
quantizer of QTools' accumulator type.

A façade of the tool floor: the folding helpers live in ``qkeras._convert``
(a model reader), the bias helper in ``qkeras.qtools.accumulator_bias``
(it needs QTools).
"""

from qkeras._convert import convert_folded_layer_to_unfolded
from qkeras._convert import is_folded
from qkeras._convert import unfold_model
from qkeras.qtools.accumulator_bias import (
    populate_bias_quantizer_from_accumulator)

__all__ = ["convert_folded_layer_to_unfolded", "unfold_model",
           "populate_bias_quantizer_from_accumulator"]
