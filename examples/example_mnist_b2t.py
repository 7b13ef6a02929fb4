# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""An image classifier whose input pixels are BinaryToThermometer codes.

    python examples/example_mnist_b2t.py [--dataset digits] [--classes 4]

Each pixel, as an 8-bit integer, is replaced by ``--classes`` one-hot
channels (``qkeras.b2t.BinaryToThermometer``, optionally with the residue or
two-hot encoding), so the first layer sees only 0/1 inputs (or [0, 2) with
the residue). The first convolution has ``quantized_po2`` weights, the
second ``stochastic_ternary`` ones. After training it prints the test
accuracy, ``print_qstats`` and the accumulator bits of each layer measured
on the test set (``analyze_accumulator_from_sample(..., mode="sampled")``).
"""

import argparse
import os
import sys

import numpy as np

import _data  # examples/_data.py

# Keras and qkeras are imported where they are used, after the arguments
# are checked: --help and bad input answer without loading TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
positive_int = _data._positive_int  # pylint: disable=protected-access


def thermometer(images, classes, residue=False, two_hot=False):
  """``(N, H, W, C)`` images in [0, 1] -> ``(N, H, W, C * bins)`` codes of
  their 8-bit values."""
  from qkeras.b2t import BinaryToThermometer  # pylint: disable=g-import-not-at-top
  pixels = np.clip(np.round(images * 255.0), 0, 255)
  return BinaryToThermometer(pixels, classes, 256, with_residue=residue,
                             merge_with_channels=True,
                             use_two_hot_encoding=two_hot)


def build_classifier(shape, num_classes):
  """po2 conv -> pool -> stochastic_ternary conv -> 4-bit dense."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QActivation, QConv2D, QDense
  x = x_in = keras.Input(shape, name="codes")
  x = QConv2D(16, 3, padding="same", kernel_quantizer="quantized_po2(4,1)",
              bias_quantizer="quantized_po2(4,1)", name="conv_po2")(x)
  x = QActivation("quantized_relu(4,0)", name="act0")(x)
  x = keras.layers.MaxPooling2D(2, name="pool")(x)
  x = QConv2D(32, 3, padding="same", kernel_quantizer="stochastic_ternary",
              bias_quantizer="quantized_bits(4,0,1)",
              name="conv_ternary")(x)
  x = QActivation("quantized_relu(4,0)", name="act1")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  x = QDense(num_classes, kernel_quantizer="quantized_bits(4,0,1)",
             bias_quantizer="quantized_bits(4,0,1)", name="dense")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x, name="b2t_classifier")


def parse_args(argv):
  parser = argparse.ArgumentParser(prog=os.path.basename(__file__),
                                   description=__doc__.split("\n")[0])
  _data.add_arguments(parser, epochs=10)
  parser.add_argument("--classes", type=positive_int, default=4,
                      help="thermometer bins per pixel, at most 256 "
                      "(default 4)")
  parser.add_argument("--residue", action="store_true",
                      help="add the fraction of the bin (with_residue)")
  parser.add_argument("--two-hot", action="store_true",
                      help="use_two_hot_encoding (classes + 1 bins)")
  parser.add_argument("--batch-size", type=positive_int, default=64,
                      help="training batch size (default 64)")
  args = parser.parse_args(argv)
  if args.classes > 256:
    _data.fail(f"--classes must be at most 256, got {args.classes}",
               parser.prog)
  return parser, args


def print_accumulators(model, x_sample):
  """The sampled accumulator bits of each QConv2D / QDense layer."""
  # pylint: disable=g-import-not-at-top
  from qkeras.estimate import analyze_accumulator_from_sample
  bits = analyze_accumulator_from_sample(model, x_sample, mode="sampled")
  print()
  print("Accumulator bits measured on the test set (mode='sampled'):")
  for name in sorted(bits):
    print(f"    {name:30}: {bits[name]}")


def main(argv=None):
  parser, args = parse_args(argv)
  x_train, y_train, x_test, y_test, info = _data.load_or_fail(args,
                                                              parser.prog)
  print(info)
  x_train = thermometer(x_train, args.classes, args.residue, args.two_hot)
  x_test = thermometer(x_test, args.classes, args.residue, args.two_hot)
  print(f"thermometer codes: {x_train.shape[1:]} per image")
  from qkeras.estimate import print_qstats  # pylint: disable=g-import-not-at-top
  model = build_classifier(x_train.shape[1:], y_train.shape[1])
  model.summary()
  accuracy = _data.train_and_evaluate(
      model, (x_train, y_train, x_test, y_test), args.epochs,
      batch_size=args.batch_size, validate=True)
  print(f"test accuracy: {accuracy:.4f}")
  print_qstats(model)
  print_accumulators(model, x_test)
  return 0


if __name__ == "__main__":
  sys.exit(main())
