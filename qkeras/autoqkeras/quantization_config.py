# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The quantizers AutoQKeras chooses from, with their bit widths.

``default_quantization_config[section][quantizer_string] = bits``. The
sections are the kinds of tensors a layer has: "kernel", "bias",
"activation" and "linear" (quantizers for activations that must stay
linear, e.g. before a softmax). RNN and separable searches also read the
optional sections "recurrent_kernel", "pointwise_kernel" and
"recurrent_activation", which a user config has to provide.
"""

default_quantization_config = {
    "kernel": {
        "binary": 1,
        "stochastic_binary": 1,
        "ternary": 2,
        "stochastic_ternary": 2,
        "quantized_bits(2,1,1,alpha=1.0)": 2,
        "quantized_bits(4,0,1)": 4,
        "quantized_bits(8,0,1)": 8,
        "quantized_po2(4,1)": 4,
    },
    "bias": {
        "quantized_bits(4,0,1)": 4,
        "quantized_bits(8,3,1)": 8,
        "quantized_po2(4,8)": 4,
    },
    "activation": {
        "binary": 1,
        "binary(alpha='auto_po2')": 1,
        "ternary": 2,
        "quantized_relu(3,1)": 3,
        "quantized_relu(4,2)": 4,
        "quantized_relu(8,2)": 8,
        "quantized_relu(8,4)": 8,
        "quantized_relu(16,8)": 16,
        "quantized_relu_po2(4,4)": 4,
    },
    "linear": {
        "binary": 1,
        "ternary": 2,
        "quantized_bits(4,1)": 4,
        "quantized_bits(8,2)": 8,
        "quantized_bits(16,10)": 16,
        "quantized_po2(6,4)": 6,
    },
}
