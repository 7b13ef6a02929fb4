"""Tests for qkeras.qtools: the graph, the data-type map, QTools, the CLI
and the examples."""

import inspect
import io
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from qkeras import QActivation
from qkeras import QAveragePooling2D
from qkeras import QBatchNormalization
from qkeras import QConv2D
from qkeras import QDense
from qkeras import QDepthwiseConv2D
from qkeras import QGlobalAveragePooling2D
from qkeras import quantized_bits
from qkeras.qtools import QTools
from qkeras.qtools import qgraph
from qkeras.qtools import settings as qtools_settings

L = keras.layers
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _names(graph, ids):
  return sorted(graph.nodes[i]["layer"][0].name for i in ids
                if i not in (qgraph.SOURCE, qgraph.SINK))


# ---------------------------------------------------------------------------
# Graph
# ---------------------------------------------------------------------------


def test_graph_of_a_functional_model_with_merges_and_dropout():
  x = L.Input((4,), name="x")
  a = L.Dense(3, name="a")(x)
  b = L.Dropout(0.5, name="drop")(a)
  c = L.Dense(3, name="c")(x)
  y = L.Add(name="add")([b, c])
  model = keras.Model(x, y)
  graph, sources = qgraph.CreateGraph(model, "quantized_bits(6,0,1)")
  assert len(sources) == 1 and sources[0].bits == 6
  by_name = {a["layer"][0].name: n for n, a in graph.nodes.items()
             if a["layer"][0] is not None}
  assert set(by_name) == {"a", "c", "add"}  # no InputLayer, no Dropout
  assert _names(graph, graph.successors(qgraph.SOURCE)) == ["a", "c"]
  assert _names(graph, graph.predecessors(by_name["add"])) == ["a", "c"]
  assert graph.edges[(by_name["a"], by_name["add"])]["shape"] == (None, 3)
  assert _names(graph, graph.predecessors(qgraph.SINK)) == ["add"]
  # The model inputs carry the source quantizer.
  edge = graph.edges[(qgraph.SOURCE, by_name["a"])]
  assert edge["quantizer"].bits == 6
  order = graph.topological_sort()
  assert order.index(by_name["a"]) < order.index(by_name["add"])


def test_graph_of_sequential_nested_and_multi_input_models():
  seq = keras.Sequential([L.Input((5,)), L.Dense(4, name="s1"),
                          L.Dense(2, name="s2")], name="seq")
  graph, _ = qgraph.CreateGraph(seq)
  assert _names(graph, graph.successors(qgraph.SOURCE)) == ["s1"]
  assert _names(graph, graph.predecessors(qgraph.SINK)) == ["s2"]

  inner = keras.Sequential([L.Input((3,)), L.Dense(3, name="inner_a"),
                            L.Dense(2, name="inner_b")], name="inner")
  x1 = L.Input((3,), name="x1")
  x2 = L.Input((2,), name="x2")
  y = L.Concatenate(name="cat")([inner(x1), x2])
  out1 = L.Dense(1, name="out1")(y)
  out2 = L.Dense(1, name="out2")(y)
  model = keras.Model([x1, x2], [out1, out2])
  graph, sources = qgraph.CreateGraph(
      model, ["quantized_bits(4,0,1)", "quantized_bits(6,0,1)"])
  assert [q.bits for q in sources] == [4, 6]
  names = {a["layer"][0].name: n for n, a in graph.nodes.items()
           if a["layer"][0] is not None}
  assert set(names) == {"inner_a", "inner_b", "cat", "out1", "out2"}
  assert _names(graph, graph.predecessors(names["cat"])) == ["inner_b"] or (
      qgraph.SOURCE in graph.predecessors(names["cat"]))
  assert qgraph.SOURCE in graph.predecessors(names["cat"])
  assert graph.edges[(qgraph.SOURCE, names["cat"])]["quantizer"].bits == 6
  assert graph.edges[(qgraph.SOURCE, names["inner_a"])]["quantizer"].bits == 4
  assert _names(graph, graph.predecessors(qgraph.SINK)) == ["out1", "out2"]


