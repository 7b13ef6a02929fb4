# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The data-type map of a hybrid Keras/QKeras MLP as JSON.

    python -m qkeras.qtools.examples.example_generate_json [--json out.json]

The plain Keras layers are described with ``keras_quantizer="int8"`` weights
and ``keras_accumulator="int32"`` arithmetic; the po2 QDense layers with their
own quantizers.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from qkeras import QActivation  # noqa: E402
from qkeras import QDense  # noqa: E402
from qkeras import quantized_bits  # noqa: E402
from qkeras.qtools import QTools  # noqa: E402


def hybrid_model():
  """Dense (float) -> QDense (po2 weights) -> QActivation -> Dense."""
  x = x_in = keras.Input((784,), name="input")
  x = keras.layers.Dense(300, name="d0")(x)
  x = keras.layers.Activation("relu", name="d0_act")(x)
  x = QDense(100, kernel_quantizer="quantized_po2(4)",
             bias_quantizer="quantized_po2(4)", name="d1")(x)
  x = QActivation("quantized_relu(4,0)", name="d1_qr4")(x)
  x = keras.layers.Dense(10, name="d2")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--json", help="also write the map to this file")
  args = parser.parse_args(argv)
  qtools = QTools(hybrid_model(), process="horowitz",
                  source_quantizers=[quantized_bits(8, 0, 1)],
                  is_inference=False, weights_path=None,
                  keras_quantizer="int8", keras_accumulator="int32",
                  for_reference=False)
  qtools.qtools_stats_print()
  if args.json:
    qtools.qtools_stats_to_json(args.json)
  return 0


if __name__ == "__main__":
  sys.exit(main())
