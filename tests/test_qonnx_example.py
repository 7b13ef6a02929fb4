# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""examples/qonnx_export.py: its command line, and a short run whose QONNX
file, executed by qonnx, matches Keras bit for bit."""

import os
import re
import subprocess
import sys

import pytest
from qonnx_run import load_example

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "qonnx_export.py")


def _run_script(*args):
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, *args], env=env,
                        capture_output=True, text=True, timeout=120,
                        check=False)


def test_help_imports_neither_keras_nor_onnx():
  result = _run_script("-X", "importtime", SCRIPT, "--help")
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.startswith("usage: qonnx_export.py")
  assert "--weights {defaults,alpha1}" in result.stdout
  assert "--output PATH.onnx" in result.stdout
  imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
              for line in result.stderr.splitlines()
              if line.startswith("import time:")}
  assert "hls4ml_handoff" in imported  # the model and data come from there
  assert not imported & {"tensorflow", "keras", "qkeras", "onnx", "qonnx",
                         "hls4ml"}


@pytest.mark.parametrize("argv, message", [
    (["--output", os.path.join("no", "such", "dir", "m.onnx")],
     "--output: no directory for "),
    (["--weights", "both"], "argument --weights: invalid choice: 'both'"),
    (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
])
def test_bad_arguments_exit_2_with_one_message(argv, message):
  result = _run_script(SCRIPT, *argv)
  assert result.returncode == 2
  assert "Traceback" not in result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("qonnx_export.py: error: ") and message in last


@pytest.mark.slow  # trains the MLP, runs qonnx's executor
@pytest.mark.default_backend_only("an example script")
@pytest.mark.parametrize("weights", ["defaults", "alpha1"])
def test_example_is_bit_exact(weights, tmp_path, capsys):
  pytest.importorskip("qonnx")
  path = tmp_path / "jets.onnx"
  assert load_example().main(["--epochs", "1", "--samples", "300", "--weights",
                          weights, "--output", str(path)]) == 0
  out = capsys.readouterr().out
  assert path.is_file()
  assert re.search(r"^QONNX == Keras on 100 inputs: bit-exact$", out, re.M)
  assert re.search(r"^nodes: .*\bQuant \d+", out, re.M)
  assert re.search(r"^QONNX test accuracy: [01]\.\d{4}$", out, re.M)