def test_graph_bad_input():
  model = keras.Sequential([L.Input((5,)), L.Dense(4)])
  with pytest.raises(qgraph.WrongInputQuantizerError,
                     match=r"Number of input \(1\).*source quantizers \(2\)"):
    qgraph.CreateGraph(model, ["quantized_bits(4)", "quantized_bits(4)"])
  with pytest.raises(ValueError, match="has not been built"):
    qgraph.CreateGraph(keras.Sequential([L.Dense(4)]))


# ---------------------------------------------------------------------------
# Whole models, against QKeras 0.9.0's QTools
# (tests/fixtures/make_qkeras09_qtools_model_fixtures.py builds the same
# models in Keras 2).
# ---------------------------------------------------------------------------


def _po2_conv():
  x = x_in = L.Input((12, 12, 2), name="input")
  x = QConv2D(8, (2, 2), kernel_quantizer="quantized_relu_po2(4,2)",
              use_bias=False, name="conv")(x)
  x = QActivation("quantized_relu(6,2)", name="act")(x)
  x = L.Flatten(name="flat")(x)
  x = QDense(4, kernel_quantizer="binary", use_bias=False, name="dense")(x)
  return keras.Model(x_in, x)


def _binary_dense():
  x = x_in = L.Input((64,), name="input")
  x = QDense(512, kernel_quantizer="binary", use_bias=False,
             name="d_mux")(x)
  x = QActivation("quantized_bits(6,0,1)", name="act")(x)
  x = QDense(8, kernel_quantizer="binary(use_01=True)", use_bias=False,
             activation="quantized_po2(3,2)", name="d_and")(x)
  return keras.Model(x_in, x)


def _depthwise_bn():
  x = x_in = L.Input((16, 16, 16), name="input")
  x = QDepthwiseConv2D((1, 7), depthwise_quantizer="quantized_bits(8,0,1)",
                       bias_quantizer="quantized_bits(8,0,1)", name="dw")(x)
  x = QBatchNormalization(name="bn")(x)
  x = QActivation("quantized_relu(6,2)", name="act1")(x)
  x = QConv2D(8, (1, 1), kernel_quantizer="quantized_bits(4,0,1)",
              bias_quantizer="quantized_bits(4,0,1)", name="pw")(x)
  x = QActivation("quantized_bits(8,3,1)", name="act2")(x)
  return keras.Model(x_in, x)


def _pooling_merge():
  x = x_in = L.Input((16, 16, 4), name="input")
  a = L.AveragePooling2D(2, name="avg")(x)
  b = QAveragePooling2D(2, average_quantizer="binary", name="qavg")(x)
  y = L.Add(name="add")([a, b])
  c = QConv2D(4, 3, padding="same", kernel_quantizer="quantized_bits(4,0,1)",
              bias_quantizer="quantized_bits(4,0,1)", name="conv")(y)
  y = L.Concatenate(name="cat")([y, c])
  y = L.MaxPooling2D(2, name="maxpool")(y)
  g = L.GlobalAveragePooling2D(name="gavg")(y)
  q = QGlobalAveragePooling2D(average_quantizer="quantized_bits(4,0,1)",
                              name="qgavg")(y)
  y = L.Multiply(name="mul")([g, q])
  y = L.Dense(3, name="float_dense")(y)
  return keras.Model(x_in, y)


QTOOLS09_MODELS = {"po2_conv": _po2_conv, "binary_dense": _binary_dense,
                   "depthwise_bn": _depthwise_bn,
                   "pooling_merge": _pooling_merge}

_FIXTURE = os.path.join(ROOT, "tests", "data", "qkeras09_qtools_models.json")
_SOURCE = [quantized_bits(8, 0, 1)]


def _run(model, for_reference=False, source=None, **kwargs):
  qtools = QTools(model, process="horowitz",
                  source_quantizers=source or _SOURCE, is_inference=False,
                  keras_quantizer="int8", keras_accumulator="int32",
                  for_reference=for_reference, **kwargs)
  energy = qtools.pe(weights_on_memory="sram", activations_on_memory="sram",
                     min_sram_size=8 * 16 * 1024 * 1024, rd_wr_on_io=False)
  return json.loads(json.dumps(qtools.output_dict)), energy


# Keys the reference's QTools adds over the 0.9.0 wheel (fused_accumulator,
# the pooling keys, BN operation counts, Q-pooling operation counts).
_POOL_KEYS = {"pool_sum_accumulator": "accumulator",
              "pool_avg_multiplier": "multiplier"}


