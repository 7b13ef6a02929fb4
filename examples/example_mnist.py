# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""A 4-bit convolutional classifier (QKeras's ``example_mnist.py``).

Three strided ``QConv2D`` layers and a ``QDense`` layer with
``quantized_bits(4,0,1)`` weights and ``quantized_relu(4,0)`` activations
are trained, then inspected with the model tools: ``quantized_model_debug``
(output range of every layer and range of its quantized weights),
``model_save_quantized_weights`` (the weights in hardware form) and
``print_qstats`` (operation counts and weight bits).

Runs offline on scikit-learn's 8x8 digits by default; ``--dataset mnist``
uses the real MNIST (downloaded by ``keras.datasets``)::

  python examples/example_mnist.py
  python examples/example_mnist.py --dataset mnist --epochs 5
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
positive_int = _data._positive_int  # pylint: disable=protected-access


def parse_args(argv=None):
  """The command line: data options plus ``--quantized-weights``."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0])
  _data.add_arguments(parser, epochs=10)
  parser.add_argument("--batch-size", type=positive_int, default=32,
                      help="training batch size (default 32)")
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed (default 0)")
  parser.add_argument("--quantized-weights", metavar="PATH",
                      help="also write the quantized weights to PATH "
                      "(a .weights.h5 file loadable by model.load_weights)")
  args = parser.parse_args(argv)
  path = args.quantized_weights
  if path and not path.endswith(".weights.h5"):
    parser.error("--quantized-weights: the file name must end in .weights.h5")
  if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
    _data.fail(f"--quantized-weights: no directory for {path!r}", PROG)
  return args


def build_model(input_shape, classes):
  """Strided 4-bit convolutions (any input size: padding is "same")."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QActivation, QConv2D, QDense
  from qkeras import quantized_bits, quantized_relu
  weights = quantized_bits(4, 0, 1)
  x = x_in = keras.Input(input_shape, name="input")
  for i, (filters, size) in enumerate([(32, 2), (64, 3), (64, 2)]):
    x = QConv2D(filters, size, strides=2, padding="same",
                kernel_quantizer=weights, bias_quantizer=weights,
                name=f"conv2d_{i}")(x)
    x = QActivation(quantized_relu(4, 0), name=f"act_{i}")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  x = QDense(classes, kernel_quantizer=weights, bias_quantizer=weights,
             name="dense")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x, name="example_mnist")


def train(model, data, args):
  """Fits ``model`` and returns its test accuracy."""
  import keras  # pylint: disable=g-import-not-at-top
  return _data.train_and_evaluate(model, data, args.epochs,
                                  keras.optimizers.Adam(0.003),
                                  batch_size=args.batch_size)


def print_hardware_weights(saved):
  """One line per layer of ``model_save_quantized_weights``' result."""
  print("\nQuantized weights for hardware:")
  for name, entry in saved.items():
    if not entry["weights"]:
      continue
    parts = []
    for weight in entry["weights"]:
      weight = np.asarray(weight)
      parts.append(f"{weight.shape} in [{weight.min():g}, {weight.max():g}]")
    scales = entry.get("scales")
    scale_text = ("" if scales is None else
                  f", scales {np.unique(np.asarray(scales[0])).tolist()}")
    print(f"  {name:10} {'; '.join(parts)}{scale_text}")


def main(argv=None):
  """Trains the network, prints its accuracy and statistics; returns 0."""
  args = parse_args(argv)
  x_train, y_train, x_test, y_test, info = _data.load_or_fail(args, PROG)
  print(info)
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras.estimate import print_qstats
  from qkeras.utils import model_save_quantized_weights, quantized_model_debug
  keras.utils.set_random_seed(args.seed)
  model = build_model(x_train.shape[1:], y_train.shape[1])
  model.summary()
  accuracy = train(model, (x_train, y_train, x_test, y_test), args)
  print(f"test accuracy: {accuracy:.4f}")

  print("\nLayer output ranges (quantized_model_debug):")
  quantized_model_debug(model, x_test[:256])
  saved = model_save_quantized_weights(model, args.quantized_weights)
  print_hardware_weights(saved)
  if args.quantized_weights:
    print(f"Quantized weights written to {args.quantized_weights}")
  print_qstats(model)
  return 0


if __name__ == "__main__":
  sys.exit(main())
