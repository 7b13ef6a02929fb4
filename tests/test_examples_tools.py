# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The model-tool examples: b2t, mnist_ae, mnist_b2t, keras_to_qkeras and
qoctave, run in-process with tiny settings (offline digits data), plus
their ``--help`` and bad input in a subprocess."""

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
SCRIPTS = ("example_b2t", "example_mnist_ae", "example_mnist_b2t",
           "example_keras_to_qkeras", "example_qoctave")

# Example scripts string together library calls that are tested on every
# backend; they run on the default backend only (CI time).
EXAMPLE_SCRIPT = pytest.mark.default_backend_only("an example script")



def load_example(name):
  """Imports ``examples/<name>.py`` (which imports ``_data`` beside it)."""
  if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)
  spec = importlib.util.spec_from_file_location(
      name, os.path.join(EXAMPLES, name + ".py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def run_main(name, argv, capsys):
  """``main(argv)`` of an example; returns what it printed."""
  assert load_example(name).main(argv) == 0
  return capsys.readouterr().out


def printed_float(pattern, out):
  match = re.search(pattern + r"\s*([0-9.]+)", out)
  assert match, f"{pattern!r} not printed"
  return float(match.group(1))


def test_b2t_prints_every_encoding(capsys):
  out = run_main("example_b2t", ["--classes", "2", "4"], capsys)
  assert "classes=2, value_range=8 (bin width 4)" in out
  assert "classes=4, value_range=8 (bin width 2)" in out
  assert "      5.00 -> [0.00 1.00]" in out             # one-hot, 2 classes
  assert "      1.00 -> [1.25 0.00]" in out             # with residue
  assert "      4.00 -> [0.00 1.00 0.00]" in out        # two-hot: 3 bins
  assert "      0.50 -> [0.88 0.12 0.00]" in out        # two-hot residue
  assert "      3.00 -> [0.00 1.50 0.00 0.00]" in out   # residue, 4 classes
  assert "merge_with_channels: image (1, 2, 2, 1) -> codes (1, 2, 2, 4)" in out


@EXAMPLE_SCRIPT
def test_mnist_ae_prints_the_reconstruction_mse(capsys):
  out = run_main("example_mnist_ae",
                 ["--epochs", "1", "--samples", "64", "--bits", "3"], capsys)
  assert "digits: 64 training / 360 test images (8, 8, 1)" in out
  assert "QConv2DTranspose" in out and "QConv2D" in out
  mse = printed_float(r"reconstruction MSE \(3-bit\):", out)
  assert 0.0 < mse < 1.0
  assert 0.0 < printed_float("mean-image MSE:", out) < 1.0


@EXAMPLE_SCRIPT
def test_mnist_b2t_prints_qstats_and_accumulators(capsys):
  out = run_main("example_mnist_b2t",
                 ["--epochs", "1", "--samples", "64", "--classes", "8",
                  "--residue"], capsys)
  assert "thermometer codes: (8, 8, 8) per image" in out
  assert 0.0 <= printed_float("test accuracy:", out) <= 1.0
  assert "Number of operations in model:" in out
  assert re.search(r"conv_po2 +: \d+ +\(sbarrel_4_8\)", out)   # po2 kernel
  assert re.search(r"conv_ternary +: \d+ +\(smux_2_4\)", out)  # ternary
  section = out.split("Accumulator bits measured on the test set")[1]
  assert re.findall(r"^ +(\w+) +: *\d+$", section, re.M) == [
      "conv_po2", "conv_ternary", "dense"]


@EXAMPLE_SCRIPT
def test_keras_to_qkeras_converts_and_dumps(tmp_path, capsys):
  dump = tmp_path / "new" / "dump"
  out = run_main("example_keras_to_qkeras",
                 ["--epochs", "1", "--samples", "64", "--dump-samples", "3",
                  "--dump-dir", str(dump)], capsys)
  # Class entries for conv / stats_dense, name entries win for the rest.
  assert re.search(r"conv +QConv2D +\[\"quantized_bits\(4,0,1", out)
  assert re.search(r"classifier +QDense +\[\"quantized_bits\(8,0,1", out)
  assert re.search(r"conv_act +QActivation +\['quantized_relu\(4,0\)'\]",
                   out)
  assert re.search(r"stats_act +QActivation +\['quantized_relu\(6,2\)'\]",
                   out)
  assert "float model test accuracy:" in out
  assert re.search(r"classifier +: 2720 +\(smult_8_4\)", out)
  assert f"layer outputs of 3 samples written to {dump}" in out
  conv = np.fromfile(dump / "conv.bin", np.float32)
  assert conv.size == 3 * 8 * 8 * 16
  softmax = np.fromfile(dump / "softmax.bin", np.float32).reshape(3, 10)
  np.testing.assert_allclose(softmax.sum(axis=1), 1.0, rtol=1e-5)
  assert (dump / "stats_act.bin").stat().st_size == 3 * 16 * 4


@EXAMPLE_SCRIPT
def test_qoctave_builds_and_trains_one_epoch(capsys):
  out = run_main("example_qoctave",
                 ["--size", "8", "--samples", "16", "--batch-size", "8"],
                 capsys)
  assert "generated: 16 training / 4 test images (8, 8, 3), 4 classes" in out
  for name in ("block1_c_h_to_l", "block2_c_l_to_l", "block2_u_l_to_h",
               "block3_a_h", "QSeparableConv2D"):
    assert name in out
  assert 0.0 <= printed_float(r"test accuracy after 1 epoch\(s\):", out) <= 1


@pytest.mark.parametrize("name, argv, message", [
    ("example_b2t", ["--classes", "16"], "--classes 16 is more than"),
    ("example_mnist_b2t", ["--classes", "300"], "at most 256, got 300"),
    ("example_qoctave", ["--size", "10"], "multiple of 4, got 10"),
])
def test_bad_arguments_end_with_one_line(name, argv, message, capsys):
  with pytest.raises(SystemExit) as exit_info:
    load_example(name).main(argv)
  assert exit_info.value.code == 2
  err = capsys.readouterr().err
  assert len(err.strip().splitlines()) == 1 and message in err
  assert err.startswith(f"{name}.py: error: ")


def run_script(name, *args):
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run(
      [sys.executable, os.path.join(EXAMPLES, name + ".py"), *args],
      env=env, capture_output=True, text=True, timeout=120, check=False)


def test_every_script_has_help():
  for name in SCRIPTS:
    result = run_script(name, "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"usage: {name}.py"), name
  assert "--dataset" in run_script("example_qoctave", "--help").stdout


def test_unwritable_dump_dir_is_a_one_line_error(tmp_path):
  not_a_dir = tmp_path / "file"
  not_a_dir.write_text("")
  result = run_script("example_keras_to_qkeras",
                      "--dump-dir", str(not_a_dir / "dump"))
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and "Traceback" not in result.stderr
  assert lines[0].startswith("example_keras_to_qkeras.py: error: --dump-dir")
  assert "not a writable directory" in lines[0]
