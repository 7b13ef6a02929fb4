# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Divide-and-conquer hardware cost model (QKeras's ``qtools.DnC``).

    from qkeras.qtools.DnC import divide_and_conquer
    best_path, best_cost = divide_and_conquer.estimate_model_cost(model)

``dnc_layer_cost_ace`` holds the gate-count model (MAC polynomial, memory
gates per bit). Needs neither pandas nor matplotlib (see
``dnc_layer_cost_ace``).
"""
