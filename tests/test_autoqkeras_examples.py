# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""qkeras.autoqkeras.examples.run: ConvBlockNetwork, get_data, get_model,
history CSVs and plots, and the search script (offline: digits only)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from qkeras.autoqkeras.examples.run import autoqkeras_example
from qkeras.autoqkeras.examples.run.get_data import get_data
from qkeras.autoqkeras.examples.run.get_model import get_model
from qkeras.autoqkeras.examples.run.networks import ConvBlockNetwork
from qkeras.autoqkeras.examples.run.plot_history import load_history_csv
from qkeras.autoqkeras.examples.run.plot_history import plot_history
from qkeras.autoqkeras.examples.run.plot_history import save_history_csv


def names(model):
  return [layer.name for layer in model.layers]


@pytest.mark.parametrize("kwargs, expected", [
    ({}, ["input", "conv2d_0", "bn_0", "act_0", "pool_0", "conv2d_1",
          "bn_1", "act_1", "pool_1", "flatten", "dense", "softmax"]),
    ({"use_separable": "dsp", "dropout_rate": 0.2},
     ["input", "sepconv2d_0", "bn_0", "act_0", "pool_0", "drop_0",
      "sepconv2d_1", "bn_1", "act_1", "pool_1", "drop_1", "flatten",
      "dense", "softmax"]),
    ({"use_separable": "mobilenet", "all_conv": True},
     ["input", "dwconv2d_0", "conv2d_0", "bn_0", "act_0", "dwconv2d_1",
      "conv2d_1", "bn_1", "act_1", "flatten", "dense", "softmax"]),
    ({"use_xnornet_trick": True},
     ["input", "conv2d_0", "pool_0", "bn_0", "act_0", "conv2d_1", "pool_1",
      "bn_1", "act_1", "flatten", "dense", "softmax"]),
    ({"with_batchnorm": False, "with_maxpooling": False},
     ["input", "conv2d_0", "act_0", "conv2d_1", "act_1", "flatten", "dense",
      "softmax"]),
], ids=["plain", "dsp", "mobilenet_all_conv", "xnornet", "no_bn_no_pool"])
def test_conv_block_network_variants(kwargs, expected):
  model = ConvBlockNetwork((8, 8, 3), 5, 3, [4, 6], **kwargs).build()
  assert names(model) == expected
  assert not model.compiled
  downsampled = kwargs.get("with_maxpooling", True)
  features = model.get_layer("flatten").input.shape
  assert features[1:] == ((2, 2, 6) if downsampled else (8, 8, 6))
  out = model.predict(np.zeros((2, 8, 8, 3), np.float32), verbose=0)
  assert out.shape == (2, 5)
  np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
  # Without batch normalization the convolutions keep their bias.
  assert model.get_layer(expected[1]).use_bias == (
      not kwargs.get("with_batchnorm", True))
  if kwargs.get("all_conv"):
    assert model.get_layer("dwconv2d_0").strides == (2, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"filters": []}, "filters must be a non-empty list"),
    ({"use_separable": "depthwise"}, "use_separable must be False"),
    ({"kernel_size": [3]}, "one entry per block"),
    ({"shape": (8, 8)}, "shape must be"),
])
def test_conv_block_network_bad_arguments(kwargs, message):
  args = dict(shape=(8, 8, 1), nb_classes=10, kernel_size=3, filters=[4, 6])
  args.update(kwargs)
  with pytest.raises(ValueError, match=message):
    ConvBlockNetwork(**args)


def test_get_data_digits_fast_and_get_model():
  (x_train, y_train), (x_test, y_test) = get_data("digits", fast=True)
  assert x_train.shape == (1000, 8, 8, 1) and x_test.shape == (200, 8, 8, 1)
  assert x_train.dtype == np.float32
  assert y_train.shape == (1000, 10) and y_test.shape == (200, 10)
  np.testing.assert_array_equal(y_train.sum(axis=1), 1.0)
  assert set(np.unique(y_train)) == {0.0, 1.0}
  assert abs(float(x_train.mean())) < 1e-5
  assert np.abs(x_train.mean(axis=0)).max() < 1e-5   # per-pixel mean
  assert (x_train.max(axis=0) - x_train.min(axis=0)).max() <= 1.0
  (x_small, y_small), (x_small_test, _) = get_data("digits", fast=50)
  assert len(x_small) == len(y_small) == 50 and len(x_small_test) == 10
  model = get_model("digits")
  assert model.input_shape == (None, 8, 8, 1)
  assert model.output_shape == (None, 10)
  assert model.predict(x_small[:3], verbose=0).shape == (3, 10)


