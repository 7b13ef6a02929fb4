# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The quantizer and training examples in examples/, run end to end.

Each example's ``main(argv)`` runs in this process on tiny settings (one
epoch on 200 digits), so TensorFlow is imported once; subprocess tests check
the command line itself: ``--help`` of every script, and the exit status
and one-line message of bad input (options, paths, a data set that cannot
be downloaded).
"""

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from multibackend import np_out

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
SCRIPTS = ("example_act", "example_qdense", "example_mnist",
           "example_mnist_bn", "example_mnist_po2", "example_cifar10_po2",
           "example_ternary")
TINY = ["--epochs", "1", "--samples", "200"]
ACCURACY = re.compile(r"^test accuracy: (\d\.\d{4})$", re.M)
QSTATS = ("Number of operations in model:", "Weight profiling:",
          "Total Bits", "Weight sparsity:")

# Example scripts string together library calls that are tested on every
# backend; they run on the default backend only (CI time).
EXAMPLE_SCRIPT = pytest.mark.default_backend_only("an example script")



def _load(name):
  """Imports ``examples/<name>.py`` (with examples/ on sys.path, as when it
  is run as a script)."""
  if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)
  spec = importlib.util.spec_from_file_location(
      f"_qkeras_examples_{name}", os.path.join(EXAMPLES, name + ".py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _run(name, argv, capsys):
  """``main(argv)`` of an example; returns its stdout."""
  assert _load(name).main(argv) == 0
  return capsys.readouterr().out


def _accuracy(out):
  found = ACCURACY.findall(out)
  assert len(found) == 1, out[-2000:]
  accuracy = float(found[0])
  assert 0.0 <= accuracy <= 1.0
  return accuracy


def _assert_qstats(out):
  for header in QSTATS:
    assert header in out


def _assert_image(path):
  with open(path, "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@EXAMPLE_SCRIPT
def test_example_act_table_and_plot(tmp_path, capsys):
  from qkeras.quantizers import quantized_sigmoid  # pylint: disable=g-import-not-at-top
  path = tmp_path / "act.png"
  out = _run("example_act", ["--draws", "20", "--plot", str(path)], capsys)
  for title in ("Fixed point", "Powers of two", "Stochastic rounding",
                "Binary and ternary", "Sigmoid and tanh"):
    assert title in out
  row = next(l for l in out.splitlines()
             if l.strip().startswith("quantized_bits(4,0,1) "))
  assert [float(v) for v in row.split()[1:]] == [
      -0.875, -0.875, -0.875, -0.75, -0.375, 0, 0.375, 0.75, 0.875, 0.875,
      0.875]
  for mode in ("hard", "smooth", "real"):
    assert f"quantized_sigmoid(4) [{mode}]" in out
  # The example sets the internal sigmoid back to QKeras's default (hard).
  value = np_out(quantized_sigmoid(4)(np.array([0.8], np.float32)))
  assert value.tolist() == [0.875]
  _assert_image(path)


def test_example_ternary_study_and_plot(tmp_path, capsys):
  path = tmp_path / "ternary.png"
  out = _run("example_ternary", ["--samples", "5000", "--plot", str(path)],
             capsys)
  assert "ternary(alpha='auto')" in out
  assert "stochastic T=8" in out and "unbiased rounding" in out
  steps = re.findall(r"^\s+\d+\s+([\d.]+)\s+[\d.]+\s+[\d.]+%\s+([\d.-]+)$",
                     out, re.M)
  assert len(steps) == 6
  sqnr = [float(s) for _, s in steps]
  assert sqnr[-1] > sqnr[0]  # the least-squares iteration improves
  _assert_image(path)


@EXAMPLE_SCRIPT
def test_example_qdense_trains_saves_and_loads(tmp_path, capsys):
  path = str(tmp_path / "mlp.weights.h5")
  out = _run("example_qdense", TINY + ["--save-weights", path], capsys)
  trained = _accuracy(out)
  _assert_qstats(out)
  assert "(smux_2_" in out  # the ternary layer's multiplexers
  out = _run("example_qdense", ["--load-weights", path], capsys)
  assert "Weights loaded from" in out and "Epoch 1" not in out
  assert _accuracy(out) == trained


@pytest.mark.parametrize("content", [None, b"not an h5 file"])
def test_example_qdense_bad_weights_path(tmp_path, capsys, content):
  path = tmp_path / "bad.weights.h5"
  if content is not None:
    path.write_bytes(content)
  with pytest.raises(SystemExit) as exit_info:
    _load("example_qdense").main(["--load-weights", str(path)])
  assert exit_info.value.code == 2
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1
  assert err.startswith("example_qdense.py: error: --load-weights:")
  assert str(path) in err


@EXAMPLE_SCRIPT
def test_example_mnist(tmp_path, capsys):
  path = tmp_path / "quantized.weights.h5"
  out = _run("example_mnist", TINY + ["--quantized-weights", str(path)],
             capsys)
  _accuracy(out)
  assert re.search(r"^act_0\s+0\.0000\s+0\.9375", out, re.M)  # debug
  assert "Quantized weights for hardware:" in out
  assert re.search(r"conv2d_0 .*\(2, 2, 1, 32\) in \[-?\d+, \d+\]", out)
  assert "(smult_4_4)" in out
  _assert_qstats(out)
  assert path.stat().st_size > 0


@EXAMPLE_SCRIPT
def test_example_mnist_bn(capsys):
  out = _run("example_mnist_bn", ["--epochs", "2", "--samples", "64",
                                  "--decay-every", "1"], capsys)
  _accuracy(out)
  setting = "LearningRateScheduler setting learning rate to"
  assert f"Epoch 1: {setting} 0.005." in out
  assert f"Epoch 2: {setting} 0.0025." in out
  assert re.search(r"bn_0/gamma\s+quantized_relu_po2\(4,8\)", out)
  assert re.search(r"bn_2/beta\s+quantized_po2\(4,4\)", out)
  _assert_qstats(out)


@EXAMPLE_SCRIPT
def test_example_mnist_po2(capsys):
  out = _run("example_mnist_po2", TINY, capsys)
  _accuracy(out)
  assert "quantized_relu_po2(4,4,1)" in out  # the stochastic string
  assert "(sadder_4_4)" in out
  _assert_qstats(out)


@EXAMPLE_SCRIPT
def test_example_cifar10_po2(capsys):
  out = _run("example_cifar10_po2", TINY, capsys)
  _accuracy(out)
  assert "not CIFAR-10" in out
  assert re.search(r"dense/kernel\s+quantized_ulaw\(4,0,1\)", out)
  assert re.search(r"conv2d_0/kernel\s+quantized_po2\(4,1\)", out)
  _assert_qstats(out)


def _script(name, *argv, env=None):
  """Runs ``python examples/<name>.py argv...``."""
  return subprocess.run(
      [sys.executable, os.path.join(EXAMPLES, name + ".py"), *argv],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_help_of_every_script():
  """``--help`` exits 0 with a usage line, without loading TensorFlow (no
  start-up log on stderr)."""
  for name in SCRIPTS:
    result = _script(name, "--help")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(f"usage: {name}.py"), name
    assert "--help" in result.stdout
    assert result.stderr == "", name


@pytest.mark.parametrize("name, argv, message", [
    ("example_mnist", ["--dataset", "imagenet"],
     "argument --dataset: invalid choice: 'imagenet'"),
    ("example_cifar10_po2", ["--epochs", "0"],
     "argument --epochs: must be at least 1, got 0"),
    ("example_qdense", ["--load-weights", "/nonexistent/w.weights.h5"],
     "--load-weights: cannot read '/nonexistent/w.weights.h5' (No such file "
     "or directory)"),
    ("example_mnist", ["--quantized-weights", "/nonexistent/q.weights.h5"],
     "--quantized-weights: no directory for '/nonexistent/q.weights.h5'"),
    ("example_act", ["--plot", "/nonexistent/act.png"],
     "--plot: no directory for '/nonexistent/act.png'"),
    ("example_ternary", ["--plot", "/nonexistent/t.png"],
     "--plot: no directory for '/nonexistent/t.png'"),
])
def test_bad_input_exits_2_with_one_line(name, argv, message):
  """Checked before TensorFlow loads: the message (after argparse's usage
  lines for a bad option) is the only output, and the last line."""
  result = _script(name, *argv)
  assert result.returncode == 2, result.stderr[-3000:]
  assert "Traceback" not in result.stderr
  lines = result.stderr.strip().splitlines()
  assert lines[-1].startswith(f"{name}.py: error: {message}")
  assert all(l.startswith(("usage:", " ")) for l in lines[:-1]), lines


def _error_lines(stderr):
  """stderr without TensorFlow's native start-up log lines."""
  return [l for l in stderr.splitlines() if l.strip() and not (
      l.startswith("WARNING: All log messages before absl") or
      re.match(r"^[IWE]\d{4} ", l))]


def test_dataset_without_network_exits_2_with_one_line(tmp_path):
  """``--dataset mnist`` with no way to download: status 2, one line, no
  traceback. The download is made to fail at once (an unreachable proxy,
  an empty Keras cache) whether or not this machine has network."""
  env = dict(os.environ, KERAS_HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")
  for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
    env[key] = "http://127.0.0.1:9"
  for key in ("no_proxy", "NO_PROXY"):
    env.pop(key, None)
  result = _script("example_mnist", "--dataset", "mnist", "--epochs", "1",
                   "--samples", "50", env=env)
  assert result.returncode == 2, result.stderr[-3000:]
  assert "Traceback" not in result.stderr
  lines = _error_lines(result.stderr)
  assert len(lines) == 1, result.stderr
  assert lines[0].startswith("example_mnist.py: error: cannot load 'mnist' "
                             "through keras.datasets")
  assert "--dataset digits" in lines[0]
