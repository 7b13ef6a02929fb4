# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""A quantized multi-layer perceptron (QKeras's ``example_qdense.py``).

The flattened image goes through a ``QDense`` layer with ternary weights and
two ``QDense`` layers with ``quantized_bits`` weights, with 3-bit ReLU
activations (``quantized_relu(3,1)``, range [0, 2)) in between. The network
is trained (optionally saving its weights with ``--save-weights``), or, with
``--load-weights``, built from weights saved before and only evaluated;
``print_qstats`` ends the run.

Runs offline on scikit-learn's 8x8 digits by default::

  python examples/example_qdense.py --save-weights /tmp/mlp.weights.h5
  python examples/example_qdense.py --load-weights /tmp/mlp.weights.h5
"""

import argparse
import os
import sys
import warnings

import _data  # examples/_data.py

# Keras and qkeras are imported where they are used, after the arguments
# are checked: --help and bad input answer without loading TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROG = os.path.basename(__file__)


def parse_args(argv=None):
  """The command line: data options, ``--load-weights``, ``--save-weights``."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0])
  _data.add_arguments(parser, epochs=15)
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed (default 0)")
  parser.add_argument("--load-weights", metavar="PATH",
                      help="skip training: load weights saved by "
                      "--save-weights (a .weights.h5 file) and evaluate")
  parser.add_argument("--save-weights", metavar="PATH",
                      help="save the trained weights to PATH (must end in "
                      ".weights.h5)")
  args = parser.parse_args(argv)
  if args.save_weights and not args.save_weights.endswith(".weights.h5"):
    parser.error("--save-weights: the file name must end in .weights.h5")
  if args.save_weights and not os.path.isdir(
      os.path.dirname(os.path.abspath(args.save_weights))):
    _data.fail(f"--save-weights: no directory for {args.save_weights!r}",
               PROG)
  return args


def build_model(input_shape, classes):
  """Flatten, then ternary and 4-bit dense layers."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QActivation, QDense
  from qkeras import quantized_bits, quantized_relu, ternary
  x = x_in = keras.Input(input_shape, name="input")
  x = keras.layers.Flatten(name="flatten")(x)
  x = QDense(64, kernel_quantizer=ternary(),
             bias_quantizer=quantized_bits(4, 0, 1), name="dense_0")(x)
  x = QActivation(quantized_relu(3, 1), name="act_0")(x)
  x = QDense(32, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="dense_1")(x)
  x = QActivation(quantized_relu(3, 1), name="act_1")(x)
  x = QDense(classes, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="dense_2")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x, name="example_qdense")


def check_readable(path):
  """Ends the run with a one-line message (status 2) unless ``path`` is a
  readable file."""
  try:
    with open(path, "rb"):
      pass
  except OSError as e:
    _data.fail(f"--load-weights: cannot read {path!r} ({e.strerror})", PROG)


def load_weights_or_fail(model, path):
  """``model.load_weights(path)``; a file that does not fit ends the run with
  a one-line message (status 2)."""
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")  # Keras warns before it raises
      model.load_weights(path)
  except Exception as e:  # pylint: disable=broad-except
    lines = str(e).strip().splitlines() or [""]
    _data.fail(f"--load-weights: cannot load {path!r} into this model "
               f"({type(e).__name__}: {lines[0].rstrip(':')})", PROG)


def main(argv=None):
  """Trains (or loads) the MLP, prints its accuracy and statistics; returns
  0."""
  args = parse_args(argv)
  if args.load_weights:
    check_readable(args.load_weights)
  x_train, y_train, x_test, y_test, info = _data.load_or_fail(args, PROG)
  print(info)
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras.estimate import print_qstats
  keras.utils.set_random_seed(args.seed)
  model = build_model(x_train.shape[1:], y_train.shape[1])
  if args.load_weights:
    load_weights_or_fail(model, args.load_weights)
  model.summary()
  _data.compile_classifier(model, keras.optimizers.Adam(0.005))
  data = (x_train, y_train, x_test, y_test)
  if args.load_weights:
    print(f"Weights loaded from {args.load_weights}")
  else:
    _data.fit(model, data, args.epochs)
    if args.save_weights:
      model.save_weights(args.save_weights)
      print(f"Weights saved to {args.save_weights}")
  accuracy = _data.evaluate_accuracy(model, data)
  print(f"test accuracy: {accuracy:.4f}")
  print_qstats(model)
  return 0


if __name__ == "__main__":
  sys.exit(main())
