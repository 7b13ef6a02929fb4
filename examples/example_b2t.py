# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""BinaryToThermometer: one-hot and thermometer codes of small arrays.

    python examples/example_b2t.py [--classes 2 4 8] [--value-range 8]

Encodes the integers ``0 .. value_range - 1`` (and a few fractions) with
``qkeras.b2t.BinaryToThermometer`` for each class count: plain one-hot of
the bin, ``with_residue`` (the fraction of the bin added to the hot entry),
``use_two_hot_encoding`` (``classes + 1`` bins, the value split between the
two neighbouring bins) and ``merge_with_channels`` on a small image.
"""

import argparse
import os
import sys

import numpy as np

import _data  # examples/_data.py

# qkeras (and so TensorFlow) is imported where it is used, after the
# arguments are checked: --help and bad input answer at once.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
positive_int = _data._positive_int  # pylint: disable=protected-access


def encode(*args, **kwargs):
  """``qkeras.b2t.BinaryToThermometer(*args, **kwargs)``."""
  from qkeras.b2t import BinaryToThermometer  # pylint: disable=g-import-not-at-top
  return BinaryToThermometer(*args, **kwargs)


def show(title, x, codes):
  """Prints each value of ``x`` next to its code."""
  print(f"  {title}:")
  for value, code in zip(x.ravel(), codes.reshape(x.size, -1)):
    cells = " ".join(f"{c:4.2f}" for c in code)
    print(f"    {value:6.2f} -> [{cells}]")


def encode_values(classes, value_range):
  """The four encodings of the integers below ``value_range``."""
  ints = np.arange(value_range, dtype=np.float32)
  print(f"classes={classes}, value_range={value_range} "
        f"(bin width {value_range / classes:g})")
  show("one-hot of the bin", ints,
       encode(ints, classes, value_range))
  show("with_residue", ints,
       encode(ints, classes, value_range, with_residue=True))
  show("use_two_hot_encoding", ints,
       encode(ints, classes, value_range,
                           use_two_hot_encoding=True))
  halves = ints + 0.5
  show("two-hot with residue (x + 0.5)", halves,
       encode(halves, classes, value_range, with_residue=True,
                           use_two_hot_encoding=True))
  print()


def encode_image(classes, value_range):
  """A 2x2 one-channel image: the bins become channels."""
  image = np.array([[[[0], [value_range // 2]],
                     [[value_range // 4], [value_range - 1]]]], np.float32)
  codes = encode(image, classes, value_range,
                              merge_with_channels=True)
  print(f"merge_with_channels: image {image.shape} -> codes {codes.shape}")
  print(np.array2string(codes[0], precision=2))
  print()


def main(argv=None):
  parser = argparse.ArgumentParser(prog=os.path.basename(__file__),
                                   description=__doc__.split("\n")[0])
  parser.add_argument("--classes", type=positive_int, nargs="+",
                      default=[2, 4, 8], help="bin counts (default 2 4 8)")
  parser.add_argument("--value-range", type=positive_int, default=8,
                      help="values lie in [0, value_range) (default 8)")
  args = parser.parse_args(argv)
  for classes in args.classes:
    if classes > args.value_range:
      _data.fail(f"--classes {classes} is more than --value-range "
                 f"{args.value_range} (a bin must hold at least one value)",
                 parser.prog)
  for classes in args.classes:
    encode_values(classes, args.value_range)
  encode_image(args.classes[-1], args.value_range)
  return 0


if __name__ == "__main__":
  sys.exit(main())
