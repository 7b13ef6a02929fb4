# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Export a trained QKeras model to QONNX and check it bit for bit.

    python examples/qonnx_export.py [--epochs 10] [--samples 20000]
        [--seed 0] [--weights defaults|alpha1] [--output PATH.onnx]

The jet-tagging MLP of examples/hls4ml_handoff.py (16 -> 64 -> 32 -> 32 -> 5,
6-bit weights and biases, 6-bit ReLUs, the same generated "jets") is
trained, exported with ``qkeras.qonnx.to_qonnx(model, path)`` to QONNX
(ONNX with qonnx's ``Quant`` / ``BipolarQuant`` nodes, the format FINN and
hls4ml's QONNX front end read), and the written file is run with qonnx's
executor on the test set: its outputs are compared with Keras's, bit for
bit. ``--weights defaults`` (the default) quantizes the weights as QKeras
users write them, ``quantized_bits(6, 0, 1)`` (``alpha="auto_po2"``:
per-unit power-of-two scales), ``--weights alpha1`` with
``quantized_bits(6, 0, alpha=1)`` (plain fixed point). The run prints the
graph's nodes (how many of each op; per ``Quant`` / ``BipolarQuant`` its bit
width, signedness, narrow range and scale shape) and both accuracies. Needs
``pip install "qkeras[qonnx]"`` (onnx, onnxruntime, qonnx; no hls4ml).
"""

import argparse
import collections
import importlib.util
import os
import sys
import tempfile

import _data  # examples/_data.py
import hls4ml_handoff  # examples/hls4ml_handoff.py: the jets and the MLP

# Keras, qkeras, onnx and qonnx are imported where they are used, after the
# arguments are checked: --help and bad input answer without loading
# TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
PROG = os.path.basename(__file__)
QUANT_OPS = ("Quant", "BipolarQuant")


def parse_args(argv=None):
  """The command line."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0])
  parser.add_argument("--epochs", type=_data._positive_int, default=10,  # pylint: disable=protected-access
                      help="training epochs (default 10)")
  parser.add_argument("--samples", type=_data._positive_int, default=20000,  # pylint: disable=protected-access
                      help="generated training jets (default 20000; the "
                      "test set is a quarter of it, at least 100)")
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed (default 0)")
  parser.add_argument("--weights", default="defaults",
                      choices=tuple(hls4ml_handoff.WEIGHTS),
                      help="weight quantizers: QKeras's defaults (auto_po2 "
                      "scales, the default) or alpha=1")
  parser.add_argument("--output", metavar="PATH.onnx",
                      help="where the QONNX file goes (default: a new "
                      "temporary directory)")
  args = parser.parse_args(argv)
  if args.output and not os.path.isdir(
      os.path.dirname(os.path.abspath(args.output))):
    _data.fail(f"--output: no directory for {args.output!r}", PROG)
  for module in ("onnx", "onnxruntime", "qonnx"):
    if importlib.util.find_spec(module) is None:
      _data.fail(f"{module} is not installed "
                 '(pip install "qkeras[qonnx]")', PROG)
  return args


def run_qonnx(model, x):
  """Runs a QONNX model on the float32 batch ``x`` with qonnx's executor.

  ``model`` is an ``onnx.ModelProto`` (left unchanged) or a path to an
  .onnx file, with one input and one output. The model must pass
  ``onnx.checker.check_model(full_check=True)``. qonnx's ``execute_onnx``
  needs every tensor shape fixed, batch included (a symbolic batch dimension
  reads as 0 and the input is refused), so ``cleanup_model`` first sets the
  batch to ``len(x)`` (qonnx's ``ChangeBatchSize``: graph input, output and
  the first entry of constant ``Reshape`` shapes), infers the shapes, folds
  constant subgraphs while keeping the ``Quant`` / ``BipolarQuant`` nodes
  (weights stay quantized by their nodes), and renames the tensors (the
  input becomes ``global_in``, the output ``global_out``). Returns the
  output as a NumPy array.
  """
  # pylint: disable=g-import-not-at-top
  import numpy as np
  import onnx
  from qonnx.core.modelwrapper import ModelWrapper
  from qonnx.core.onnx_exec import execute_onnx
  from qonnx.transformation.infer_shapes import InferShapes
  from qonnx.util.cleanup import cleanup_model
  wrapper = ModelWrapper(model, make_deepcopy=True)
  onnx.checker.check_model(wrapper.model, full_check=True)
  if len(wrapper.graph.input) != 1 or len(wrapper.graph.output) != 1:
    raise ValueError("run_qonnx runs models with one input and one output")
  x = np.ascontiguousarray(x, dtype=np.float32)
  wrapper = cleanup_model(wrapper, override_inpsize=len(x))
  wrapper = wrapper.transform(InferShapes())
  outputs = execute_onnx(wrapper, {wrapper.graph.input[0].name: x})
  return np.asarray(outputs[wrapper.graph.output[0].name])


