# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Binary to (partial) thermometer / one-hot input encoding (NumPy only).

The value range ``[0, value_range)`` is cut into ``classes`` bins of width
``r = value_range / classes``; a value ``x`` falls into bin
``k = floor(x / r)`` with fractional remainder ``f = (x - k*r) / r``:

* plain: one-hot of ``k`` (the low bits are dropped);
* ``with_residue``: one-hot of ``k`` plus ``f`` on the hot entry (``1 + f``);
* ``use_two_hot_encoding``: ``classes + 1`` bins; with residue, ``1 - f`` on
  bin ``k`` and ``f`` on bin ``ceil(x / r)`` (so each entry is <= 1).

E.g. ``classes=2, value_range=8``: 0..3 -> [1, 0], 4..7 -> [0, 1]; with
residue 1 -> [1.25, 0], 6 -> [0, 1.5].
"""

import numpy as np


def _one_hot(indexes, num_classes):
  """Float32 one-hot of integer ``indexes`` (``to_categorical``'s layout).

  As ``keras.utils.to_categorical``, a last axis of size 1 is replaced by
  the class axis: shape ``(B, 1)`` gives ``(B, num_classes)``.
  """
  indexes = np.asarray(indexes).astype(np.int64)
  shape = indexes.shape
  if len(shape) > 1 and shape[-1] == 1:
    shape = shape[:-1]
  flat = indexes.ravel()
  out = np.zeros((flat.size, num_classes), dtype=np.float32)
  out[np.arange(flat.size), flat] = 1.0
  return out.reshape(shape + (num_classes,))


def _check_arguments(x, classes, value_range, two_hot, with_residue):
  """ValueError naming the argument for a bad class count, range or x.

  ``0 <= x < value_range`` (``<= value_range`` with two-hot encoding), and
  the bin indexes ``floor(x / r)`` (and ``ceil(x / r)`` for two-hot with
  residue) must exist after float32 rounding.
  """
  owner = "BinaryToThermometer"
  if (isinstance(classes, bool) or not isinstance(classes, (int, np.integer))
      or classes < 1):
    raise ValueError(f"{owner}: argument 'classes' must be an integer >= 1, "
                     f"got {classes!r}.")
  if (isinstance(value_range, bool) or not np.isscalar(value_range) or
      not np.isfinite(value_range) or value_range <= 0):
    raise ValueError(f"{owner}: argument 'value_range' must be a finite "
                     f"number > 0, got {value_range!r}.")
  if not x.size:
    return
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{owner}: argument 'x' must be finite.")
  scaled = x / (value_range / classes)
  top = np.ceil(scaled) if two_hot and with_residue else np.floor(scaled)
  in_range = x.min() >= 0 and (x.max() <= value_range if two_hot else
                               x.max() < value_range)
  if not in_range or top.max() >= classes + int(two_hot):
    upper = "]" if two_hot else ")"
    raise ValueError(
        f"{owner}: argument 'x' must lie in [0, value_range={value_range}"
        f"{upper}, got values from {x.min()} to {x.max()}.")


def BinaryToThermometer(x, classes, value_range, with_residue=False,  # pylint: disable=invalid-name
                        merge_with_channels=False,
                        use_two_hot_encoding=False):
  """Encodes ``x`` as one-hot / thermometer codes over ``classes`` bins.

  Args:
    x: values in ``[0, value_range)``, e.g. (B, H, W, C) pixels or (B, C)
      features.
    classes: the number of bins (``log2(classes)`` bits are kept).
    value_range: the span of the values (256 for 8-bit data).
    with_residue: add the fraction ``f`` of the bin (see the module doc).
    merge_with_channels: merge the new class axis into the last axis of
      ``x`` (shape ``(..., C * bins)`` instead of ``(..., C, bins)``).
    use_two_hot_encoding: ``classes + 1`` bins and ``1 - f`` / ``f`` split
      between the two neighbouring bins.

  Returns:
    A float32 array of shape ``x.shape + (bins,)`` (``bins = classes`` or
    ``classes + 1``), the last two axes merged with ``merge_with_channels``.
    As with ``to_categorical``, a last axis of size 1 is replaced by the bin
    axis.
  """
  x = np.asarray(x).astype(np.float32)
  two_hot = bool(use_two_hot_encoding)
  _check_arguments(x, classes, value_range, two_hot, with_residue)
  bins = classes + int(two_hot)

  ranges = value_range / classes
  x_floor = np.floor(x / ranges)
  codes = _one_hot(x_floor, bins)

  if with_residue:
    residue = (x - x_floor * ranges) / ranges
    hot = codes == 1
    if two_hot:
      upper = _one_hot(np.ceil(x / ranges), bins)
      upper[upper == 1] = residue.ravel()
      codes[hot] = 1.0 - residue.ravel()
      codes += upper
    else:
      codes[hot] += residue.ravel()

  if merge_with_channels and codes.ndim != x.ndim:
    codes = codes.reshape(codes.shape[:-2] + (codes.shape[-2] *
                                              codes.shape[-1],))
  return codes


__all__ = ["BinaryToThermometer"]
