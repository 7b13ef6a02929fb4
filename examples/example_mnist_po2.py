# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""A classifier with powers of two everywhere (QKeras's
``example_mnist_po2.py``).

Weights and biases are ``quantized_po2(4,1)`` (sign and exponent: 0, ±2**-k
up to 1) and activations ``quantized_relu_po2`` (non-negative powers of
two), one of them given as a string with stochastic rounding
(``"quantized_relu_po2(4,4,use_stochastic_rounding=True)"``: random only in
training, deterministic in ``predict``). Multiplications become shifts:
``print_qstats`` reports them as ``barrel`` (shifter, for the float input)
and ``adder`` operations.

Runs offline on scikit-learn's 8x8 digits by default::

  python examples/example_mnist_po2.py
  python examples/example_mnist_po2.py --dataset mnist --epochs 5
"""

import argparse
import os
import sys

import numpy as np

import _data  # examples/_data.py

# Keras and qkeras are imported where they are used, after the arguments
# are checked: --help and bad input answer without loading TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROG = os.path.basename(__file__)

STOCHASTIC_ACTIVATION = "quantized_relu_po2(4,4,use_stochastic_rounding=True)"


def parse_args(argv=None):
  """The command line: the common data options."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0])
  _data.add_arguments(parser, epochs=10)
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed (default 0)")
  return parser.parse_args(argv)


def build_model(input_shape, classes):
  """Strided po2 convolutions and a po2 dense layer."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QActivation, QConv2D, QDense
  from qkeras import quantized_po2, quantized_relu_po2
  po2 = quantized_po2(4, 1)
  x = x_in = keras.Input(input_shape, name="input")
  activations = [quantized_relu_po2(4, 4), STOCHASTIC_ACTIVATION,
                 quantized_relu_po2(4, 4)]
  for i, (filters, activation) in enumerate(zip([32, 64, 64], activations)):
    x = QConv2D(filters, 3, strides=2, padding="same", kernel_quantizer=po2,
                bias_quantizer=po2, name=f"conv2d_{i}")(x)
    x = QActivation(activation, name=f"act_{i}")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  x = QDense(classes, kernel_quantizer=po2, bias_quantizer=po2,
             name="dense")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x, name="example_mnist_po2")


def print_activation_values(model, x):
  """The distinct values each ``QActivation`` produces on ``x``."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QActivation
  layers = [l for l in model.layers if isinstance(l, QActivation)]
  probe = keras.Model(model.inputs, [l.output for l in layers])
  outputs = probe.predict(x, verbose=0)
  print("\nActivation values on the test images (powers of two only):")
  for layer, output in zip(layers, outputs):
    shown = " ".join(f"{v:g}" for v in np.unique(output))
    print(f"  {layer.name:6} {str(layer.quantizer):28} {shown}")


def main(argv=None):
  """Trains the network, prints its accuracy and statistics; returns 0."""
  args = parse_args(argv)
  x_train, y_train, x_test, y_test, info = _data.load_or_fail(args, PROG)
  print(info)
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras.estimate import print_qstats
  keras.utils.set_random_seed(args.seed)
  model = build_model(x_train.shape[1:], y_train.shape[1])
  model.summary()
  accuracy = _data.train_and_evaluate(
      model, (x_train, y_train, x_test, y_test), args.epochs,
      keras.optimizers.Adam(0.003))
  print(f"test accuracy: {accuracy:.4f}")
  print_activation_values(model, x_test)
  print_qstats(model)
  return 0


if __name__ == "__main__":
  sys.exit(main())
