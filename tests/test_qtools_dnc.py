"""Tests for qkeras.qtools.DnC: the ACE gate model, the divisor helpers and
the divide-and-conquer search on small QConv2D / QDense models."""

import ast
import os

import keras
import numpy as np
import pytest

from qkeras import QActivation
from qkeras import QConv2D
from qkeras import QDense
from qkeras import QSeparableConv2D
from qkeras import quantized_bits
from qkeras.qtools import qtools_util
from qkeras.qtools.DnC import divide_and_conquer
from qkeras.qtools.DnC import dnc_layer_cost_ace
from qkeras.qtools.DnC.divide_and_conquer import estimate_model_cost

L = keras.layers


def _q(bits):
  return quantized_bits(bits, 0, 1)


def _conv_dense_model(bits=4):
  """(4,4,3) -> QConv2D(4, 3x3, same) -> QActivation(relu 4) -> Flatten ->
  QDense(10)."""
  x = L.Input((4, 4, 3), name="x")
  y = QConv2D(4, (3, 3), padding="same", kernel_quantizer=_q(bits),
              bias_quantizer=_q(bits), name="conv")(x)
  y = QActivation("quantized_relu(4,0)", name="act")(y)
  y = L.Flatten(name="flat")(y)
  y = QDense(10, kernel_quantizer=_q(bits), bias_quantizer=_q(bits),
             name="dense")(y)
  return keras.Model(x, y)


def _dense_model():
  """16 -> QDense(8) -> QActivation(relu 4) -> QDense(4)."""
  x = L.Input((16,), name="x")
  y = QDense(8, kernel_quantizer=_q(4), bias_quantizer=_q(4), name="d1")(x)
  y = QActivation("quantized_relu(4,0)", name="act")(y)
  y = QDense(4, kernel_quantizer=_q(4), bias_quantizer=_q(4), name="d2")(y)
  return keras.Model(x, y)


# ---------------------------------------------------------------------------
# Gate model and helpers
# ---------------------------------------------------------------------------


def test_ace_mac_gates_polynomial():
  f = dnc_layer_cost_ace.get_ace_mac_gates
  np.testing.assert_allclose(dnc_layer_cost_ace.MAC_POLY3D_PARAMS,
                             [7.70469119, 13.76199652, -92.15756665])
  assert f(8, 8, 32) == pytest.approx(
      7.70469119 * 64 + 13.76199652 * 32 - 92.15756665, abs=1e-9)
  assert f(8, 8, 32) == pytest.approx(841.32655815, abs=1e-8)
  assert f(4, 4, 15) == pytest.approx(237.54744019, abs=1e-8)
  assert f(1, 1, 0) == pytest.approx(7.70469119 - 92.15756665, abs=1e-9)
  assert isinstance(f(4, 4, 15), float)
  with pytest.raises(NotImplementedError, match="MAC area tables"):
    f(4, 4, 15, regen_params=True)


def test_memory_gates_per_bit():
  assert dnc_layer_cost_ace.MemoryGatesPerBit == {
      "Register": 10.0, "SRAM": 1.0, "ROM": 0.1}
  assert dnc_layer_cost_ace.get_memory_gates(12) == 120.0
  assert dnc_layer_cost_ace.get_memory_gates(12, "SRAM") == 12.0
  assert dnc_layer_cost_ace.get_memory_gates(
      12, "ROM") == pytest.approx(1.2)
  with pytest.raises(ValueError, match="Unknown memory type"):
    dnc_layer_cost_ace.get_memory_gates(1, "DRAM")


def test_find_divisors_and_is_upsampled():
  assert qtools_util.find_divisors(1) == [1]
  assert qtools_util.find_divisors(12) == [1, 2, 3, 4, 6, 12]
  assert qtools_util.find_divisors(16) == [1, 2, 4, 8, 16]
  assert qtools_util.find_divisors(13) == [1, 13]
  assert qtools_util.find_divisors(np.int64(36)) == [1, 2, 3, 4, 6, 9, 12,
                                                    18, 36]
  with pytest.raises(ValueError):
    qtools_util.find_divisors(0)
  assert qtools_util.is_upsampled(L.UpSampling2D())
  assert not qtools_util.is_upsampled(L.MaxPooling2D())