def _constant(graph, name):
  """The value of the initializer ``name`` (a NumPy array) or None."""
  from onnx import numpy_helper  # pylint: disable=g-import-not-at-top
  for tensor in graph.initializer:
    if tensor.name == name:
      return numpy_helper.to_array(tensor)
  return None


def print_summary(model):
  """How many nodes of each op type; per quantizer node its precision."""
  from onnx import helper  # pylint: disable=g-import-not-at-top
  graph = model.graph
  counts = collections.Counter(node.op_type for node in graph.node)
  print("nodes: " + ", ".join(f"{op} {count}"
                             for op, count in sorted(counts.items())))
  print(f"{'quantizer node':<28} {'op':<12} {'input':<28} {'bits':>4} "
        f"{'signed':>6} {'narrow':>6} {'scale shape':<12}")
  for node in graph.node:
    if node.op_type not in QUANT_OPS:
      continue
    attributes = {a.name: helper.get_attribute_value(a)
                  for a in node.attribute}
    scale = _constant(graph, node.input[1])
    shape = "?" if scale is None else str(tuple(scale.shape))
    if node.op_type == "Quant":
      bits = _constant(graph, node.input[3])
      bits = "?" if bits is None else int(bits)
      signed, narrow = attributes.get("signed"), attributes.get("narrow")
    else:  # BipolarQuant: +-scale
      bits, signed, narrow = 1, 1, "-"
    print(f"{node.name:<28} {node.op_type:<12} {node.input[0]:<28} "
          f"{bits!s:>4} {signed!s:>6} {narrow!s:>6} {shape:<12}")


def main(argv=None):
  """Trains, exports, runs the QONNX file and compares; returns 0."""
  args = parse_args(argv)
  # pylint: disable=g-import-not-at-top
  import keras
  import numpy as np
  import onnx
  import qkeras.qonnx
  keras.utils.set_random_seed(args.seed)
  tests = max(100, args.samples // 4)
  x, y = hls4ml_handoff.generate_jets(args.samples + tests, args.seed)
  data = (x[tests:], y[tests:], x[:tests], y[:tests])
  x_test, y_test = data[2], data[3]
  print(f"generated jets: {args.samples} training / {tests} test, "
        f"{hls4ml_handoff.FEATURES} features, {hls4ml_handoff.CLASSES} "
        "classes")
  print(f"weights: {hls4ml_handoff.WEIGHTS[args.weights]} ({args.weights})")
  model = hls4ml_handoff.build_model(args.weights)
  model.summary()
  accuracy = _data.train_and_evaluate(
      model, data, args.epochs, keras.optimizers.Adam(0.003), batch_size=256,
      loss=keras.losses.CategoricalCrossentropy(from_logits=True))
  print(f"test accuracy: {accuracy:.4f}")

  path = args.output or os.path.join(
      tempfile.mkdtemp(prefix="qonnx_export_"), f"{model.name}.onnx")
  qkeras.qonnx.to_qonnx(model, path)
  print(f"QONNX model: {path}")
  exported = onnx.load(path)  # what a QONNX tool reads
  print_summary(exported)

  expected = np.asarray(model.predict(x_test, verbose=0))
  got = run_qonnx(exported, x_test).reshape(expected.shape)
  differ = int(np.count_nonzero(got != expected))
  if differ:
    print(f"QONNX != Keras on {len(x_test)} inputs: {differ} outputs "
          f"differ, max |diff| {np.abs(got - expected).max():g}")
  else:
    print(f"QONNX == Keras on {len(x_test)} inputs: bit-exact")
  qonnx_accuracy = float(np.mean(np.argmax(got, 1) == np.argmax(y_test, 1)))
  print(f"QONNX test accuracy: {qonnx_accuracy:.4f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