def test_unknown_names_raise():
  for call in (get_data, get_model):
    with pytest.raises(ValueError, match="unknown dataset 'svhn'; allowed: "
                       "digits, mnist, fashion_mnist, cifar10, cifar100"):
      call("svhn")
  with pytest.raises(ValueError, match="fast must be"):
    get_data("digits", fast=0.5)


def test_history_csv_round_trip_and_plots(tmp_path):
  pytest.importorskip("matplotlib").use("Agg")
  history = {"trial_id": ["02", "00", "01"], "score": [0.9, 0.8, 0.7],
             "trial_size": [100.0, 300.0, 200.0], "acc": [0.9, 0.8, None],
             "val_acc": [0.85, 0.75, 0.65]}
  first = tmp_path / "log_a.csv"
  assert save_history_csv(history, first) == 3
  assert first.read_text().splitlines()[:2] == [
      "trial_id,score,trial_size,acc,val_acc", "02,0.9,100.0,0.9,0.85"]
  assert load_history_csv(first) == history
  fig = plot_history(str(first), output=str(tmp_path / "one.png"))
  assert len(fig.axes) == 3 and os.path.getsize(tmp_path / "one.png")

  class FakeAutoQKeras:
    def history(self):
      return dict(history, trial_size=[50.0, 60.0, 70.0])

  save_history_csv(FakeAutoQKeras(), tmp_path / "log_b.csv")
  fig = plot_history(str(tmp_path / "log_*.csv"),
                     output=str(tmp_path / "both.png"))
  assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2
  assert os.path.getsize(tmp_path / "both.png")
  with pytest.raises(ValueError, match="misses"):
    save_history_csv({"score": []}, tmp_path / "bad.csv")
  with pytest.raises(ValueError, match="no file matches"):
    plot_history(str(tmp_path / "nothing_*.csv"))


def test_example_script_bad_arguments(tmp_path, capsys):
  with pytest.raises(SystemExit) as e:
    autoqkeras_example.main(["--dataset", "svhn"])
  assert e.value.code == 2
  blocker = tmp_path / "file"
  blocker.write_text("")
  assert autoqkeras_example.main(
      ["--output-dir", str(blocker / "out")]) == 2
  assert "is not a directory" in capsys.readouterr().err


def test_example_script_runs_a_search(tmp_path, capsys):
  out_dir = tmp_path / "run"
  assert autoqkeras_example.main([
      "--dataset", "digits", "--max-trials", "1", "--epochs", "1",
      "--samples", "120", "--batch-size", "40",
      "--output-dir", str(out_dir)]) == 0
  out = capsys.readouterr().out
  best = out[out.index("Best model"):]
  # The best model's quantizers, one line per quantized layer.
  for name in ("conv2d_0", "act_0", "conv2d_1", "act_1", "dense"):
    assert any(line.startswith(name) for line in best.splitlines())
  assert "bn_0                 is normal keras bn layer" in best
  assert "best model test accuracy" in best
  history = load_history_csv(out_dir / "log_digits_bits.csv")
  assert len(history["trial_id"]) == 1 and history["val_acc"][0] is not None


def test_example_script_checks_arguments_before_importing_tensorflow():
  script = autoqkeras_example.__file__
  code = ("import runpy, sys\n"
          f"sys.argv = [{script!r}, '--epochs', '0']\n"
          "try:\n"
          f"  runpy.run_path({script!r}, run_name='__main__')\n"
          "except SystemExit as e:\n"
          "  print('exit', e.code, 'tensorflow' in sys.modules)\n")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=60, check=False)
  assert result.stdout.strip() == "exit 2 False", result.stderr
  assert "--epochs: must be at least 1, got 0" in result.stderr