def _as_wheel(data_map):
  result = {}
  for name, entry in data_map.items():
    if not isinstance(entry, dict):
      result[name] = entry
      continue
    entry = {_POOL_KEYS.get(k, k): v for k, v in entry.items()
             if k not in ("fused_accumulator", "average_quantizer")}
    if entry.get("layer_type") in ("QBatchNormalization", "QAveragePooling2D",
                                   "QGlobalAveragePooling2D"):
      entry.pop("operation_count", None)
    result[name] = entry
  return result


@pytest.mark.parametrize("name", sorted(QTOOLS09_MODELS))
def test_reference_map_and_energy_equal_qkeras09(name):
  """for_reference (int8 weights, int32 arithmetic): the same data types
  and the same energy, per layer, as QKeras 0.9.0."""
  with open(_FIXTURE) as f:
    expected = json.load(f)[f"{name}/reference"]
  data_map, energy = _run(QTOOLS09_MODELS[name](), for_reference=True)
  want = _as_wheel(expected["map"])
  for entry in want.values():
    if isinstance(entry, dict) and entry.get("layer_type") in (
        "QBatchNormalization", "QAveragePooling2D", "QGlobalAveragePooling2D"):
      entry.pop("operation_count", None)
  assert _as_wheel(data_map) == want
  # QKeras priced quantized average pooling at 0 (missing from its lists).
  wheel_energy = expected["energy"]
  extra = 0.0
  for layer, entry in energy.items():
    if layer != "total_cost" and entry["class_name"] in (
        "QAveragePooling2D", "QGlobalAveragePooling2D"):
      assert wheel_energy[layer]["energy"]["op_cost"] == 0
      extra += entry["energy"]["op_cost"]
      wheel_energy[layer]["energy"]["op_cost"] = entry["energy"]["op_cost"]
  total = energy.pop("total_cost")
  assert abs(total - wheel_energy.pop("total_cost") - extra) <= 1
  assert energy == wheel_energy


def _entry(data_map, layer, key):
  q = data_map[layer][key]
  return q["bits"], q["int_bits"]


def test_reference_goldens_shifter_mux_and():
  # relu_po2(4,2) weights on quantized_bits(6,0,1): shifter 15/2,
  # accumulator 18/5 (8 products), 11*11*8 * 2*2*2 = 7744 operations.
  data_map, _ = _run(_po2_conv(), source=[quantized_bits(6, 0, 1)])
  assert data_map["conv"]["multiplier"]["op_type"] == "shifter"
  assert _entry(data_map, "conv", "multiplier") == (15, 2)
  assert _entry(data_map, "conv", "accumulator") == (18, 5)
  assert data_map["conv"]["operation_count"] == 7744
  # binary weights on quantized_relu(4): mux 5/1, 64 products -> 11/7;
  # binary(use_01) on quantized_bits(6,0,1): and 6/1, 512 products ->
  # 15/10, output quantized_po2(3,2).
  data_map, _ = _run(_binary_dense(), source=["quantized_relu(4)"])
  assert data_map["d_mux"]["multiplier"]["op_type"] == "mux"
  assert _entry(data_map, "d_mux", "multiplier") == (5, 1)
  assert _entry(data_map, "d_mux", "accumulator") == (11, 7)
  assert data_map["d_and"]["multiplier"]["op_type"] == "and"
  assert _entry(data_map, "d_and", "multiplier") == (6, 1)
  assert _entry(data_map, "d_and", "accumulator") == (15, 10)
  out = data_map["d_and"]["output_quantizer"]
  assert (out["quantizer_type"], out["bits"], out["max_value"]) == (
      "quantized_po2", 3, 2)