def test_get_layer_info():
  model = _conv_dense_model()
  conv, dense = model.get_layer("conv"), model.get_layer("dense")
  info = qtools_util.get_layer_info
  assert [info(conv, a) for a in qtools_util.LAYER_INFO_ATTRIBUTES] == [
      "QConv2D", 3, 4, 3, 3]
  assert [info(dense, a) for a in qtools_util.LAYER_INFO_ATTRIBUTES] == [
      "QDense", 64, 10, 1, 1]
  conv1d = L.Conv1D(5, 3)
  conv1d.build((None, 8, 2))  # never called: channels from the kernel
  assert info(conv1d, "input_channel") == 2
  assert info(conv1d, "output_channel") == 5
  assert (info(conv1d, "kernel_height"), info(conv1d, "kernel_width")) == (
      1, 3)
  with pytest.raises(ValueError, match="unknown attribute"):
    info(conv, "stride")


def test_mac_dims_and_unrolls():
  model = _conv_dense_model()
  assert divide_and_conquer.get_mac_dims(model.get_layer("conv")) == (
      3, 4, 3, 3)
  assert divide_and_conquer.get_mac_dims(model.get_layer("dense")) == (
      64, 10, 1, 1)
  dw = L.DepthwiseConv2D((3, 2), depth_multiplier=2)
  dw.build((None, 5, 5, 6))
  assert divide_and_conquer.get_mac_dims(dw) == (6, 2, 3, 2)
  # Dense 16 -> 8 at a quarter of a vector per clock: 32 MACs per clock.
  unrolls = divide_and_conquer.get_valid_unrolls((16, 8, 1, 1), 0.25)
  assert unrolls[0] == (4, 8, 1, 1)
  assert all(np.prod(u) >= 32 for u in unrolls)
  assert (8, 4, 1, 1) in unrolls and (2, 8, 1, 1) not in unrolls
  assert divide_and_conquer.get_valid_unrolls((3, 4, 3, 3), 1.0) == [
      (3, 4, 3, 3)]
  assert divide_and_conquer.get_pe_throughput((16, 8, 1, 1),
                                              (4, 8, 1, 1)) == 0.25


def test_per_layer_cost_parts_and_negative_mac_clip():
  bits = {"input_bits": 8, "weight_bits": 4, "acc_bits": 17,
          "output_bits": 17}
  parts = divide_and_conquer.get_per_layer_cost(bits, 108, (3, 1, 3, 3), 1,
                                                16)
  mac = 7.70469119 * 32 + 13.76199652 * 17 - 92.15756665
  assert parts["pe_cost"] == pytest.approx(mac * 27)
  assert (parts["in_memory_cost"], parts["out_memory_cost"]) == (80.0,
                                                                 2720.0)
  assert parts["weight_memory_cost"] == pytest.approx(43.2)
  assert parts["cost"] == pytest.approx(mac * 27 + 80 + 2720 + 43.2)
  # mac(1, 1, 2) < 0: the fit is clipped at 0 gates.
  tiny = {"input_bits": 1, "weight_bits": 1, "acc_bits": 2, "output_bits": 2}
  parts = divide_and_conquer.get_per_layer_cost(tiny, 4, (2, 2, 1, 1), 2, 2)
  assert parts["mac_gates"] < 0 and parts["pe_cost"] == 0.0
  assert parts["cost"] == pytest.approx(2 * 1 * 10 + 2 * 2 * 10 + 0.4)


# ---------------------------------------------------------------------------
# estimate_model_cost
# ---------------------------------------------------------------------------


