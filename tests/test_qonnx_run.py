# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""tests/qonnx_run.py (examples/qonnx_export.py's ``run_qonnx``) on small
hand-built QONNX graphs: qonnx's ``Quant`` rounds half to even and clips,
``BipolarQuant`` maps x >= 0 to +scale, weights quantized by their own
``Quant`` node survive qonnx's cleanup, and any batch size runs whatever
batch dimension the graph declares."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("qonnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from qonnx_run import run_qonnx  # noqa: E402

DOMAIN = "qonnx.custom_op.general"


def _model(nodes, in_shape, out_shape, constants):
  """An ONNX model (opset 13 + qonnx's domain) with float32 input ``x`` and
  output ``y`` and the float32 initializers ``constants``."""
  graph = helper.make_graph(
      nodes, "hand_built",
      [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
      [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
      [numpy_helper.from_array(np.asarray(v, np.float32), n)
       for n, v in constants.items()])
  return helper.make_model(graph, opset_imports=[
      helper.make_opsetid("", 13), helper.make_opsetid(DOMAIN, 1)])


def _quant(inputs, output, signed=1, narrow=0, rounding_mode="ROUND"):
  return helper.make_node("Quant", inputs, [output], domain=DOMAIN,
                          signed=signed, narrow=narrow,
                          rounding_mode=rounding_mode)


def _int4(batch):
  """x -> Quant(scale 0.125, zero point 0, 4 bits, signed, not narrow)."""
  return _model([_quant(["x", "scale", "zeropt", "bits"], "y")],
                [batch, 4], [batch, 4],
                {"scale": 0.125, "zeropt": 0.0, "bits": 4.0})


# x / 0.125 = 0.5, 1.5, -0.5, 2.5 | 40, -40, -7.5, 2.4: half to even, clipped
# to [-8, 7].
X4 = np.array([[0.0625, 0.1875, -0.0625, 0.3125],
               [5.0, -5.0, -0.9375, 0.3]], np.float32)
Y4 = np.array([[0.0, 0.25, 0.0, 0.25],
               [0.875, -1.0, -1.0, 0.25]], np.float32)


@pytest.mark.parametrize("batch", ["N", 1, 2])
def test_quant_rounds_half_to_even_and_clips(batch):
  model = _int4(batch)
  before = model.SerializeToString()
  got = run_qonnx(model, X4)
  assert got.dtype == np.float32 and got.shape == (2, 4)
  np.testing.assert_array_equal(got, Y4)
  assert model.SerializeToString() == before  # the caller's model unchanged


def test_one_sample_and_a_file(tmp_path):
  path = tmp_path / "int4.onnx"
  onnx.save(_int4("batch"), str(path))
  np.testing.assert_array_equal(run_qonnx(str(path), X4[1:]), Y4[1:])


def test_half_up_rounding_mode():
  model = _model([_quant(["x", "scale", "zeropt", "bits"], "y", narrow=1,
                         rounding_mode="HALF_UP")], ["N", 4], ["N", 4],
                 {"scale": 0.125, "zeropt": 0.0, "bits": 4.0})
  np.testing.assert_array_equal(
      run_qonnx(model, X4),
      [[0.125, 0.25, -0.125, 0.375], [0.875, -0.875, -0.875, 0.25]])


def test_bipolar_quant_maps_zero_to_plus_scale():
  node = helper.make_node("BipolarQuant", ["x", "scale"], ["y"],
                          domain=DOMAIN)
  model = _model([node], ["N", 3], ["N", 3], {"scale": 0.5})
  x = np.array([[0.0, -1e-3, 7.0], [-2.0, 1e-3, -0.0]], np.float32)
  np.testing.assert_array_equal(run_qonnx(model, x),
                                [[0.5, -0.5, 0.5], [-0.5, 0.5, 0.5]])


def test_weight_quant_through_reshape_and_matmul():
  """x (N, 2, 2) -> Reshape(-1, 4) -> MatMul(Quant(W)): the weights'
  Quant node (per-column scales 0.25 and 0.5, 3 bits, narrow) survives the
  cleanup, and the Reshape's constant shape gets the batch size."""
  w = np.array([[0.3, -0.7], [1.2, 0.1], [-0.2, 0.8], [0.0, -2.0]])
  w_q = np.array([[0.25, -0.5], [0.75, 0.0], [-0.25, 1.0], [0.0, -1.5]],
                 np.float32)
  nodes = [
      helper.make_node("Reshape", ["x", "shape"], ["flat"]),
      _quant(["w", "w_scale", "zeropt", "bits"], "w_q", narrow=1),
      helper.make_node("MatMul", ["flat", "w_q"], ["y"]),
  ]
  model = _model(nodes, ["N", 2, 2], ["N", 2],
                 {"w": w, "w_scale": [0.25, 0.5], "zeropt": 0.0,
                  "bits": 3.0})
  model.graph.initializer.append(
      numpy_helper.from_array(np.array([-1, 4], np.int64), "shape"))
  x = np.arange(-12, 12, dtype=np.float32).reshape(6, 2, 2) / 8
  np.testing.assert_array_equal(run_qonnx(model, x), x.reshape(6, 4) @ w_q)


def test_invalid_models_are_refused():
  model = _int4("N")
  model.graph.node[0].input[1] = "missing"
  with pytest.raises(onnx.checker.ValidationError, match="missing"):
    run_qonnx(model, X4)
  model = _int4("N")
  del model.opset_import[1]  # qonnx's domain not imported
  with pytest.raises(onnx.checker.ValidationError, match=DOMAIN):
    run_qonnx(model, X4)