def test_reference_goldens_pooling():
  # 2x2 pool of an 8-bit input: 10/3; binary average quantizer: mux 10/3.
  data_map, _ = _run(_pooling_merge())
  assert _entry(data_map, "avg", "pool_sum_accumulator") == (10, 3)
  assert _entry(data_map, "qavg", "pool_sum_accumulator") == (10, 3)
  assert data_map["qavg"]["pool_avg_multiplier"]["op_type"] == "mux"
  assert _entry(data_map, "qavg", "pool_avg_multiplier") == (10, 3)
  # Global pool of 16x16 8-bit values: 16/9; of 8x8 4-bit values times a
  # quantized_bits(4,0,1) factor: mul 13/7.
  x = L.Input((16, 16, 2))
  model = keras.Model(x, L.GlobalAveragePooling2D(name="g")(x))
  data_map, _ = _run(model)
  assert _entry(data_map, "g", "pool_sum_accumulator") == (16, 9)
  x = L.Input((8, 8, 2))
  model = keras.Model(x, QGlobalAveragePooling2D(
      average_quantizer="quantized_bits(4,0,1)", name="qg")(x))
  data_map, _ = _run(model, source=[quantized_bits(4, 0, 1)])
  assert data_map["qg"]["pool_avg_multiplier"]["op_type"] == "mul"
  assert _entry(data_map, "qg", "pool_avg_multiplier") == (13, 7)


def test_trial_map_follows_the_reference_rules():
  """Where the reference's QTools differs from the 0.9.0 wheel: the kernel
  accumulator sums only the products (the wheel counted a bias even without
  one), a bias is added by an adder (one more integer bit), fixed-point
  products are ``bits_x + bits_w - 1`` wide (8x8 -> 15, the wheel 16), a
  depthwise accumulator sums ``kh * kw`` products per channel."""
  data_map, energy = _run(_depthwise_bn())
  assert _entry(data_map, "dw", "multiplier") == (15, 1)
  # 7 products -> 18 bits, int 3; + 8-bit bias -> int 4, 19 bits.
  assert _entry(data_map, "dw", "accumulator") == (19, 5)
  # 1x1 conv over 16 channels, 4-bit weights x quantized_relu(6,2):
  # int 2, fraction 4 + 3, sign -> 10 bits (JSON int 3); 16 products ->
  # 14 bits int 6; + 4-bit bias -> int 7, 15 bits (JSON int 8).
  assert _entry(data_map, "pw", "multiplier") == (10, 3)
  assert _entry(data_map, "pw", "accumulator") == (15, 8)
  assert energy["total_cost"] == 45733
  assert data_map["bn"]["layer_type"] == "QBatchNormalization"
  assert data_map["act2"]["output_quantizer"]["bits"] == 8


