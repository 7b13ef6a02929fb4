# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Data sets for the AutoQKeras examples.

    (x_train, y_train), (x_test, y_test) = get_data("digits", fast=True)

Images come as float32 ``(N, H, W, C)``: the 8-bit pixels divided by 256,
minus the per-pixel mean of the training images (the same mean is taken
from the test images); labels are one-hot float32 ``(N, classes)``.

* ``"digits"``: scikit-learn's bundled 8x8 digits (offline; its 0..16
  pixels are first brought to the 0..256 range, i.e. divided by 16 in
  all); a fixed shuffle, 1437 training and 360 test images.
* ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``, ``"cifar100"`` (fine
  labels): ``keras.datasets``, which needs network access or a cached copy
  in ``~/.keras/datasets`` (``DataError`` otherwise).
"""

import numpy as np

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "cifar100")
# (training, test) images kept by fast=True.
FAST_SIZES = (1000, 200)


class DataError(RuntimeError):
  """A data set could not be loaded (the message says why)."""


def check_dataset(dataset_name):
  """Raises ValueError naming the allowed values for an unknown name."""
  if dataset_name not in DATASETS:
    raise ValueError(f"unknown dataset {dataset_name!r}; allowed: "
                     f"{', '.join(DATASETS)}")


def _one_hot(labels, classes):
  labels = np.asarray(labels).reshape(-1).astype(int)
  out = np.zeros((len(labels), classes), np.float32)
  out[np.arange(len(labels)), labels] = 1.0
  return out


def _digits():
  """8x8 digits with pixels in 0..256 and integer labels."""
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  digits = load_digits()
  x = digits.images.astype(np.float32)[..., None] * 16.0
  order = np.random.RandomState(0).permutation(len(x))
  test, train = order[:360], order[360:]
  return (x[train], digits.target[train]), (x[test], digits.target[test])


def _keras_dataset(name):
  import keras  # pylint: disable=g-import-not-at-top
  module = getattr(keras.datasets, name)
  kwargs = {"label_mode": "fine"} if name == "cifar100" else {}
  try:
    return module.load_data(**kwargs)
  except Exception as e:  # pylint: disable=broad-except
    raise DataError(
        f"cannot load {name!r} through keras.datasets ({type(e).__name__}: "
        f"{e}); it needs network access or a cached copy in "
        "~/.keras/datasets. Use 'digits' to run offline.") from None


def _sizes(fast):
  if fast is True:
    return FAST_SIZES
  if isinstance(fast, bool) or not isinstance(fast, int) or fast < 1:
    raise ValueError("get_data: fast must be a bool or a positive int "
                     f"(training images to keep), got {fast!r}")
  return fast, max(1, fast // 5)


def get_data(dataset_name, fast=False):
  """``((x_train, y_train), (x_test, y_test))`` of a data set.

  Args:
    dataset_name: one of ``DATASETS``.
    fast: False: everything; True: the first 1000 training and 200 test
      images; an int n: the first n training and n // 5 test images.

  Raises:
    ValueError: unknown name or bad ``fast``.
    DataError: a ``keras.datasets`` download was impossible.
  """
  check_dataset(dataset_name)
  sizes = _sizes(fast) if fast else None
  if dataset_name == "digits":
    (x_train, y_train), (x_test, y_test) = _digits()
  else:
    (x_train, y_train), (x_test, y_test) = _keras_dataset(dataset_name)
  if sizes is not None:
    x_train, y_train = x_train[:sizes[0]], y_train[:sizes[0]]
    x_test, y_test = x_test[:sizes[1]], y_test[:sizes[1]]
  x_train = np.asarray(x_train, np.float32) / 256.0
  x_test = np.asarray(x_test, np.float32) / 256.0
  if x_train.ndim == 3:
    x_train, x_test = x_train[..., None], x_test[..., None]
  mean = np.mean(x_train, axis=0)
  x_train -= mean
  x_test -= mean
  classes = 100 if dataset_name == "cifar100" else 10
  return ((x_train, _one_hot(y_train, classes)),
          (x_test, _one_hot(y_test, classes)))
