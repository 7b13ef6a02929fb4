# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The 14 quantizer classes in one import (QKeras's ``quantizer_imports``).

    from qkeras.quantizer_imports import quantized_bits, quantized_relu

Not imported by ``import qkeras`` (as in QKeras).
"""

from qkeras.quantizers import bernoulli
from qkeras.quantizers import binary
from qkeras.quantizers import quantized_bits
from qkeras.quantizers import quantized_hswish
from qkeras.quantizers import quantized_linear
from qkeras.quantizers import quantized_po2
from qkeras.quantizers import quantized_relu
from qkeras.quantizers import quantized_relu_po2
from qkeras.quantizers import quantized_sigmoid
from qkeras.quantizers import quantized_tanh
from qkeras.quantizers import quantized_ulaw
from qkeras.quantizers import stochastic_binary
from qkeras.quantizers import stochastic_ternary
from qkeras.quantizers import ternary

__all__ = ["quantized_linear", "quantized_bits", "bernoulli", "ternary",
           "stochastic_ternary", "binary", "stochastic_binary",
           "quantized_relu", "quantized_ulaw", "quantized_tanh",
           "quantized_sigmoid", "quantized_po2", "quantized_relu_po2",
           "quantized_hswish"]