def test_folded_rnn_separable_sequential_and_nested_models(caplog):
  from qkeras import QConv2DBatchnorm  # pylint: disable=g-import-not-at-top
  from qkeras import QLSTM  # pylint: disable=g-import-not-at-top
  from qkeras import QScaleShift  # pylint: disable=g-import-not-at-top
  from qkeras import QSeparableConv2D  # pylint: disable=g-import-not-at-top
  inner = keras.Sequential([
      L.Input((6, 6, 3)),
      QConv2DBatchnorm(4, 3, kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
                       name="folded"),
      QActivation("quantized_relu(4)", name="relu"),
  ], name="backbone")
  x = L.Input((6, 6, 3))
  y = inner(x)
  y = QSeparableConv2D(4, 3, depthwise_quantizer="quantized_bits(4,0,1)",
                       pointwise_quantizer="quantized_bits(4,0,1)",
                       name="sep")(y)
  y = L.Reshape((4, 4), name="reshape")(y)
  y = QScaleShift(weight_quantizer="quantized_bits(4,0,1)", name="mac")(y)
  y = QLSTM(3, kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
            recurrent_quantizer="quantized_bits(4,0,1,alpha=1)",
            state_quantizer="quantized_bits(6,0,1)", name="lstm")(y)
  y = QDense(2, kernel_quantizer="quantized_bits(4,0,1)", name="head")(y)
  data_map, energy = _run(keras.Model(x, y))
  assert data_map["folded"]["layer_type"] == "QConv2DBatchnorm"
  # folded: 8-bit x 4-bit = 11 bits; 3*3*3 = 27 products -> 16 bits, int
  # 5; without a bias quantizer the bias takes that type and the sum is one
  # bit wider.
  assert _entry(data_map, "folded", "multiplier") == (11, 1)
  assert data_map["folded"]["bias_quantizer"]["bits"] == 16
  assert _entry(data_map, "folded", "accumulator") == (17, 7)
  assert data_map["relu"]["input_quantizer_list"][0]["bits"] == 17
  # sep on relu(4) (4 bits, unsigned): depthwise 4-bit x 4-bit -> 8 bits
  # (JSON int 1), 3*3 products per channel -> 12 bits int 4; pointwise
  # 4-bit x that -> 15 bits int 4, 4 channels -> 17 bits int 6 (no bias
  # quantizer: no adder). 2x2 positions: 2*2*9*4 + 2*2*4*4 operations.
  sep = data_map["sep"]
  assert "unsupported" not in sep
  assert _entry(data_map, "sep", "depthwise_multiplier") == (8, 1)
  assert _entry(data_map, "sep", "depthwise_accumulator") == (12, 5)
  assert _entry(data_map, "sep", "multiplier") == (15, 5)
  assert _entry(data_map, "sep", "accumulator") == (17, 7)
  assert (sep["depthwise_operation_count"], sep["pointwise_operation_count"],
          sep["operation_count"]) == (144, 64, 208)
  assert sep["depthwise_quantizer"]["shape"] == [3, 3, 4, 1]
  assert sep["pointwise_quantizer"]["shape"] == [1, 1, 4, 4]
  assert data_map["mac"]["unsupported"] is True  # passed through, marked
  assert "QTools cannot parse QScaleShift" in caplog.text  # logged warning
  assert _entry(data_map, "mac", "output_quantizer") == (17, 7)
  # QLSTM (4 steps of 4 features, 3 units, 4 gates): kernel 4-bit x the
  # 17-bit input -> int 6, fraction 10 + 3 -> 20 bits (JSON int 7);
  # recurrent 4-bit x the 6-bit state -> 9 bits (JSON int 1); 4 + 3
  # products of the wider -> 23 bits, int 9; the bias (no quantizer) is
  # not added. Output: QLSTM's default activation quantized_tanh(8).
  lstm = data_map["lstm"]
  assert "unsupported" not in lstm
  assert _entry(data_map, "lstm", "multiplier") == (20, 7)
  assert _entry(data_map, "lstm", "recurrent_multiplier") == (9, 1)
  assert _entry(data_map, "lstm", "accumulator") == (23, 10)
  assert lstm["state_quantizer"]["bits"] == 6
  assert (lstm["input_operation_count"], lstm["recurrent_operation_count"],
          lstm["operation_count"]) == (4 * 4 * 4 * 3, 4 * 3 * 4 * 3, 336)
  assert lstm["output_quantizer"]["quantizer_type"] == "quantized_tanh"
  assert energy["lstm"]["energy"]["op_cost"] > 0
  assert energy["sep"]["energy"]["op_cost"] > 0
  assert energy["sep"]["energy"]["parameters"] > 0
  assert data_map["head"]["input_quantizer_list"][0]["bits"] == 8
  assert set(energy) >= {"folded", "relu", "sep", "mac", "lstm", "head",
                         "total_cost"}


def test_bn_fused_into_the_convolution_with_hw_weight_dict():
  from qkeras.utils import model_save_quantized_weights  # pylint: disable=g-import-not-at-top
  x = L.Input((6, 6, 2))
  y = QConv2D(4, 3, kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
              bias_quantizer="quantized_bits(8,3,1)", name="conv")(x)
  y = QBatchNormalization(gamma_quantizer=None, variance_quantizer=None,
                          inverse_quantizer="quantized_bits(8,2,1)",
                          beta_quantizer="quantized_bits(8,2,1)",
                          mean_quantizer="quantized_bits(8,2,1)",
                          name="bn")(y)
  model = keras.Model(x, y)
  hw = model_save_quantized_weights(model)
  data_map, _ = _run(model, hw_weight_dict=hw)
  conv = data_map["conv"]
  assert conv["bn_inverse_quantizer"]["bits"] == 8
  assert conv["fused_accumulator"]["op_type"] == "add"
  assert conv["fused_accumulator"]["bits"] > conv["accumulator"]["bits"]
  assert "internal_divide_quantizer" not in data_map["bn"]  # passed through


