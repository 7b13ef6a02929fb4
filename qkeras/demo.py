# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The qkeras demo: ``python -m qkeras.demo``.

Runs offline on generated data and shows what the quantizers do:

1. transfer values of common quantizers on a grid of inputs;
2. weight quantization of a random kernel: levels, per-channel scales and
   signal-to-quantization-noise ratio for several quantizer strings;
3. the safe string parser (a rejected string and its message);
4. a Keras serialization round trip.

The demo grows with the library (Q-layers, print_qstats, QTools energy and
AutoQKeras come in later milestones).
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

import qkeras  # pylint: disable=g-import-not-at-top
from qkeras.quantizers import get_quantizer  # pylint: disable=g-import-not-at-top

TRANSFER = ["quantized_bits(4,0,1)", "quantized_relu(3,1)", "quantized_tanh(4)",
            "quantized_po2(4)", "binary()", "ternary()"]
WEIGHTS = ["quantized_bits(8,0,1,alpha=1)", "quantized_bits(4,0,1,alpha=1)",
           "quantized_bits(4,0,1,alpha='auto_po2')",
           "quantized_bits(4,0,1,alpha='auto')", "quantized_po2(5)",
           "ternary(alpha='auto_po2')", "binary(alpha='auto_po2')"]


def transfer_table(out):
  x = np.arange(-2.0, 2.01, 0.25, dtype=np.float32)
  header = "x".rjust(24) + "".join(f"{v:7.2f}" for v in x)
  print("1. Quantizer transfer values", file=out)
  print(header, file=out)
  for text in TRANSFER:
    y = keras.ops.convert_to_numpy(get_quantizer(text)(x))
    print(text.rjust(24) + "".join(f"{v:7.3f}" for v in y), file=out)
  print(file=out)


def weight_table(out, seed=0):
  rng = np.random.RandomState(seed)
  kernel = (rng.normal(size=(64, 8)) *
            np.linspace(0.05, 1.0, 8)).astype(np.float32)
  print("2. Quantizing a 64x8 kernel (columns with different ranges)",
        file=out)
  print(f"{'quantizer':>42} {'levels':>6} {'SQNR dB':>8}  per-column scale",
        file=out)
  for text in WEIGHTS:
    q = get_quantizer(text)
    w = keras.ops.convert_to_numpy(q(kernel))
    noise = np.mean((w - kernel)**2)
    sqnr = 10 * np.log10(np.mean(kernel**2) / max(noise, 1e-30))
    scale = getattr(q, "scale", None)
    scale_text = ("-" if scale is None else
                  np.array2string(np.ravel(qkeras.get_weight_scale(q)),
                                  precision=3, separator=" "))
    print(f"{text:>42} {len(np.unique(w)):6d} {sqnr:8.2f}  {scale_text}",
          file=out)
  print(file=out)


def parser_demo(out):
  print("3. Quantizer strings are parsed, never evaluated", file=out)
  for text in ["quantized_bits(4, 0, 1, alpha=auto_po2)",
               "quantized_relu(4, use_stochastic_rounding=True)", "binary"]:
    print(f"  {text!r:50} -> {get_quantizer(text)}", file=out)
  bad = "quantized_bits(4,0,1,alpha=__import__('os'))"
  try:
    get_quantizer(bad)
  except ValueError as e:
    print(f"  {bad!r:50} -> ValueError: {e}", file=out)
  print(file=out)


def serialization_demo(out):
  print("4. Keras serialization", file=out)
  q = get_quantizer("quantized_bits(6,2,1,alpha='auto_po2')")
  config = keras.saving.serialize_keras_object(q)
  print("  " + json.dumps(config), file=out)
  restored = keras.saving.deserialize_keras_object(config)
  x = np.random.RandomState(1).normal(size=(16, 4)).astype(np.float32)
  same = np.array_equal(keras.ops.convert_to_numpy(q(x)),
                        keras.ops.convert_to_numpy(restored(x)))
  print(f"  restored {restored}: identical outputs = {same}", file=out)


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog="python -m qkeras.demo", description=__doc__.split("\n\n")[0])
  parser.add_argument("--seed", type=int, default=0,
                      help="seed of the generated kernel (default 0)")
  args = parser.parse_args(argv)
  out = sys.stdout
  print(f"qkeras {qkeras.__version__} on Keras {keras.__version__} "
        f"({keras.backend.backend()} backend)\n", file=out)
  transfer_table(out)
  weight_table(out, args.seed)
  parser_demo(out)
  serialization_demo(out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