def test_conv_dense_model_defaults_hand_checked():
  path, cost = estimate_model_cost(_conv_dense_model())
  assert list(path) == ["conv", "act", "flat", "dense"]
  assert path["act"] == {"layer_type": "QActivation", "cost": 0.0}
  assert path["flat"]["cost"] == 0.0
  conv, dense = path["conv"], path["dense"]
  # One output position per clock: everything fully unrolled.
  assert (conv["cin_unroll"], conv["cout_unroll"], conv["kh_unroll"],
          conv["kw_unroll"]) == (3, 4, 3, 3)
  assert (dense["cin_unroll"], dense["cout_unroll"]) == (64, 10)
  # QTools's types: 8-bit input, 4-bit weights, 17-bit accumulator (the
  # conv has no activation of its own, so it outputs the accumulator).
  assert (conv["input_bits"], conv["weight_bits"], conv["acc_bits"],
          conv["output_bits"]) == (8, 4, 17, 17)
  assert (dense["input_bits"], dense["weight_bits"], dense["acc_bits"],
          dense["output_bits"]) == (4, 4, 15, 15)
  # Streams: 3 input channels per clock into the conv; the dense reads its
  # 64 inputs per clock (so does the conv's output register); 10 out.
  assert (conv["InElementPerClk"], conv["OutElementPerClk"]) == (3, 64)
  assert (dense["InElementPerClk"], dense["OutElementPerClk"]) == (64, 10)
  # Dense by hand: mac(4, 4, 15) * 640 MACs + 64*4*10 + 10*15*10 + 640*4*0.1
  mac = 7.70469119 * 4 * 4 + 13.76199652 * 15 - 92.15756665
  assert dense["mac_gates"] == pytest.approx(mac, abs=1e-9)
  assert dense["pe_cost"] == pytest.approx(mac * 640)
  assert dense["in_memory_cost"] == 2560.0
  assert dense["out_memory_cost"] == 1500.0
  assert dense["weight_memory_cost"] == pytest.approx(256.0)
  assert dense["cost"] == pytest.approx(156346.3617216, abs=1e-6)
  # Conv by hand: mac(8, 4, 17) * 108 + 3*8*10 + 64*17*10 + 108*4*0.1
  mac = 7.70469119 * 8 * 4 + 13.76199652 * 17 - 92.15756665
  assert conv["cost"] == pytest.approx(
      mac * 108 + 240 + 10880 + 43.2, abs=1e-6)
  assert cost == pytest.approx(conv["cost"] + dense["cost"], abs=1e-6)


def test_lower_throughput_unrolls_less_and_costs_less():
  model = _conv_dense_model()
  _, full = estimate_model_cost(model)
  path, quarter = estimate_model_cost(model, target_out_throughput=0.25,
                                      target_OutElementPerClk=3)
  conv, dense = path["conv"], path["dense"]
  # 27 of the 108 MACs per clock; ties go to the smallest cin/cout unroll
  # first in lexicographic order.
  assert (conv["cin_unroll"], conv["cout_unroll"], conv["kh_unroll"],
          conv["kw_unroll"]) == (3, 1, 3, 3)
  assert conv["pe_throughput"] == 0.25
  assert (conv["InElementPerClk"], conv["OutElementPerClk"]) == (1, 16)
  assert (dense["cin_unroll"], dense["cout_unroll"]) == (16, 10)
  assert (dense["InElementPerClk"], dense["OutElementPerClk"]) == (16, 3)
  mac = 7.70469119 * 4 * 4 + 13.76199652 * 15 - 92.15756665
  assert dense["cost"] == pytest.approx(
      mac * 160 + 16 * 4 * 10 + 3 * 15 * 10 + 256.0, abs=1e-6)
  assert quarter < full


def test_memory_to_unroll_ratio_forces_a_wider_cin_unroll():
  model = _dense_model()
  path, cost = estimate_model_cost(model, target_out_throughput=0.5,
                                   target_OutElementPerClk=2)
  d1 = path["d1"]
  assert d1["InElementPerClk"] == 8  # half of the 16 inputs per clock
  assert (d1["cin_unroll"], d1["cout_unroll"]) == (8, 8)
  # An input register at most half as wide as the cin unroll: cin_unroll 16.
  path2, cost2 = estimate_model_cost(model, target_out_throughput=0.5,
                                     target_OutElementPerClk=2,
                                     memory_to_unroll_max_ratio=0.5)
  assert (path2["d1"]["cin_unroll"], path2["d1"]["cout_unroll"]) == (16, 4)
  assert path2["d1"]["pe_cost"] == pytest.approx(d1["pe_cost"])
  assert cost2 >= cost


