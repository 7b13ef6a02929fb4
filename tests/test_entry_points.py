"""The command-line entry points start quietly and answer ``--help`` fast.

``python -m qkeras.demo`` and ``python -m qkeras.qtools`` defer the package's
imports (qkeras/__init__.py): ``--help`` loads neither Keras nor TensorFlow,
and TensorFlow's C++ start-up log is quiet unless the user set
``TF_CPP_MIN_LOG_LEVEL``. Every other ``import qkeras`` imports everything,
so saved models load without ``custom_objects``.
"""

import os
import re
import subprocess
import sys

import keras
import pytest

import qkeras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# TensorFlow's C++ (absl) log lines: "I0000 00:00:... port.cc:153] ...".
_TF_LOG = re.compile(r"^(WARNING: All log messages before absl|"
                     r"[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] )", re.M)


def _run(args, env_update=None, cwd=None):
  """Runs ``python ARGS`` with TF_CPP_MIN_LOG_LEVEL unset (unless given)."""
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  env["PYTHONPATH"] = os.pathsep.join(
      [ROOT] + ([cwd] if cwd else []) + [env.get("PYTHONPATH", "")])
  env.update(env_update or {})
  return subprocess.run([sys.executable] + args, env=env, cwd=cwd or ROOT,
                        capture_output=True, text=True, timeout=600)


def _imported(importtime_stderr):
  """Module names in ``python -X importtime``'s report."""
  return {line.rsplit("|", 1)[1].strip()
          for line in importtime_stderr.splitlines()
          if line.startswith("import time:") and "|" in line}


@pytest.mark.parametrize("module", ["qkeras.demo", "qkeras.qtools"])
def test_help_loads_neither_keras_nor_tensorflow(module):
  result = _run(["-X", "importtime", "-m", module, "--help"])
  assert result.returncode == 0, result.stderr
  assert f"usage: python -m {module}" in result.stdout
  imported = _imported(result.stderr)
  assert "qkeras" in imported
  assert not {m for m in imported
              if m.split(".")[0] in ("keras", "tensorflow", "jax", "torch")}
  others = [line for line in result.stderr.splitlines()
            if not line.startswith("import time:")]
  assert others == []


def test_demo_starts_without_tensorflow_log():
  # ``--epochs 0`` stops in main() after the start-up: Keras (TensorFlow)
  # and every qkeras module are loaded by then.
  result = _run(["-m", "qkeras.demo", "--epochs", "0"])
  assert result.returncode == 2
  assert "--epochs must be at least 1" in result.stderr
  assert not _TF_LOG.search(result.stderr), result.stderr


def test_qtools_cli_runs_without_tensorflow_log(tmp_path):
  path = str(tmp_path / "m.keras")
  inputs = keras.Input((4,))
  outputs = qkeras.QDense(2, kernel_quantizer="quantized_bits(4,0,1)",
                          bias_quantizer="quantized_bits(4,0,1)")(inputs)
  keras.Model(inputs, outputs).save(path)
  result = _run(["-m", "qkeras.qtools", path, "--no-map"])
  assert result.returncode == 0, result.stderr
  assert "total (pJ)" in result.stdout
  assert not _TF_LOG.search(result.stderr), result.stderr


_REPORT_LEVEL = """
import os, runpy, sys
sys.argv = [sys.argv[1]] + sys.argv[2:]
try:
  runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
except SystemExit:
  pass
print("level", os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
"""


@pytest.mark.parametrize("module, args", [
    ("qkeras.demo", ["--epochs", "0"]),
    ("qkeras.qtools", ["no_such_model.keras"]),
])
def test_users_log_level_is_kept(module, args):
  result = _run(["-c", _REPORT_LEVEL, module] + args,
                {"TF_CPP_MIN_LOG_LEVEL": "0"})
  assert result.stdout.splitlines()[-1] == "level 0", result.stderr


_REGISTERED = """
import keras, sys
print(keras.saving.get_registered_object("qkeras>QDense"),
      keras.saving.get_registered_object("qkeras>QLSTM"),
      keras.saving.get_registered_object("qkeras>quantized_bits"))
"""


