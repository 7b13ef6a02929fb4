"""qkeras.b2t.BinaryToThermometer (NumPy only)."""

import ast
import itertools
import json
import os

import numpy as np
import pytest

from qkeras.b2t import BinaryToThermometer

DATA = os.path.join(os.path.dirname(__file__), "data", "qkeras09_b2t.npz")


def _fixture_cases():
  data = np.load(DATA)
  cases = json.loads(str(data["cases"]))
  out = []
  for i, (name, classes, value_range) in enumerate(cases):
    for key in sorted(k for k in data.files if k.startswith(f"c{i}_")):
      flags = tuple(bool(int(c)) for c in key.split("_")[1])
      out.append((key, name, classes, value_range, flags))
  return out


@pytest.fixture(scope="module")
def recorded():
  return np.load(DATA)


@pytest.mark.parametrize("key,name,classes,value_range,flags",
                         _fixture_cases(), ids=lambda v: str(v))
def test_matches_qkeras09_bit_for_bit(recorded, key, name, classes,
                                      value_range, flags):
  out = BinaryToThermometer(recorded["in_" + name], classes, value_range,
                            *flags)
  expected = recorded[key]
  assert out.dtype == expected.dtype == np.float32
  assert out.shape == expected.shape
  np.testing.assert_array_equal(out.view(np.uint32),
                                expected.view(np.uint32))


def test_docstring_examples():
  x = np.arange(8)
  np.testing.assert_array_equal(BinaryToThermometer(x, 2, 8),
                                [[1, 0]] * 4 + [[0, 1]] * 4)
  np.testing.assert_array_equal(
      BinaryToThermometer(x, 2, 8, with_residue=True),
      [[1, 0], [1.25, 0], [1.5, 0], [1.75, 0],
       [0, 1], [0, 1.25], [0, 1.5], [0, 1.75]])
  # Two-hot: 3 = 0.25 * bin 0 + 0.75 * bin 1 (bin width 4).
  np.testing.assert_array_equal(
      BinaryToThermometer(np.array([3, 4, 7]), 2, 8, with_residue=True,
                          use_two_hot_encoding=True),
      [[0.25, 0.75, 0], [0, 1, 0], [0, 0.25, 0.75]])


@pytest.mark.parametrize("residue,merge,two_hot",
                         list(itertools.product([False, True], repeat=3)))
def test_shapes(residue, merge, two_hot):
  x = np.random.RandomState(0).randint(0, 256, size=(2, 3, 4))
  out = BinaryToThermometer(x, 16, 256, residue, merge, two_hot)
  bins = 17 if two_hot else 16
  assert out.shape == ((2, 3, 4 * bins) if merge else (2, 3, 4, bins))
  # A last axis of size 1 is replaced by the bins (to_categorical's rule).
  col = BinaryToThermometer(x[:, :, :1].reshape(6, 1), 16, 256, residue,
                            merge, two_hot)
  assert col.shape == (6, bins)


def test_merged_channels_are_the_unmerged_codes():
  x = np.random.RandomState(1).uniform(0, 64, size=(3, 5, 2))
  out = BinaryToThermometer(x, 8, 64, with_residue=True)
  merged = BinaryToThermometer(x, 8, 64, with_residue=True,
                               merge_with_channels=True)
  np.testing.assert_array_equal(merged, out.reshape(3, 5, 16))


def test_codes_decode_to_the_value():
  x = np.random.RandomState(2).uniform(0, 16, size=(50,)).astype(np.float32)
  width = 16 / 4
  plain = BinaryToThermometer(x, 4, 16, with_residue=True)
  k = plain.argmax(-1)
  np.testing.assert_allclose(width * (k + plain.max(-1) - 1), x, rtol=1e-6)
  two_hot = BinaryToThermometer(x, 4, 16, with_residue=True,
                                use_two_hot_encoding=True)
  assert two_hot.max() <= 1.0
  np.testing.assert_allclose(two_hot.sum(-1), 1.0, rtol=1e-6)
  np.testing.assert_allclose(width * (two_hot * np.arange(5)).sum(-1), x,
                             rtol=1e-5)


def test_value_range_itself_only_with_two_hot():
  x = np.array([0.0, 16.0])
  np.testing.assert_array_equal(
      BinaryToThermometer(x, 4, 16, use_two_hot_encoding=True),
      [[1, 0, 0, 0, 0], [0, 0, 0, 0, 1]])
  with pytest.raises(ValueError, match="argument 'x'"):
    BinaryToThermometer(x, 4, 16)


@pytest.mark.parametrize("kwargs,name", [
    ({"x": [-1.0, 2.0]}, "x"),
    ({"x": [1.0, 16.0]}, "x"),
    ({"x": [1.0, np.nan]}, "x"),
    ({"x": [17.0], "use_two_hot_encoding": True}, "x"),
    ({"x": [16.5], "use_two_hot_encoding": True, "with_residue": True}, "x"),
    ({"classes": 0}, "classes"),
    ({"classes": 2.5}, "classes"),
    ({"value_range": 0}, "value_range"),
    ({"value_range": np.inf}, "value_range"),
])
def test_bad_input_names_the_argument(kwargs, name):
  args = {"x": [1.0, 2.0], "classes": 4, "value_range": 16}
  args.update(kwargs)
  with pytest.raises(ValueError, match=f"argument '{name}'"):
    BinaryToThermometer(**args)


def test_numpy_only_and_star_exported():
  path = os.path.join(os.path.dirname(__file__), "..", "qkeras", "b2t.py")
  with open(path) as f:
    tree = ast.parse(f.read())
  imported = {alias.name for node in ast.walk(tree)
              if isinstance(node, (ast.Import, ast.ImportFrom))
              for alias in node.names}
  imported |= {node.module for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom)}
  assert imported == {"numpy"}
  namespace = {}
  exec("from qkeras import *", namespace)  # noqa: S102
  assert namespace["BinaryToThermometer"] is BinaryToThermometer
  assert namespace["b2t"].__name__ == "qkeras.b2t"
  # As in QKeras, the callbacks and codebook are not star-exported.
  assert not {"QNoiseScheduler", "weight_compression",
              "activation_compression"} & set(namespace)