def test_cost_increases_with_bits():
  costs = [estimate_model_cost(_conv_dense_model(bits))[1]
           for bits in (2, 4, 8)]
  assert costs[0] < costs[1] < costs[2]
  model = _conv_dense_model()
  assert (estimate_model_cost(model, input_quantizer_bits=4)[1] <
          estimate_model_cost(model, input_quantizer_bits=8)[1] <
          estimate_model_cost(model, input_quantizer_bits=16)[1])


def test_unimplemented_modes_and_bad_targets():
  model = _dense_model()
  for mode in (divide_and_conquer.CostMode.PE_AREA,
               divide_and_conquer.CostMode.PE_BW_AREA, 2):
    with pytest.raises(NotImplementedError, match="only CostMode.ACE"):
      estimate_model_cost(model, mode=mode)
  with pytest.raises(ValueError, match="Unknown cost mode"):
    estimate_model_cost(model, mode=7)
  assert [m.value for m in divide_and_conquer.CostMode] == [1, 2, 3]
  estimate_model_cost(model, target_OutElementPerClk=4, mode=1)  # ACE
  with pytest.raises(ValueError, match="no unroll"):
    estimate_model_cost(model, target_out_throughput=2.0,
                        target_OutElementPerClk=8)
  with pytest.raises(ValueError, match="target_OutElementPerClk=3"):
    estimate_model_cost(model, target_OutElementPerClk=3)  # needs 4


def test_unsupported_graphs_raise():
  x = L.Input((8,))
  y = L.Add()([QDense(4, name="a")(x), QDense(4, name="b")(x)])
  with pytest.raises(NotImplementedError, match="single-input"):
    estimate_model_cost(keras.Model(x, y), target_OutElementPerClk=4)
  x = L.Input((6, 6, 2))
  y = QSeparableConv2D(3, (3, 3), name="sep")(x)
  with pytest.raises(NotImplementedError, match="no MAC model"):
    estimate_model_cost(keras.Model(x, y), target_OutElementPerClk=3)


def test_divide_conquer_graph_accessors():
  model = _dense_model()
  graph = divide_and_conquer.DivideConquerGraph(model, [_q(6)])
  order = graph.topological_order()
  assert graph.is_first_node(order[0]) and graph.is_last_node(order[-1])
  d1 = graph.layer_to_idx(model.get_layer("d1"))
  assert graph.idx_to_layer(d1).name == "d1"
  assert graph.get_prev_nodes(d1) == [graph.get_first_node()]
  assert graph.get_layer_quantizer_bitwidth(d1)["input_bits"] == 6
  assert graph.get_layer_quantizer_bitwidth(
      graph.get_first_node())["output_bits"] == 6
  assert graph.get_layer_mac_count(d1) == 128
  assert graph.get_layer_shapes(d1) == {"input_shape": (None, 16),
                                        "output_shape": (None, 8),
                                        "weight_shape": (16, 8)}
  assert graph.is_compute_node(d1)
  assert not graph.is_compute_node(graph.layer_to_idx(model.get_layer("act")))


def test_dnc_never_imports_tensorflow():
  """The DnC modules import no TensorFlow (they run on JAX and PyTorch;
  this file runs on every backend)."""
  package = os.path.dirname(divide_and_conquer.__file__)
  for name in sorted(os.listdir(package)) + ["../qtools_util.py"]:
    if not name.endswith(".py"):
      continue
    with open(os.path.join(package, name), encoding="utf-8") as f:
      tree = ast.parse(f.read())
    for node in ast.walk(tree):
      modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom)
                 else [])
      assert not any(m.split(".")[0] == "tensorflow" for m in modules), name