def test_import_qkeras_registers_every_class():
  result = _run(["-c", "import qkeras\n" + _REGISTERED])
  assert result.returncode == 0, result.stderr
  assert result.stdout.split()[1::2] == [
      "'qkeras.qlayers.QDense'>", "'qkeras.qrecurrent.QLSTM'>",
      "'qkeras.quantizers.quantized_bits'>"]


def test_python_m_of_a_user_module_imports_everything(tmp_path):
  """Only qkeras's own entry points defer: ``python -m userpkg.run`` whose
  package imports qkeras gets every class registered."""
  package = tmp_path / "userpkg"
  package.mkdir()
  (package / "__init__.py").write_text("import qkeras\n")
  (package / "run.py").write_text(_REGISTERED)
  result = _run(["-m", "userpkg.run"], cwd=str(tmp_path))
  assert result.returncode == 0, result.stderr
  assert "qkeras.qlayers.QDense" in result.stdout
  assert "qkeras.qrecurrent.QLSTM" in result.stdout


_DEFERRED = """
import sys
# What ``python -m qkeras.demo`` shows while it locates qkeras.demo.
sys.argv[0] = "-m"
sys.orig_argv = [sys.executable, "-m", "qkeras.demo"]
import qkeras
assert "keras" not in sys.modules, "deferred import loaded keras"
assert qkeras.__version__ == "0.9.0" and "keras" not in sys.modules
namespace = {}
exec("from qkeras import *", namespace)
assert "QDense" in namespace and "quantized_bits" in namespace
import keras
assert keras.saving.get_registered_object("qkeras>QLSTM") is qkeras.QLSTM
assert qkeras.safe_eval("binary", {"binary": qkeras.binary}) is not None
assert "QTools" in dir(qkeras.qtools)
print("ok")
"""


def test_deferred_package_finishes_on_first_use():
  result = _run(["-c", _DEFERRED])
  assert result.stdout.strip() == "ok", result.stderr


@pytest.mark.parametrize("orig_argv, expected", [
    (["python", "-m", "qkeras.demo"], "qkeras.demo"),
    (["python", "-X", "importtime", "-m", "qkeras.qtools", "m.keras"],
     "qkeras.qtools"),
    (["python", "-mqkeras.demo", "--help"], "qkeras.demo"),
    (["python", "-m"], None),
])
def test_located_by_python_m(monkeypatch, orig_argv, expected):
  monkeypatch.setattr(sys, "argv", ["-m"])
  monkeypatch.setattr(sys, "orig_argv", orig_argv, raising=False)
  assert qkeras._located_by_python_m() == expected  # pylint: disable=protected-access


def test_located_by_python_m_only_while_locating(monkeypatch):
  monkeypatch.setattr(sys, "argv", ["/x/qkeras/demo.py"])
  monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "qkeras.demo"],
                      raising=False)
  assert qkeras._located_by_python_m() is None  # pylint: disable=protected-access


_EARLY_LINES = (
    "WARNING: All log messages before absl::InitializeLog() is called are "
    "written to STDERR\n"
    "I0000 00:00:1796420214.261812   25096 port.cc:153] oneDNN custom "
    "operations are on.\n"
    "W0101 12:00:00.000001   25096 a.cc:1] a warning\n"
    "E0101 12:00:00.000001       7 b.cc:22] an error\n"
    "a line of our own\n")


@pytest.mark.parametrize("level, kept", [
    ("2", "E0101 12:00:00.000001       7 b.cc:22] an error\n"
          "a line of our own\n"),
    ("0", _EARLY_LINES),
    (None, _EARLY_LINES),
])
def test_log_level_applied_to_tensorflow_early_lines(capfd, monkeypatch,
                                                     level, kept):
  """The lines TensorFlow writes before reading TF_CPP_MIN_LOG_LEVEL are
  held to it; every other line passes."""
  if level is None:
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
  else:
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", level)
  capfd.readouterr()
  with qkeras._tensorflow_log_level_applied():  # pylint: disable=protected-access
    os.write(2, _EARLY_LINES.encode())
  assert capfd.readouterr().err == kept
