# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Ternary convolutions with quantized batch normalization (QKeras's
``example_mnist_bn.py``).

Each ``QConv2D`` has ternary weights and no bias; a ``QBatchNormalization``
with power-of-two parameters (``gamma_quantizer=quantized_relu_po2(4,8)``,
``variance_quantizer=quantized_relu_po2(6)``,
``beta_quantizer=quantized_po2(4,4)``) follows it. The learning rate is
halved every few epochs by a schedule callback, the Keras 3 way:
``keras.callbacks.LearningRateScheduler`` with a step-decay function
(QKeras's version had its own callback calling ``K.set_value`` on the
Keras 2 optimizer's ``lr``). The run ends with the test accuracy, the
quantized batch-normalization parameters and ``print_qstats``.

Runs offline on scikit-learn's 8x8 digits by default::

  python examples/example_mnist_bn.py
  python examples/example_mnist_bn.py --dataset mnist --epochs 6
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


def step_decay(initial, factor=0.5, every=4):
  """The schedule ``epoch -> initial * factor**(epoch // every)`` (epochs
  counted from 0)."""
  def schedule(epoch, learning_rate=None):  # pylint: disable=unused-argument
    return initial * factor**(epoch // every)
  return schedule


def parse_args(argv=None):
  """The command line: data options plus the learning-rate schedule."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0])
  _data.add_arguments(parser, epochs=10)
  parser.add_argument("--learning-rate", type=float, default=0.005,
                      help="initial learning rate (default 0.005)")
  parser.add_argument("--decay-every", type=positive_int, default=4,
                      help="halve the learning rate every this many epochs "
                      "(default 4)")
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed (default 0)")
  args = parser.parse_args(argv)
  if not args.learning_rate > 0:
    parser.error(f"--learning-rate must be positive, got {args.learning_rate}")
  return args


def conv_bn_block(x, filters, strides, index):
  """Ternary convolution, power-of-two batch normalization, 4-bit ReLU."""
  # pylint: disable=g-import-not-at-top
  from qkeras import QActivation, QBatchNormalization, QConv2D
  from qkeras import quantized_po2, quantized_relu_po2, ternary
  x = QConv2D(filters, 3, strides=strides, padding="same", use_bias=False,
              kernel_quantizer=ternary(), name=f"conv2d_{index}")(x)
  x = QBatchNormalization(gamma_quantizer=quantized_relu_po2(4, 8),
                          variance_quantizer=quantized_relu_po2(6),
                          beta_quantizer=quantized_po2(4, 4),
                          name=f"bn_{index}")(x)
  return QActivation("quantized_relu(4,2)", name=f"act_{index}")(x)


def build_model(input_shape, classes):
  """Three conv/batch-norm blocks (the last two strided), then a dense
  layer."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QDense, quantized_bits
  x = x_in = keras.Input(input_shape, name="input")
  for index, (filters, strides) in enumerate([(16, 1), (32, 2), (32, 2)]):
    x = conv_bn_block(x, filters, strides, index)
  x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
  x = QDense(classes, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="dense")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x, name="example_mnist_bn")


def print_batchnorm_parameters(model):
  """The quantized gamma, beta, mean and variance of each batch norm."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QBatchNormalization
  print("\nQuantized batch-normalization parameters (distinct values):")
  for layer in model.layers:
    if not isinstance(layer, QBatchNormalization):
      continue
    for name, quantizer, variable in [
        ("gamma", layer.gamma_quantizer_internal, layer.gamma),
        ("beta", layer.beta_quantizer_internal, layer.beta),
        ("mean", layer.mean_quantizer_internal, layer.moving_mean),
        ("variance", layer.variance_quantizer_internal,
         layer.moving_variance)]:
      values = np.unique(keras.ops.convert_to_numpy(quantizer(variable)))
      shown = " ".join(f"{v:g}" for v in values[:8])
      more = " ..." if len(values) > 8 else ""
      print(f"  {layer.name}/{name:8} {str(quantizer):32} {shown}{more}")


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
  schedule = keras.callbacks.LearningRateScheduler(
      step_decay(args.learning_rate, 0.5, args.decay_every), verbose=1)
  accuracy = _data.train_and_evaluate(
      model, (x_train, y_train, x_test, y_test), args.epochs,
      keras.optimizers.Adam(args.learning_rate), callbacks=[schedule])
  print(f"test accuracy: {accuracy:.4f}")
  print_batchnorm_parameters(model)
  print_qstats(model)
  return 0


if __name__ == "__main__":
  sys.exit(main())
