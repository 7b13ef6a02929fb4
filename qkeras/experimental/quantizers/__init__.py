# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QKeras 0.9's experimental po2 quantizers are not provided.

``quantized_bits_learnable_po2`` and ``quantized_bits_msqe_po2`` (QKeras's
``qkeras/experimental/quantizers``, arXiv 2210.03671) were research code:
used nowhere else in QKeras, untested there, and their numerics are not part
of the behaviour this library reproduces (docs/compat.md, "Package").
``quantized_bits(bits, integer, alpha="auto_po2")`` gives least-squares
power-of-two scales; importing a name from here raises an ImportError that
says so.
"""

__version__ = "0.9.0"

_NOT_PROVIDED = ("BaseQuantizerPO2", "quantized_bits_learnable_po2",
                 "quantized_bits_msqe_po2")


def __getattr__(name):
  if name in _NOT_PROVIDED:
    raise ImportError(
        f"qkeras.experimental.quantizers.{name} (QKeras 0.9's experimental "
        "po2 quantizers, arXiv 2210.03671) is not provided by this qkeras; "
        "use quantized_bits(bits, integer, alpha='auto_po2') for power-of-two "
        "scales (see docs/compat.md).")
  raise AttributeError(
      f"module 'qkeras.experimental.quantizers' has no attribute '{name}'")
