# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""A power-of-two convolutional network (QKeras's ``example_cifar10_po2.py``).

Convolutions with ``quantized_po2`` weights and ``quantized_relu_po2``
activations, a ternary ``QActivation("ternary()")`` on the last feature
map, and a dense layer whose kernel is quantized with the u-law quantizer
``quantized_ulaw`` (a compander: its levels crowd near the ends of the
range, so small weights become 0 and the kernel comes out sparse). After
training, the quantized weights of every layer are printed (their distinct
values), then ``print_qstats``.

Note on data: QKeras's version trained on CIFAR-10. This one uses
scikit-learn's 8x8 digits by default so that it runs offline in seconds;
pass ``--dataset cifar10`` for the real CIFAR-10 (downloaded by
``keras.datasets``, 32x32x3 images; give it more epochs)::

  python examples/example_cifar10_po2.py
  python examples/example_cifar10_po2.py --dataset cifar10 --epochs 20
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


def parse_args(argv=None):
  """The command line: the common data options (default digits)."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0],
      epilog="The default data set is scikit-learn's 8x8 digits (offline), "
      "not CIFAR-10; use --dataset cifar10 for the real one.")
  _data.add_arguments(parser, epochs=10)
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed (default 0)")
  return parser.parse_args(argv)


def build_model(input_shape, classes):
  """Three po2 convolutions (two strided), a ternary activation, a u-law
  dense layer."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QActivation, QConv2D, QDense
  from qkeras import quantized_bits, quantized_po2, quantized_relu_po2
  from qkeras import quantized_ulaw
  x = x_in = keras.Input(input_shape, name="input")
  for i, (filters, strides) in enumerate([(16, 1), (32, 2), (32, 2)]):
    x = QConv2D(filters, 3, strides=strides, padding="same",
                kernel_quantizer=quantized_po2(4, 1),
                bias_quantizer=quantized_po2(4, 1), name=f"conv2d_{i}")(x)
    activation = quantized_relu_po2(4, 4) if i < 2 else "ternary()"
    x = QActivation(activation, name=f"act_{i}")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  x = QDense(classes, kernel_quantizer=quantized_ulaw(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="dense")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x, name="example_cifar10_po2")


def print_quantized_weights(model):
  """Each quantized weight: its quantizer and the distinct values it takes."""
  import keras  # pylint: disable=g-import-not-at-top
  print("\nQuantized weights (distinct values):")
  for layer in model.layers:
    if not hasattr(layer, "get_quantizers"):
      continue
    for weight, quantizer in zip(layer.weights, layer.get_quantizers()):
      if quantizer is None:
        continue
      values = np.unique(keras.ops.convert_to_numpy(quantizer(weight)))
      shown = " ".join(f"{v:g}" for v in values[:9])
      more = f" ... ({len(values)} values)" if len(values) > 9 else ""
      print(f"  {weight.path:18} {str(quantizer):22} {shown}{more}")


def main(argv=None):
  """Trains the network, prints its accuracy and statistics; returns 0."""
  args = parse_args(argv)
  x_train, y_train, x_test, y_test, info = _data.load_or_fail(args, PROG)
  print(info)
  if args.dataset != "cifar10":
    print(f"(data: {args.dataset}, not CIFAR-10; use --dataset cifar10 for "
          "the original)")
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
  print_quantized_weights(model)
  print_qstats(model)
  return 0


if __name__ == "__main__":
  sys.exit(main())