def test_qtools_bad_input():
  model = _po2_conv()
  with pytest.raises(ValueError, match="unknown process 'tsmc'"):
    QTools(model, process="tsmc")
  with pytest.raises(qgraph.WrongInputQuantizerError):
    QTools(model, source_quantizers=[quantized_bits(8), quantized_bits(8)])
  with pytest.raises(ValueError, match="has not been built"):
    QTools(keras.Sequential([L.Dense(3)]))
  with pytest.raises(ValueError, match="unknown quantizer or activation "
                     "'quantized_bitz'"):
    QTools(model, source_quantizers="quantized_bitz(8)")
  qtools = QTools(model)
  with pytest.raises(ValueError, match="'weights_on_memory' must be one of"):
    qtools.pe(weights_on_memory="flash")
  from qkeras import quantized_sigmoid  # pylint: disable=g-import-not-at-top
  bad = keras.Sequential([L.Input((3,)), QActivation(quantized_sigmoid(4))])
  with pytest.raises(ValueError, match="quantized_sigmoid"):
    QTools(bad)


def test_stats_json_roofline_and_energy_helpers(tmp_path, capsys):
  qtools = QTools(_binary_dense(), source_quantizers=_SOURCE)
  path = tmp_path / "map.json"
  qtools.qtools_stats_to_json(str(path))
  with open(path) as f:
    assert json.load(f) == json.loads(json.dumps(qtools.output_dict))
  qtools.qtools_stats_print()
  assert '"d_mux": {' in capsys.readouterr().out
  energy = qtools.pe(weights_on_memory="sram", activations_on_memory="sram",
                     min_sram_size=8 * 16 * 1024 * 1024, rd_wr_on_io=False)
  include = qtools_settings.cfg.include_energy
  profile = qtools.extract_energy_profile(include, energy)
  assert profile["act"]["total"] == energy["act"]["energy"]["outputs"]
  assert qtools.extract_energy_sum(include, energy) == int(
      sum(p["total"] for p in profile.values()))
  roofline = qtools.get_roofline_numbers()
  # ACE: 64*512 ops x 8-bit inputs x 1-bit weights + 512*8 x 6 x 1.
  assert roofline["ACE"] == 64 * 512 * 8 + 512 * 8 * 6
  assert roofline["ACE_float"] == (64 * 512 + 512 * 8) * 32 * 32
  assert roofline["weight_in_bytes"] == (64 * 512 + 512 * 8) / 8
  # QActivation output (512 x 6 bits) + the model input (64 x 8 bits).
  assert roofline["activation_in_bytes"] == (512 * 6 + 64 * 8) / 8


def test_command_line(tmp_path):
  model = _depthwise_bn()
  path = str(tmp_path / "m.keras")
  model.save(path)
  out_json = str(tmp_path / "map.json")
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run(
      [sys.executable, "-m", "qkeras.qtools", path, "--source-quantizer",
       "quantized_bits(8,0,1)", "--json", out_json, "--process", "horowitz"],
      capture_output=True, text=True, env=env, check=True)
  head, table = result.stdout.split("\n\n", 1)
  assert json.loads(head)["dw"]["layer_type"] == "QDepthwiseConv2D"
  lines = table.splitlines()
  assert lines[0].split() == ["layer", "class", "inputs", "outputs",
                              "parameters", "op_cost", "total"]
  assert [l.split()[0] for l in lines[1:]] == ["dw", "bn", "act1", "pw",
                                               "act2", "total",
                                               "include_energy"]
  with open(out_json) as f:
    assert json.load(f) == json.loads(head)
  bad = subprocess.run([sys.executable, "-m", "qkeras.qtools",
                        str(tmp_path / "missing.keras")],
                       capture_output=True, text=True, env=env)
  assert bad.returncode == 2
  assert bad.stderr.strip().endswith("no such file: " +
                                     str(tmp_path / "missing.keras"))
  bad = subprocess.run([sys.executable, "-m", "qkeras.qtools", path,
                        "--process", "tsmc"],
                       capture_output=True, text=True, env=env)
  assert bad.returncode == 2 and "unknown process 'tsmc'" in bad.stderr
  helped = subprocess.run([sys.executable, "-m", "qkeras.qtools", "--help"],
                          capture_output=True, text=True, env=env, check=True)
  assert "usage: python -m qkeras.qtools" in helped.stdout


