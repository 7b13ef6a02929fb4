# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""A classifier built from QOctaveConv2D blocks, trained for one epoch.

    python examples/example_qoctave.py [--dataset generated] [--size 32]

An octave convolution keeps a high-frequency tensor and a low-frequency one
at half the resolution (``qkeras.qoctave.QOctaveConv2D``). The first block
splits the image (``alpha=0.5``) with QConv2D paths, the second works on both
tensors with QSeparableConv2D paths (``use_separable=True``), the third
(``alpha=0``) merges them back into one high-frequency tensor; all weights
are 4-bit. The default data is generated: ``--size`` x ``--size`` RGB noise
with a brighter square in one of four quadrants (the class); QKeras's
version used 256x256x3 images, which is slow on a CPU. ``--dataset digits``
and the others train on real images instead (``--size`` is then ignored).
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

DATASETS = ("generated",) + _data.DATASETS
QUANTIZERS = dict(
    kernel_quantizer="quantized_bits(4,0,1)",
    bias_quantizer="quantized_bits(4,0,1)",
    depthwise_quantizer="quantized_bits(4,0,1)",
    pointwise_quantizer="quantized_bits(4,0,1)",
    pooling_quantizer="quantized_bits(8,0,1)",
    activation="quantized_relu(4,0)")


def generated_images(count, size, seed=0):
  """``count`` noisy RGB images; the class (0-3) is the quadrant that holds
  a brighter square. Returns ``(images, one-hot labels)``."""
  rng = np.random.RandomState(seed)
  images = rng.uniform(0.0, 0.5, (count, size, size, 3)).astype(np.float32)
  labels = rng.randint(0, 4, count)
  half = size // 2
  for image, label in zip(images, labels):
    row, col = divmod(label, 2)
    image[row * half:(row + 1) * half, col * half:(col + 1) * half] += 0.5
  return images, np.eye(4, dtype=np.float32)[labels]


def load(args, prog):
  """``(x_train, y_train, x_test, y_test, info)`` for ``--dataset``."""
  if args.dataset != "generated":
    return _data.load_or_fail(args, prog)
  count = args.samples or 512
  x_train, y_train = generated_images(count, args.size, seed=0)
  x_test, y_test = generated_images(max(count // 4, 1), args.size, seed=1)
  info = (f"generated: {len(x_train)} training / {len(x_test)} test images "
          f"{x_train.shape[1:]}, 4 classes")
  return x_train, y_train, x_test, y_test, info


def build_model(shape, num_classes):
  """Three QOctaveConv2D blocks (split, separable, merge) and a classifier."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QDense
  from qkeras.qoctave import QOctaveConv2D
  x_in = keras.Input(shape, name="image")
  high, low = QOctaveConv2D(8, 3, alpha=0.5, padding="same",
                            use_separable=False, name="block1",
                            **QUANTIZERS)([x_in, None])
  high = keras.layers.MaxPooling2D(2, name="pool_h")(high)
  low = keras.layers.MaxPooling2D(2, name="pool_l")(low)
  high, low = QOctaveConv2D(16, 3, alpha=0.5, padding="same",
                            use_separable=True, name="block2",
                            **QUANTIZERS)([high, low])
  high, _ = QOctaveConv2D(16, 3, alpha=0.0, padding="same",
                          use_separable=True, name="block3",
                          **QUANTIZERS)([high, low])
  x = keras.layers.Flatten(name="flatten")(high)
  x = QDense(num_classes, kernel_quantizer="quantized_bits(4,0,1)",
             bias_quantizer="quantized_bits(4,0,1)", name="dense")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x, name="qoctave")


def parse_args(argv):
  parser = argparse.ArgumentParser(prog=os.path.basename(__file__),
                                   description=__doc__.split("\n")[0])
  _data.add_arguments(parser, epochs=1, datasets=DATASETS)
  parser.add_argument("--size", type=positive_int, default=32,
                      help="side of the generated images, a multiple of 4 "
                      "(default 32; QKeras's example used 256)")
  parser.add_argument("--batch-size", type=positive_int, default=32,
                      help="training batch size (default 32)")
  args = parser.parse_args(argv)
  if args.dataset == "generated" and args.size % 4:
    _data.fail(f"--size must be a multiple of 4, got {args.size}",
               parser.prog)
  return parser, args


def main(argv=None):
  parser, args = parse_args(argv)
  x_train, y_train, x_test, y_test, info = load(args, parser.prog)
  if x_train.shape[1] % 4 or x_train.shape[2] % 4:
    _data.fail(f"image sides must be divisible by 4, got {x_train.shape[1:3]}",
               parser.prog)
  print(info)
  import keras  # pylint: disable=g-import-not-at-top
  model = build_model(x_train.shape[1:], y_train.shape[1])
  model.summary()
  accuracy = _data.train_and_evaluate(
      model, (x_train, y_train, x_test, y_test), args.epochs,
      keras.optimizers.Adam(3e-3), batch_size=args.batch_size)
  print(f"test accuracy after {args.epochs} epoch(s): {accuracy:.4f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
