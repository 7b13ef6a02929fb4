# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras groundwork: quantization config, forgiving factors, utils."""

import json

import keras
import numpy as np
import pytest

from qkeras import QActivation
from qkeras import QDense
from qkeras.autoqkeras import ForgivingFactor
from qkeras.autoqkeras import ForgivingFactorBits
from qkeras.autoqkeras import ForgivingFactorPower
from qkeras.autoqkeras import default_quantization_config
from qkeras.autoqkeras import forgiving_factor
from qkeras.autoqkeras import get_quantization_dictionary
from qkeras.autoqkeras import print_qmodel_summary
from qkeras.autoqkeras import save_quantization_dict


def float_model():
  """Input(4) -> Dense(3, relu) -> Dense(2) (linear)."""
  x = keras.Input((4,), name="x")
  y = keras.layers.Dense(3, activation="relu", name="d1")(x)
  y = keras.layers.Dense(2, name="d2")(y)
  return keras.Model(x, y)


def quantized_model():
  """The same with a 4-bit d1 (2-bit relu) and a binary-kernel d2."""
  x = keras.Input((4,), name="x")
  y = QDense(3, kernel_quantizer="quantized_bits(4,0,1)",
             bias_quantizer="quantized_bits(4,0,1)",
             activation="quantized_relu(2,0)", name="d1")(x)
  y = QDense(2, kernel_quantizer="binary", name="d2")(y)
  y = QActivation("quantized_bits(4,0,1)", name="a2")(y)
  return keras.Model(x, y)


def test_default_quantization_config():
  config = default_quantization_config
  assert sorted(config) == ["activation", "bias", "kernel", "linear"]
  assert config["kernel"] == {
      "binary": 1, "stochastic_binary": 1, "ternary": 2,
      "stochastic_ternary": 2, "quantized_bits(2,1,1,alpha=1.0)": 2,
      "quantized_bits(4,0,1)": 4, "quantized_bits(8,0,1)": 8,
      "quantized_po2(4,1)": 4}
  assert config["bias"] == {"quantized_bits(4,0,1)": 4,
                            "quantized_bits(8,3,1)": 8,
                            "quantized_po2(4,8)": 4}
  assert config["activation"] == {
      "binary": 1, "binary(alpha='auto_po2')": 1, "ternary": 2,
      "quantized_relu(3,1)": 3, "quantized_relu(4,2)": 4,
      "quantized_relu(8,2)": 8, "quantized_relu(8,4)": 8,
      "quantized_relu(16,8)": 16, "quantized_relu_po2(4,4)": 4}
  assert config["linear"] == {
      "binary": 1, "ternary": 2, "quantized_bits(4,1)": 4,
      "quantized_bits(8,2)": 8, "quantized_bits(16,10)": 16,
      "quantized_po2(6,4)": 6}


def test_forgiving_factor_registry():
  assert forgiving_factor == {"bits": ForgivingFactorBits,
                              "energy": ForgivingFactorPower}
  assert issubclass(ForgivingFactorBits, ForgivingFactor)
  assert issubclass(ForgivingFactorPower, ForgivingFactor)


@pytest.mark.parametrize("trial, expected", [
    (25.0, 0.08 * 2),       # 4x smaller: 2 rate steps of +delta_p
    (100.0, 0.0),
    (400.0, -0.04 * 2),     # 4x bigger: 2 rate steps of -delta_n
])
def test_forgiving_factor_delta(trial, expected):
  factor = ForgivingFactor(delta_p=8.0, delta_n=4.0, rate=2.0)
  assert factor.delta_p == pytest.approx(0.08)
  assert factor.delta_n == pytest.approx(0.04)
  factor.reference_size, factor.trial_size = 100.0, trial
  assert float(factor.delta()) == pytest.approx(expected, rel=1e-6)


def test_forgiving_bits_by_hand():
  # Float: input 8*4 = 32; d1 params 8*(4*3+3) = 120, acts 8*3 = 24;
  # d2 params 8*(3*2+2) = 64, linear -> no activation bits.
  factor = ForgivingFactorBits(8.0, 8.0, 2.0)
  total, p, a, per_layer = factor.compute_model_size(float_model())
  assert (total, p, a) == (240, 184, 56)
  assert per_layer["d1"] == {"parameters": 120, "activations": 24,
                             "total": 144}
  assert factor.get_reference(float_model()) == 240
  # Quantized: d1 params 4*15 = 60, acts 2*3 = 6; d2 params 1*6 + 8*2
  # (no bias quantizer) = 22, linear; a2 acts 4*2 = 8.
  assert factor.get_trial(quantized_model()) == 32 + 60 + 6 + 22 + 8
  assert (factor.total_p_bits, factor.total_a_bits) == (82, 46)
  assert factor.get_total_factor() == pytest.approx((128 - 240) / 240)
  assert float(factor.delta()) == pytest.approx(
      0.08 * np.log(240 / 128) / np.log(2), rel=1e-6)