def _cli_totals(argv, path):
  """The CLI's two totals for ``argv``: the table's "total (pJ)" (every
  part) and the "include_energy total (pJ)" line."""
  from qkeras.qtools import __main__ as cli  # pylint: disable=g-import-not-at-top
  out = io.StringIO()
  assert cli.main([path, "--no-map"] + argv, out=out) == 0
  lines = out.getvalue().splitlines()
  assert lines[-2].startswith("total (pJ)")
  assert lines[-1].startswith("include_energy total (pJ)")
  return int(lines[-2].split()[-1]), int(lines[-1].split()[-1])


@pytest.mark.parametrize("argv, init, pe", [
    ([], {}, {}),
    (["--source-quantizer", "int8", "--keras-quantizer", "int8",
      "--keras-accumulator", "int32", "--weights-on-memory", "sram",
      "--activations-on-memory", "sram", "--min-sram-size",
      str(8 * 16 * 1024 * 1024), "--no-rd-wr-on-io"],
     {"source_quantizers": "int8", "keras_quantizer": "int8",
      "keras_accumulator": "int32"},
     {"weights_on_memory": "sram", "activations_on_memory": "sram",
      "min_sram_size": 8 * 16 * 1024 * 1024, "rd_wr_on_io": False}),
    (["--for-reference", "--is-inference", "--keras-quantizer", "int8",
      "--keras-accumulator", "int32", "--weights-on-memory", "fixed"],
     {"for_reference": True, "is_inference": True, "keras_quantizer": "int8",
      "keras_accumulator": "int32"}, {"weights_on_memory": "fixed"}),
])
def test_command_line_agrees_with_the_api(argv, init, pe, tmp_path):
  # Issue 21: the CLI's defaults are QTools's and pe()'s, so the same
  # settings give the same energies (the table's total and extract_energy_sum).
  model = _depthwise_bn()
  x = keras.layers.Dense(3, name="float_dense")(keras.layers.Flatten()(
      model.output))
  model = keras.Model(model.input, x)
  path = str(tmp_path / "m.keras")
  model.save(path)
  model = keras.models.load_model(path, compile=False)
  qtools = QTools(model, **init)
  energy = qtools.pe(**pe)
  expected = (energy["total_cost"], qtools.extract_energy_sum(
      qtools_settings.cfg.include_energy, energy))
  assert _cli_totals(argv, path) == expected
  assert expected[0] > expected[1] > 0


def test_command_line_defaults_are_the_api_defaults():
  from qkeras.qtools import __main__ as cli  # pylint: disable=g-import-not-at-top
  args = vars(cli._parser().parse_args(["m.keras"]))  # pylint: disable=protected-access
  for function, skip in ((QTools.__init__, ("self", "model",
                                            "model_weights_already_quantized",
                                            "hw_weight_dict")),
                         (QTools.pe, ("self", "verbose"))):
    for name, parameter in inspect.signature(function).parameters.items():
      if name in skip:
        continue
      key = {"source_quantizers": "source_quantizer"}.get(name, name)
      assert args[key] == parameter.default, name


@pytest.mark.parametrize("example", ["example_generate_json",
                                     "example_get_energy"])
def test_examples_run(example, capsys):
  module = __import__(f"qkeras.qtools.examples.{example}",
                      fromlist=["main"])
  assert module.main([]) == 0
  out = capsys.readouterr().out
  if example == "example_get_energy":
    assert "Total energy: reference 226629 pJ" in out
  else:
    assert json.loads(out[out.index("{"):])["d1"]["layer_type"] == "QDense"


