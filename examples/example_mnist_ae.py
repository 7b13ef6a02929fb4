# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""A convolutional auto-encoder with 4-bit QConv2D / QConv2DTranspose layers.

    python examples/example_mnist_ae.py [--dataset digits] [--epochs 10]

The encoder halves the image twice with strided ``QConv2D`` layers, the
decoder doubles it back with ``QConv2DTranspose``; kernels, biases and the
hidden activations are ``--bits``-bit (``quantized_bits(bits,0,1)`` /
``quantized_relu(bits,0)``), the last layer's sigmoid stays float so that
the output covers [0, 1]. Prints the test reconstruction MSE next to the MSE
of always answering the mean training image. Images must have sides
divisible by 4 (8x8 digits, 28x28 MNIST, 32x32 CIFAR-10).
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


def build_autoencoder(shape, bits, filters=(16, 8)):
  """Encoder (two stride-2 QConv2D) and decoder (two stride-2
  QConv2DTranspose and a float sigmoid output) as one model."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QActivation, QConv2D, QConv2DTranspose
  weights = dict(kernel_quantizer=f"quantized_bits({bits},0,1)",
                 bias_quantizer=f"quantized_bits({bits},0,1)")
  relu = f"quantized_relu({bits},0)"
  x = x_in = keras.Input(shape, name="image")
  for i, n in enumerate(filters):
    x = QConv2D(n, 3, strides=2, padding="same", name=f"enc_conv{i}",
                **weights)(x)
    x = QActivation(relu, name=f"enc_act{i}")(x)
  for i, n in enumerate(reversed(filters)):
    x = QConv2DTranspose(n, 3, strides=2, padding="same",
                         name=f"dec_deconv{i}", **weights)(x)
    x = QActivation(relu, name=f"dec_act{i}")(x)
  x = QConv2DTranspose(shape[-1], 3, padding="same", name="dec_out",
                       **weights)(x)
  x = keras.layers.Activation("sigmoid", name="reconstruction")(x)
  return keras.Model(x_in, x, name="qautoencoder")


def parse_args(argv):
  parser = argparse.ArgumentParser(prog=os.path.basename(__file__),
                                   description=__doc__.split("\n")[0])
  _data.add_arguments(parser, epochs=10)
  parser.add_argument("--bits", type=positive_int, default=4,
                      help="bits of the weights and activations (default 4)")
  parser.add_argument("--batch-size", type=positive_int, default=64,
                      help="training batch size (default 64)")
  return parser, parser.parse_args(argv)


def main(argv=None):
  parser, args = parse_args(argv)
  x_train, _, x_test, _, info = _data.load_or_fail(args, parser.prog)
  if x_train.shape[1] % 4 or x_train.shape[2] % 4:
    _data.fail(f"image sides must be divisible by 4, got {x_train.shape[1:3]}",
               parser.prog)
  print(info)
  import keras  # pylint: disable=g-import-not-at-top
  model = build_autoencoder(x_train.shape[1:], args.bits)
  model.summary()
  model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
  _data.fit(model, (x_train, x_train, x_test, x_test), args.epochs,
            batch_size=args.batch_size, validate=True)
  mse = float(np.mean((model.predict(x_test, verbose=0) - x_test) ** 2))
  baseline = float(np.mean((x_train.mean(axis=0) - x_test) ** 2))
  print(f"mean-image MSE: {baseline:.4f}")
  print(f"reconstruction MSE ({args.bits}-bit): {mse:.4f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
