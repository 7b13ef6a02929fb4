"""Running an exported QONNX model with qonnx's executor (shared by the tests).

``run_qonnx(model, x)`` is examples/qonnx_export.py's ``run_qonnx``: it
checks the model with ``onnx.checker.check_model(full_check=True)``, fixes
the batch dimension to ``len(x)`` and cleans the graph with qonnx's
``cleanup_model`` (shape inference; ``Quant`` / ``BipolarQuant`` nodes are
kept), runs it with ``qonnx.core.onnx_exec.execute_onnx`` and returns the
output array. The example holds the code so that users see it; tests import
it from here. Needs onnx, onnxruntime and qonnx (callers skip without them).
"""

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def load_example():
  """examples/qonnx_export.py as a module (examples/ on sys.path, as when it
  is run as a script); loading it imports neither Keras nor qonnx."""
  if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)
  spec = importlib.util.spec_from_file_location(
      "_qkeras_qonnx_export", os.path.join(EXAMPLES, "qonnx_export.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


run_qonnx = load_example().run_qonnx