def test_forgiving_bits_config_and_stress():
  factor = ForgivingFactorBits(8.0, 8.0, 2.0, stress=0.5, ref_bits=16,
                               config={"default": ["parameters"],
                                       "InputLayer": ["activations"]})
  # 16 bits per parameter (184 / 8 * 16 = 368) plus the 8-bit input (32).
  assert factor.compute_model_size(float_model())[0] == 368 + 32
  assert factor.get_reference(float_model()) == pytest.approx(200.0)


def test_forgiving_bits_batchnorm():
  x = keras.Input((4,))
  y = keras.layers.BatchNormalization(name="bn")(x)
  factor = ForgivingFactorBits(8.0, 8.0, 2.0, config={"default":
                                                      ["parameters"]})
  # scale (moving variance, 4 values) + center (beta, 4 values), 8 bits.
  assert factor.compute_model_size(keras.Model(x, y))[3]["bn"][
      "parameters"] == 8 * 4 + 8 * 4


def test_forgiving_bits_print_stats(capsys):
  factor = ForgivingFactorBits(8.0, 8.0, 2.0)
  factor.get_reference(float_model())
  factor.get_trial(quantized_model())
  factor.print_stats()
  out = capsys.readouterr().out.splitlines()
  assert out[0].startswith("stats: delta_p=")
  assert "trial_size=128 reference_size=240" in out[0]
  assert "a_bits=46/56" in out[2] and "p_bits=82/184" in out[2]
  assert "total=128/240 (-46.67%)" in out[3]


def test_forgiving_power_trial_below_reference(capsys):
  factor = ForgivingFactorPower(8.0, 8.0, 2.0)
  reference = factor.get_reference(float_model())
  trial = factor.get_trial(quantized_model())
  assert 0 < trial < reference
  assert float(factor.delta()) > 0
  assert factor.get_total_factor() == pytest.approx(
      (trial - reference) / reference)
  assert set(factor.get_reference_stats()) >= {"d1", "d2"}
  factor.print_stats()
  assert "Total Cost Reduction:" in capsys.readouterr().out


def test_forgiving_power_stress_counts_in_delta():
  plain = ForgivingFactorPower(8.0, 8.0, 2.0)
  stressed = ForgivingFactorPower(8.0, 8.0, 2.0, stress=0.5)
  for factor in (plain, stressed):
    factor.get_reference(float_model())
    factor.get_trial(quantized_model())
  assert stressed.reference_size == pytest.approx(plain.reference_size / 2)
  # Halving the reference costs one rate step of delta_p.
  assert float(stressed.delta()) == pytest.approx(
      float(plain.delta()) - 0.08, rel=1e-5)


def test_forgiving_power_bad_reference():
  with pytest.raises(ValueError, match="reference_internal"):
    ForgivingFactorPower(8.0, 8.0, 2.0, reference_internal="int4")
  with pytest.raises(ValueError, match="reference_accumulator"):
    ForgivingFactorPower(8.0, 8.0, 2.0, reference_accumulator="int8")


def test_print_qmodel_summary(capsys):
  x = keras.Input((4,))
  y = keras.layers.BatchNormalization(name="bn")(x)
  model = quantized_model()
  print_qmodel_summary(model)
  print_qmodel_summary(keras.Model(x, y))
  assert capsys.readouterr().out.splitlines() == [
      # Kernel quantizers get alpha="auto_po2" (as in QKeras).
      "{:20} u=3 quantized_bits(4,0,1,alpha='auto_po2') "
      "quantized_bits(4,0,1) act=quantized_relu(2,0)".format("d1"),
      "{:20} u=2 binary(alpha='auto_po2') ".format("d2"),
      "{:20} quantized_bits(4,0,1)".format("a2"),
      "",
      "{:20} is normal keras bn layer".format("bn"),
      "",
  ]


def test_quantization_dictionary(tmp_path):
  model = quantized_model()
  expected = get_quantization_dictionary(model)
  assert sorted(expected) == ["a2", "d1", "d2"]
  path = tmp_path / "q.json"
  save_quantization_dict(str(path), model)
  text = path.read_text()
  assert "\n" not in text.strip()
  assert json.loads(text) == json.loads(json.dumps(expected))
