# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""hls4ml converts our models after ``import qkeras``, in either order.

``import qkeras`` registers the hls4ml handlers when hls4ml's Keras-3
converter is imported already, else leaves a ``sys.meta_path`` finder that
registers them when it is (qkeras/_hls4ml_hook.py). The import-order tests
run in fresh processes (``PYTHONPATH`` = this checkout, the current
``KERAS_BACKEND`` passed on); the finder's mechanics are also checked in
this process on a stand-in module. No test here compiles (no g++).
"""

import json
import os
import subprocess
import sys
import types
import warnings

import pytest

from qkeras import _hls4ml_hook as hook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A QActivation + QDense model (the layers hls4ml 1.3's fallback rejects)
# converted with nothing imported but qkeras and hls4ml, in ORDER.
_CONVERT = r"""
import json, sys
if sys.argv[1] == "qkeras-first":
  import qkeras, hls4ml
else:
  import hls4ml, qkeras
import keras
inp = keras.Input((4,))
x = qkeras.QActivation(qkeras.quantized_bits(8, 3, alpha=1))(inp)
x = qkeras.QDense(3, kernel_quantizer=qkeras.quantized_bits(6, 0, alpha=1),
                  bias_quantizer=qkeras.quantized_bits(6, 0, alpha=1),
                  activation=qkeras.quantized_relu(6))(x)
model = keras.Model(inp, x)
config = hls4ml.utils.config_from_keras_model(model, granularity="name")
hls_model = hls4ml.converters.convert_from_keras_model(
    model, hls_config=config, output_dir=sys.argv[2], backend="Vitis")
print(json.dumps([layer.class_name for layer in hls_model.get_layers()]))
"""

# What the import order leaves: our keys in hls4ml's registry and the hook.
_STATE = r"""
import json, sys
for name in sys.argv[1].split(","):
  __import__(name)
v3 = sys.modules.get("hls4ml.converters.keras_v3_to_hls")
from qkeras import _hls4ml_hook
print(json.dumps({
    "hls4ml": sorted(m for m in sys.modules if m.split(".")[0] == "hls4ml"),
    "ours": sorted(k for k in (v3.v3_layer_handlers if v3 else ())
                   if k.startswith("qkeras.")),
    "support": "qkeras.hls4ml_support" in sys.modules,
    "hook": _hls4ml_hook.installed(),
}))
"""

# hls4ml's own handler for QDense is in its registry before our hook runs:
# added when hls4ml's Keras-3 handler package finishes (qkeras first), or
# right after ``import hls4ml`` (hls4ml first).
_OWN_HANDLER = r"""
import importlib.machinery, json, sys
KEY = "qkeras.qlayers.QDense"
def own(*args):
  raise AssertionError("hls4ml's own handler")
class AddOwn:
  def find_spec(self, name, path=None, target=None):
    if name != "hls4ml.converters.keras_v3":
      return None
    spec = importlib.machinery.PathFinder.find_spec(name, path)
    real_exec = spec.loader.exec_module
    def exec_module(module):
      real_exec(module)
      module.layer_handlers[KEY] = own
    spec.loader.exec_module = exec_module
    return spec
if sys.argv[1] == "qkeras-first":
  import qkeras
  sys.meta_path.insert(0, AddOwn())
  import hls4ml
else:
  import hls4ml
  sys.modules["hls4ml.converters.keras_v3_to_hls"].v3_layer_handlers[KEY] = own
  import qkeras
from hls4ml.converters.keras_v3_to_hls import v3_layer_handlers
print(json.dumps({
    "own_kept": v3_layer_handlers[KEY] is own,
    "activation": type(
        v3_layer_handlers["qkeras.qlayers.QActivation"]).__name__,
}))
"""

# ``python -m qkeras.demo`` defers the package's imports (qkeras/__init__.py);
# hls4ml imported in between is registered when the import finishes.
_DEFERRED = r"""
import json, sys
sys.argv = ["-m"]
sys.orig_argv = [sys.executable, "-m", "qkeras.demo"]
import qkeras
deferred = not qkeras._finished
import hls4ml
from hls4ml.converters.keras_v3_to_hls import v3_layer_handlers
before = [k for k in v3_layer_handlers if k.startswith("qkeras.")]
qkeras._finish_import()
print(json.dumps({
    "deferred": deferred, "before": before,
    "after": sorted(k for k in v3_layer_handlers if k.startswith("qkeras.")),
}))
"""

# Registration raising during ``import hls4ml`` (qkeras imported first).
_FAILING = r"""
import json, sys, types, warnings
import qkeras
support = types.ModuleType("qkeras.hls4ml_support")
def register():
  raise RuntimeError("boom")