def test_recurrent_layers_sequential_and_bidirectional():
  from qkeras import QBidirectional  # pylint: disable=g-import-not-at-top
  from qkeras import QGRU  # pylint: disable=g-import-not-at-top
  q4 = "quantized_bits(4,0,1,alpha=1)"
  model = keras.Sequential([
      L.Input((5, 3)),
      QBidirectional(QGRU(4, kernel_quantizer=q4, recurrent_quantizer=q4,
                          bias_quantizer="quantized_bits(8,2,1)",
                          state_quantizer="quantized_bits(6,0,1)",
                          return_sequences=True), name="bigru"),
      L.SimpleRNN(2, name="float_rnn"),
  ])
  data_map, energy = _run(model)
  gru = data_map["bigru"]
  # 8-bit input x 4-bit kernel: 11 bits; 4-bit recurrent kernel x 6-bit
  # state: 9 bits; 3 + 4 products of the wider: 14 bits, int 3; + the
  # 8-bit bias (int 2): int 4, 15 bits (JSON int 5).
  assert _entry(data_map, "bigru", "multiplier") == (11, 1)
  assert _entry(data_map, "bigru", "recurrent_multiplier") == (9, 1)
  assert _entry(data_map, "bigru", "accumulator") == (15, 5)
  # Two directions x 5 steps x 3 gates x 4 units x (3 inputs / 4 states).
  assert gru["input_operation_count"] == 2 * 5 * 3 * 3 * 4
  assert gru["recurrent_operation_count"] == 2 * 5 * 4 * 3 * 4
  assert gru["weight_quantizer"]["shape"] == [2, 3, 12]
  cfg = qtools_settings.cfg
  expected = (360 * cfg.fpm_mul(np.sqrt(8 * 4)) +
              480 * cfg.fpm_mul(np.sqrt(6 * 4)) + 840 * cfg.fpm_add(15))
  assert energy["bigru"]["energy"]["op_cost"] == round(expected, 2)
  # A plain Keras RNN: int8 weights, int32 arithmetic.
  assert data_map["float_rnn"]["weight_quantizer"]["bits"] == 8
  assert data_map["float_rnn"]["accumulator"]["bits"] == 32
  assert data_map["float_rnn"]["operation_count"] == 5 * (8 + 2) * 2


def test_every_merge_and_shape_layer():
  x1 = L.Input((4, 4, 2), name="x1")
  x2 = L.Input((4, 4, 2), name="x2")
  a = QActivation("quantized_bits(4,0,1)", name="a")(x1)
  b = QActivation("quantized_relu(5,1)", name="b")(x2)
  merged = [L.Add(name="add")([a, b]), L.Subtract(name="sub")([a, b]),
            L.Multiply(name="mul")([a, b]), L.Average(name="avg")([a, b]),
            L.Maximum(name="max")([a, b]), L.Minimum(name="min")([a, b])]
  y = L.Concatenate(name="cat")(merged)
  y = L.UpSampling2D(2, name="up")(y)
  y = L.Dropout(0.1, name="drop")(y)
  y = L.Flatten(name="flat")(y)
  model = keras.Model([x1, x2], y)
  data_map, energy = _run(model, source=["quantized_bits(8,0,1)"] * 2)
  # a: 4 bits signed (int 0); b: 5 bits unsigned (int 1). Add (reference
  # rule): max bits + 1 = 6, max int + 1 = 2, signed (JSON int 3); Subtract
  # the same (a is signed already).
  assert _entry(data_map, "add", "Add_quantizer") == (6, 3)
  assert _entry(data_map, "sub", "Subtract_quantizer") == (6, 3)
  assert data_map["mul"]["Multiply_quantizer"]["op_type"] == "mul"
  assert "drop" not in data_map
  assert data_map["up"]["operation_count"] == 8 * 8 * 12
  assert data_map["flat"]["output_quantizer"]["bits"] == (
      data_map["cat"]["output_quantizer"]["bits"])
  assert energy["add"]["energy"]["op_cost"] > 0
  for name in ("avg", "max", "min", "cat", "up", "flat"):
    assert "unsupported" not in data_map[name], name


def test_auto_po2_scale_after_fit_and_predict():
  """A trained model's auto_po2 quantizers held a symbolic scale from the
  traced train/predict functions; QTools uses the weights' scale."""
  x = L.Input((4, 4, 1))
  y = QConv2D(2, 3, kernel_quantizer="quantized_bits(4,0,1)", name="conv")(x)
  y = L.Flatten()(y)
  y = QDense(2, kernel_quantizer="quantized_bits(4,0,1)", name="dense")(y)
  model = keras.Model(x, y)
  model.compile("adam", "mse")
  data = np.random.default_rng(0).normal(size=(8, 4, 4, 1)).astype("float32")
  model.fit(data, np.zeros((8, 2), np.float32), epochs=1, verbose=0)
  model.predict(data, verbose=0)
  data_map, energy = _run(model)
  assert data_map["conv"]["multiplier"]["op_type"] == "mul"
  assert energy["total_cost"] > 0
