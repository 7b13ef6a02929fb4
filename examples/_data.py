# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Data for the examples: offline by default.

``load(name)`` returns ``(x_train, y_train, x_test, y_test, info)`` with
images as float32 ``(N, H, W, C)`` in [0, 1] and one-hot labels:

* ``"digits"`` (default): scikit-learn's bundled 8x8 digits (no network);
* ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``: ``keras.datasets`` (needs
  network or a cached copy in ``~/.keras/datasets``).

``add_arguments(parser)`` adds the examples' common options (``--dataset``,
``--epochs``, ``--samples``); ``fail(message)`` exits with a one-line error
and status 2 (bad input never ends in a traceback).

``train_and_evaluate(model, data, epochs)`` is the classifiers' loop:
``compile_classifier`` (categorical cross-entropy, accuracy), ``fit`` (one
line per epoch) and ``evaluate_accuracy``.
"""

import argparse
import sys

import numpy as np

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")


class DataError(Exception):
  """A data set could not be loaded (the message says why)."""


def fail(message, prog=None):
  """Prints ``<prog>: error: <message>`` to stderr and exits with 2."""
  prog = prog or sys.argv[0]
  print(f"{prog}: error: {message}", file=sys.stderr)
  raise SystemExit(2)


def _positive_int(text):
  try:
    value = int(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
  if value < 1:
    raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
  return value


def add_arguments(parser, epochs=10, datasets=DATASETS):
  """``--dataset``, ``--epochs`` and ``--samples`` (limit the training set,
  e.g. for a quick run)."""
  parser.add_argument(
      "--dataset", default=datasets[0], choices=datasets,
      help=f"data set (default {datasets[0]}; digits ships with "
      "scikit-learn, the others are downloaded by keras.datasets)")
  parser.add_argument("--epochs", type=_positive_int, default=epochs,
                      help=f"training epochs (default {epochs})")
  parser.add_argument("--samples", type=_positive_int, default=None,
                      help="use at most this many training samples")
  return parser


def _one_hot(labels, classes):
  labels = np.asarray(labels).reshape(-1).astype(int)
  out = np.zeros((len(labels), classes), np.float32)
  out[np.arange(len(labels)), labels] = 1.0
  return out


def _digits(seed):
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  digits = load_digits()
  x = (digits.images / 16.0).astype(np.float32)[..., None]
  y = _one_hot(digits.target, 10)
  order = np.random.RandomState(seed).permutation(len(x))
  test, train = order[:360], order[360:]
  return x[train], y[train], x[test], y[test]


def _keras_dataset(name):
  import keras  # pylint: disable=g-import-not-at-top
  module = getattr(keras.datasets, name)
  try:
    (x_train, y_train), (x_test, y_test) = module.load_data()
  except Exception as e:  # pylint: disable=broad-except
    raise DataError(
        f"cannot load {name!r} through keras.datasets ({type(e).__name__}: "
        f"{e}); it needs network access or a cached copy in "
        "~/.keras/datasets. Use --dataset digits to run offline.") from None
  x_train = x_train.astype(np.float32) / 255.0
  x_test = x_test.astype(np.float32) / 255.0
  if x_train.ndim == 3:
    x_train, x_test = x_train[..., None], x_test[..., None]
  classes = int(np.max(y_train)) + 1
  return x_train, _one_hot(y_train, classes), x_test, _one_hot(y_test,
                                                                classes)


def load(name="digits", samples=None, seed=0):
  """``(x_train, y_train, x_test, y_test, info)``; ``info`` is a one-line
  description. Raises ``DataError`` when a download is impossible and
  ``ValueError`` for an unknown name."""
  if name not in DATASETS:
    raise ValueError(f"unknown dataset {name!r}; choose one of "
                     f"{', '.join(DATASETS)}")
  if name == "digits":
    x_train, y_train, x_test, y_test = _digits(seed)
  else:
    x_train, y_train, x_test, y_test = _keras_dataset(name)
  if samples is not None:
    x_train, y_train = x_train[:samples], y_train[:samples]
  info = (f"{name}: {len(x_train)} training / {len(x_test)} test images "
          f"{x_train.shape[1:]}, {y_train.shape[1]} classes")
  return x_train, y_train, x_test, y_test, info


def load_or_fail(args, prog=None):
  """``load`` for parsed ``args``; a data error ends the program with a
  one-line message."""
  try:
    return load(args.dataset, args.samples)
  except (DataError, ValueError) as e:
    fail(str(e), prog)


# -- the classifiers' train/evaluate loop ------------------------------------


def compile_classifier(model, optimizer="adam",
                       loss="categorical_crossentropy"):
  """Compiles ``model`` with ``optimizer``, ``loss`` and the accuracy."""
  model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def fit(model, data, epochs, batch_size=32, callbacks=None, validate=False):
  """Fits ``model`` on the training half of ``data`` (``(x_train, y_train,
  x_test, y_test)``), one line per epoch; ``validate`` also reports the
  test half after each epoch."""
  x_train, y_train, x_test, y_test = data
  model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
            callbacks=callbacks,
            validation_data=(x_test, y_test) if validate else None,
            verbose=2)


def evaluate_accuracy(model, data):
  """The accuracy of the compiled ``model`` on the test half of ``data``."""
  _, _, x_test, y_test = data
  return model.evaluate(x_test, y_test, verbose=0)[1]


def train_and_evaluate(model, data, epochs, optimizer="adam", batch_size=32,
                       loss="categorical_crossentropy", callbacks=None,
                       validate=False):
  """Compiles, fits (see ``fit``) and returns the test accuracy of the
  classifier ``model``."""
  compile_classifier(model, optimizer, loss)
  fit(model, data, epochs, batch_size, callbacks, validate)
  return evaluate_accuracy(model, data)