support.register = register
sys.modules["qkeras.hls4ml_support"] = support
with warnings.catch_warnings(record=True) as caught:
  warnings.simplefilter("always")
  import hls4ml
print(json.dumps({
    "converter": callable(hls4ml.converters.convert_from_keras_model),
    "warnings": [str(w.message) for w in caught
                 if "hls4ml layer handlers" in str(w.message)],
}))
"""


def _python(script, *args, env_update=None):
  """Runs SCRIPT in a fresh interpreter on this checkout (the current
  KERAS_BACKEND included); returns its last stdout line, parsed as JSON."""
  env = {k: v for k, v in os.environ.items() if k != hook.ENV_VAR}
  env.update(PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", **(env_update or {}))
  result = subprocess.run([sys.executable, "-c", script, *args], env=env,
                          cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def hls4ml_installed():
  pytest.importorskip("hls4ml")


@pytest.mark.parametrize("order", ["qkeras-first", "hls4ml-first"])
def test_either_import_order_converts(hls4ml_installed, order, tmp_path):
  del hls4ml_installed
  layers = _python(_CONVERT, order, str(tmp_path / "prj"))
  # The QActivation and the QDense's quantized_relu are activation nodes.
  assert layers == ["Input", "Activation", "Dense", "Activation"]


def test_import_qkeras_alone_imports_no_hls4ml():
  state = _python(_STATE, "qkeras")
  assert state == {"hls4ml": [], "ours": [], "support": False, "hook": True}


@pytest.mark.parametrize("imports", [
    "qkeras,hls4ml", "hls4ml,qkeras",
    "qkeras.hls4ml_support"])  # the explicit way (imports hls4ml inside)
def test_every_way_registers_all_keys_and_removes_the_hook(hls4ml_installed,
                                                            imports):
  del hls4ml_installed
  state = _python(_STATE, imports)
  assert state["ours"] == _all_keys()
  assert state["support"] and not state["hook"]


@pytest.mark.parametrize("imports", ["qkeras,hls4ml", "hls4ml,qkeras"])
def test_opt_out_registers_nothing(hls4ml_installed, imports):
  del hls4ml_installed
  state = _python(_STATE, imports, env_update={hook.ENV_VAR: "0"})
  assert state["ours"] == [] and not state["support"] and not state["hook"]


def test_opt_out_leaves_the_explicit_import(hls4ml_installed):
  del hls4ml_installed
  state = _python(_STATE, "qkeras,hls4ml,qkeras.hls4ml_support",
                  env_update={hook.ENV_VAR: "0"})
  assert state["ours"] == _all_keys() and not state["hook"]


@pytest.mark.parametrize("order", ["qkeras-first", "hls4ml-first"])
def test_hls4ml_own_handler_wins(hls4ml_installed, order):
  del hls4ml_installed
  assert _python(_OWN_HANDLER, order) == {"own_kept": True,
                                          "activation": "QKerasLayerHandler"}


def test_deferred_import_registers_when_it_finishes(hls4ml_installed):
  del hls4ml_installed
  assert _python(_DEFERRED) == {"deferred": True, "before": [],
                                "after": _all_keys()}


def test_failing_registration_does_not_break_import_hls4ml(hls4ml_installed):
  del hls4ml_installed
  result = _python(_FAILING)
  assert result["converter"]
  assert len(result["warnings"]) == 1
  assert "RuntimeError: boom" in result["warnings"][0]


def _all_keys():
  """``qkeras.hls4ml_support.registered_keys()``, sorted, read from the
  source (importing the module here would register in this process)."""
  return sorted(f"{module}.{name}"
                for name, module in _handled_classes().items())


def _handled_classes():
  """``qkeras.hls4ml_support.HANDLED_CLASSES``, ``FOLDED_CLASSES`` and
  ``REFUSED_CLASSES`` (what ``register()`` adds), read from the source."""
  import ast  # pylint: disable=g-import-not-at-top
  path = os.path.join(ROOT, "qkeras", "hls4ml_support.py")
  with open(path) as f:
    tree = ast.parse(f.read())
  classes = {}
  for node in tree.body:
    if isinstance(node, ast.Assign) and any(
        getattr(t, "id", None) in ("HANDLED_CLASSES", "FOLDED_CLASSES",
                                   "REFUSED_CLASSES")
        for t in node.targets):
      for name, value in ast.literal_eval(node.value).items():
        classes[name] = value[0] if isinstance(value, tuple) else value
  assert "QDense" in classes and "QConv2DBatchnorm" in classes, classes
  return classes


# The finder itself, in this process, on a stand-in for hls4ml's module.

_STAND_IN = "qkeras_test_hls4ml_stand_in"


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
  """A module file named ``_STAND_IN`` playing hls4ml's Keras-3 converter,
  a private ``sys.meta_path`` without the session's finder, and a fake
  ``qkeras.hls4ml_support`` whose ``register`` records its calls."""
  (tmp_path / f"{_STAND_IN}.py").write_text("LOADED = True\n")
  monkeypatch.syspath_prepend(str(tmp_path))
  monkeypatch.setattr(sys, "meta_path",
                      [f for f in sys.meta_path if not hook._is_hook(f)])  # pylint: disable=protected-access
  monkeypatch.setattr(hook, "TARGET", _STAND_IN)
  monkeypatch.delitem(sys.modules, _STAND_IN, raising=False)
  monkeypatch.delenv(hook.ENV_VAR, raising=False)
  calls = []
  support = types.ModuleType("qkeras.hls4ml_support")
  support.register = lambda: calls.append(_STAND_IN in sys.modules) or ["k"]
  monkeypatch.setitem(sys.modules, "qkeras.hls4ml_support", support)
  yield support, calls
  sys.modules.pop(_STAND_IN, None)


def test_finder_registers_after_the_module_runs_then_leaves(stand_in):
  _, calls = stand_in
  hook.install()
  hook.install()  # idempotent
  assert sum(hook._is_hook(f) for f in sys.meta_path) == 1  # pylint: disable=protected-access
  assert calls == []
  module = __import__(_STAND_IN)
  assert module.LOADED and calls == [True]  # after the module's code
  assert not hook.installed()
  assert type(module.__loader__).__name__ == "SourceFileLoader"
  assert module.__spec__.loader is module.__loader__


def test_install_registers_at_once_when_the_module_is_imported(stand_in):
  _, calls = stand_in
  __import__(_STAND_IN)
  hook.install()
  assert calls == [True] and not hook.installed()


def test_failing_register_warns_and_the_import_goes_on(stand_in):
  support, _ = stand_in
  def fail():
    raise ValueError("no registry here")
  support.register = fail
  hook.install()
  with pytest.warns(RuntimeWarning, match="ValueError: no registry here"):
    module = __import__(_STAND_IN)
  assert module.LOADED and not hook.installed()


@pytest.mark.parametrize("value", ["0", "false", "OFF"])
def test_opt_out_installs_nothing(stand_in, monkeypatch, value):
  _, calls = stand_in
  monkeypatch.setenv(hook.ENV_VAR, value)
  hook.install()
  __import__(_STAND_IN)
  assert calls == [] and not hook.installed()


def test_a_missing_module_leaves_the_import_error(stand_in, monkeypatch):
  _, calls = stand_in
  monkeypatch.setattr(hook, "TARGET", _STAND_IN + "_absent")
  hook.install()
  with pytest.raises(ModuleNotFoundError):
    __import__(_STAND_IN + "_absent")
  assert calls == [] and hook.installed()
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    assert __import__(_STAND_IN).LOADED  # other modules: untouched
