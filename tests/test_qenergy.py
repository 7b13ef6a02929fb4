"""qkeras.qtools settings, config_public and the qenergy energy model.

Expected energies are written out from the formulas of the Horowitz model
(pJ): SRAM is read in 64-bit words, ``ceil(T/64) * sram(log2(max(T,
min_sram)))``, DRAM costs ``20.3125 * T`` for ``T`` bits. The whole-model
numbers at the end are QKeras's published goldens.
"""

import collections
import copy
import math
import types

import keras
import numpy as np
import pytest

from qkeras import QActivation
from qkeras import QAdaptiveActivation
from qkeras import QConv2D
from qkeras import QDense
from qkeras.qtools import config_public
from qkeras.qtools import qenergy as qenergy_package
from qkeras.qtools import settings
from qkeras.qtools.qenergy import qenergy
from qkeras.quantizers import binary
from qkeras.quantizers import quantized_bits

LayerDataType = collections.namedtuple(
    "LayerDataType",
    ["input_quantizer_list", "multiplier", "accumulator", "weight_quantizer",
     "w_shapes", "bias_quantizer", "b_shapes", "output_quantizer",
     "output_shapes", "operation_count"])

# The horowitz SRAM cubic in L = log2(size in bits), pJ per 64-bit word.
SRAM_CUBIC = (9.02427321e-04, -2.68847858e-02, 2.08900804e-01, 0.0)
BIG_SRAM = 2**27  # log2 = 27 -> 3.8038 pJ per word


def sram(level):
  a, b, c, d = SRAM_CUBIC
  return a * level**3 + b * level**2 + c * level + d


def fpm_add(bits):
  return 0.003125 * bits


def fpm_mul(bits):
  return 0.002994791667 * bits**2 + 0.001041666667 * bits


def dram(bits):
  return 20.3125 * bits


@pytest.fixture(autouse=True)
def _restore_cfg():
  """QTools and cfg.update change the global settings; undo that."""
  saved = copy.deepcopy(vars(settings.cfg))
  yield
  vars(settings.cfg).clear()
  vars(settings.cfg).update(saved)


@pytest.fixture
def horowitz():
  settings.cfg.update("horowitz", config_public.config_settings)
  return settings.cfg


def quantizer(bits, floating=False):
  return types.SimpleNamespace(bits=bits, is_floating_point=floating)


class Operator:
  """A multiplier / divider / merge stand-in."""

  def __init__(self, output, gate_factor, gate_bits, mode):
    self.output = output
    self.gate_factor = gate_factor
    self.gate_bits = gate_bits
    self._mode = mode

  def implemented_as(self):
    return self._mode


def accumulator(bits, floating=False):
  return types.SimpleNamespace(output=quantizer(bits, floating))


def fake_layer(class_name, name="layer", input_shapes=None, weights=None):
  """An object whose class is called ``class_name`` (as Keras layers)."""
  cls = type(class_name, (), {})
  layer = cls()
  layer.name = name
  if input_shapes is not None:
    tensors = [types.SimpleNamespace(shape=s) for s in input_shapes]
    layer.input = tensors[0] if len(tensors) == 1 else tensors
  layer.get_weights = lambda: list(weights or [])
  return layer


# ----------------------------------------------------------------- settings


def test_config_defaults():
  c = settings.ConfigClass()
  assert c.default_source_quantizer == "quantized_bits(8, 0, 1)"
  assert c.default_interm_quantizer == "fp32"
  expected = {"fpm_add": [0.003125, 0],
              "fpm_mul": [0.002994791667, 0.001041666667, 0],
              "fp16_add": [0.4], "fp16_mul": [1.1],
              "fp32_add": [0.9], "fp32_mul": [3.7],
              "sram_rd": [0.02455, -0.2656, 0.8661],
              "dram_rd": [20.3125, 0]}
  for name, coeffs in expected.items():
    poly = getattr(c, name)
    assert isinstance(poly, np.poly1d), name
    np.testing.assert_array_equal(poly.coeffs, np.poly1d(coeffs).coeffs)
  assert c.sram_mul_factor == 1 / 64
  assert c.dram_mul_factor == 1.0
  assert c.include_energy == {
      "default": ["inputs", "parameters", "op_cost"],
      "QActivation": ["outputs"], "QAdaptiveActivation": ["outputs"],
      "Activation": ["outputs"], "QBatchNormalization": ["parameters"],
      "BatchNormalization": ["parameters"], "Add": ["op_cost"],
      "Subtract": ["op_cost"], "MaxPooling2D": ["op_cost"]}
  assert isinstance(settings.cfg, settings.ConfigClass)


def test_config_instances_do_not_share_include_energy():
  a, b = settings.ConfigClass(), settings.ConfigClass()
  a.include_energy["Dense"] = ["outputs"]
  assert "Dense" not in b.include_energy


@pytest.mark.parametrize("bits, value", [
    (1, 0.003125), (8, 0.025), (16, 0.05), (32, 0.1)])
def test_fpm_add_values(bits, value):
  assert settings.ConfigClass().fpm_add(bits) == pytest.approx(value)


@pytest.mark.parametrize("bits, value", [
    (8, 0.2), (16, 0.78333), (32, 3.1), (4, 0.05208), (2, 0.01406),
    (1, 0.00404)])
def test_fpm_mul_values(bits, value):
  assert settings.ConfigClass().fpm_mul(bits) == pytest.approx(value,
                                                               abs=1e-5)


def test_float_costs_are_constants():
  c = settings.ConfigClass()
  for bits in (1, 16, 32):
    assert (c.fp16_add(bits), c.fp16_mul(bits)) == (0.4, 1.1)
    assert (c.fp32_add(bits), c.fp32_mul(bits)) == (0.9, 3.7)
  assert c.dram_rd(64) == pytest.approx(1300.0)  # 1.3 nJ per 64 bits


@pytest.mark.parametrize("log2_size, value", [
    (10, 0.303), (13, 0.1548), (16, 0.1563), (18, 0.3125), (20, 0.6435),
    (23, 1.5625), (24, 2.0031), (27, 3.8038), (30, 6.4363)])
def test_horowitz_sram_polynomial(horowitz, log2_size, value):
  assert horowitz.sram_rd(log2_size) == pytest.approx(value, abs=5e-5)


def test_update_horowitz():
  c = settings.ConfigClass()
  c.update("horowitz", config_public.config_settings)
  assert c.default_source_quantizer == "quantized_bits(8, 0, 1)"
  assert c.default_interm_quantizer == "quantized_bits(8, 0, 1)"
  np.testing.assert_array_equal(c.sram_rd.coeffs,
                                np.poly1d(SRAM_CUBIC).coeffs)
  np.testing.assert_array_equal(c.dram_rd.coeffs, [20.3125, 0])
  assert c.sram_mul_factor == 1 / 64
  # "Q" rules are copied to the Keras class name.
  assert c.include_energy["AdaptiveActivation"] == ["outputs"]
  assert c.include_energy["BatchNormalization"] == ["parameters"]
  assert c.include_energy["default"] == ["inputs", "parameters", "op_cost"]


def test_update_partial_settings_and_q_rules():
  c = settings.ConfigClass()
  c.update("p", {"p": {"fp32_mul": [2.0]},
                 "include_energy": {"QDense": ["op_cost"]}})
  assert c.fp32_mul(7) == 2.0
  assert c.fp32_add(7) == 0.9  # not listed: unchanged
  assert c.default_interm_quantizer == "fp32"
  assert c.include_energy["QDense"] == ["op_cost"]
  assert c.include_energy["Dense"] == ["op_cost"]
  assert c.include_energy["QActivation"] == ["outputs"]  # merged, kept


def test_update_unknown_process():
  c = settings.ConfigClass()
  with pytest.raises(ValueError,
                     match=r"process 'x'.*allowed: horowitz"):
    c.update("x", config_public.config_settings)
  assert c.default_interm_quantizer == "fp32"  # nothing applied


def test_config_public_settings():
  s = config_public.config_settings
  assert s["default_source_quantizer"] == "quantized_bits(8, 0, 1)"
  assert s["default_interm_quantizer"] == "quantized_bits(8, 0, 1)"
  assert s["horowitz"]["sram_rd"] == list(SRAM_CUBIC)
  assert s["horowitz"]["fpm_mul"] == [0.002994791667, 0.001041666667, 0]
  assert s["include_energy"]["MaxPooling2D"] == ["op_cost"]


# ----------------------------------------------------------------- OP table


def test_op_table_entries():
  op = qenergy.OP
  assert sorted(op) == ["dram", "fp16", "fp32", "fpm", "sram"]
  assert sorted(op["fpm"]) == ["add", "and", "mul", "mux", "or", "shifter",
                               "xor"]
  for name in ("add", "and", "mux", "or", "shifter", "xor"):
    assert op["fpm"][name](8) == pytest.approx(0.025)
  assert op["fpm"]["mul"](8) == pytest.approx(0.2)
  assert op["fp32"]["add"](32) == 0.9 and op["fp32"]["mul"](32) == 3.7
  assert op["fp16"]["add"](16) == 0.4 and op["fp16"]["mul"](16) == 1.1
  assert op["dram"]["rd"](64) == op["dram"]["wr"](64) == pytest.approx(1300)
  assert op["sram"]["rd"](18) == op["sram"]["wr"](18)
  assert op["sram"]["mul_factor"] == 1 / 64
  assert op["dram"]["mul_factor"] == 1.0


def test_op_table_is_clamped_at_zero():
  settings.cfg.update("horowitz", config_public.config_settings)
  assert settings.cfg.sram_rd(-1) < 0  # the cubic below L = 0
  assert qenergy.OP["sram"]["rd"](-1) == 0.0
  settings.cfg.fpm_add = np.poly1d([-1.0])
  assert qenergy.OP["fpm"]["xor"](8) == 0.0
  settings.cfg.dram_rd = np.poly1d([1.0, -10.0])
  assert qenergy.OP["dram"]["wr"](4) == 0.0
  assert qenergy.OP["dram"]["wr"](14) == 4.0


def test_op_table_follows_current_cfg(horowitz):
  assert qenergy.OP["sram"]["rd"](27) == pytest.approx(3.8038, abs=5e-5)
  settings.cfg.sram_mul_factor = 1 / 32
  assert qenergy.OP["sram"]["mul_factor"] == 1 / 32


def test_op_table_follows_replaced_cfg(monkeypatch):
  other = settings.ConfigClass()
  other.fp32_mul = np.poly1d([5.0])
  monkeypatch.setattr(settings, "cfg", other)
  assert qenergy.OP["fp32"]["mul"](32) == 5.0


def test_make_op_table_for_a_given_config():
  c = settings.ConfigClass()
  c.fpm_mul = np.poly1d([1.0, 0])
  assert qenergy.make_op_table(c)["fpm"]["mul"](8) == 8.0
  assert qenergy.OP["fpm"]["mul"](8) == pytest.approx(0.2)


def test_get_op_type():
  assert qenergy.get_op_type(quantizer(32, True)) == "fp32"
  assert qenergy.get_op_type(quantizer(16, True)) == "fp16"
  assert qenergy.get_op_type(quantizer(8)) == "fpm"
  assert qenergy.get_op_type(quantizer(32)) == "fpm"


# ----------------------------------------------------------- memory energy


def test_read_sram_rounds_up_to_64_bit_words(horowitz):
  # 10 x 10 values x 8 bits = 800 bits = 12.5 -> 13 words.
  e = qenergy.memory_read_energy(False, (None, 10, 10), "sram", BIG_SRAM,
                                 False, 8)
  assert e == pytest.approx(13 * sram(27))
  # 65 bits are two words.
  e = qenergy.memory_read_energy(False, (None, 65), "sram", BIG_SRAM, False,
                                 1)
  assert e == pytest.approx(2 * sram(27))


def test_read_sram_size_from_tensor_when_larger(horowitz):
  e = qenergy.memory_read_energy(False, (None, 10, 10), "sram", 0, False, 8)
  assert e == pytest.approx(13 * sram(math.log2(800)))
  e = qenergy.memory_read_energy(False, (None, 10, 10), "sram", 512, False,
                                 8)
  assert e == pytest.approx(13 * sram(math.log2(800)))


def test_read_dram(horowitz):
  e = qenergy.memory_read_energy(False, (None, 100), "dram", BIG_SRAM, False,
                                 8)
  assert e == pytest.approx(20.3125 * 800)
  # rd_wr_on_io: the tensor is also written to SRAM.
  e = qenergy.memory_read_energy(False, (None, 100), "dram", BIG_SRAM, True,
                                 8)
  assert e == pytest.approx(20.3125 * 800 + 13 * sram(27))


def test_read_fixed_is_free(horowitz):
  assert qenergy.memory_read_energy(False, (None, 100), "fixed", BIG_SRAM,
                                    True, 8) == 0


def test_read_input_layer_ignores_mode(horowitz):
  # The model input comes from SRAM without IO traffic ...
  e = qenergy.memory_read_energy(True, (None, 100), "fixed", BIG_SRAM, False,
                                 8)
  assert e == pytest.approx(13 * sram(27))
  # ... and from DRAM (through SRAM) with it.
  e = qenergy.memory_read_energy(True, (None, 100), "sram", BIG_SRAM, True,
                                 8)
  assert e == pytest.approx(20.3125 * 800 + 13 * sram(27))


def test_read_parameters_keep_the_first_axis(horowitz):
  # is_tensor=False: no batch axis; an int is a 1-D shape.
  e = qenergy.memory_read_energy(False, 300, "sram", BIG_SRAM, False, 8,
                                 is_tensor=False)
  assert e == pytest.approx(38 * sram(27))  # 2400 bits = 37.5 words
  e = qenergy.memory_read_energy(False, (4, 5), "dram", BIG_SRAM, False, 2,
                                 is_tensor=False)
  assert e == pytest.approx(20.3125 * 40)


def test_read_empty_tensor_is_free(horowitz):
  assert qenergy.memory_read_energy(False, (None, 0), "sram", 0, False,
                                    8) == 0


def test_read_unknown_dimension():
  with pytest.raises(ValueError, match="fully known"):
    qenergy.memory_read_energy(False, (None, None, 3), "sram", 0, False, 8)


def test_write_energy(horowitz):
  shape = (None, 300)  # x 32 bits = 9600 bits = 150 words
  assert qenergy.memory_write_energy(False, shape, "sram", BIG_SRAM, False,
                                     32) == pytest.approx(150 * sram(27))
  assert qenergy.memory_write_energy(False, shape, "dram", BIG_SRAM, False,
                                     32) == pytest.approx(20.3125 * 9600)
  assert qenergy.memory_write_energy(False, shape, "dram", BIG_SRAM, True,
                                     32) == pytest.approx(
                                         20.3125 * 9600 + 150 * sram(27))
  assert qenergy.memory_write_energy(False, shape, "fixed", BIG_SRAM, True,
                                     32) == 0
  # QKeras golden: 300 outputs of 32 bits in a 2^27-bit SRAM -> 570.57.
  assert round(qenergy.memory_write_energy(False, shape, "sram", BIG_SRAM,
                                           False, 32), 2) == 570.57


def test_write_output_layer_ignores_mode(horowitz):
  shape = (None, 100)
  assert qenergy.memory_write_energy(True, shape, "fixed", BIG_SRAM, False,
                                     8) == pytest.approx(13 * sram(27))
  assert qenergy.memory_write_energy(True, shape, "sram", BIG_SRAM, True,
                                     8) == pytest.approx(
                                         20.3125 * 800 + 13 * sram(27))


# ------------------------------------------------------- parameter energy


def dense_item(w_bits, b_bits, w_shapes=(784, 300), b_shapes=300):
  return LayerDataType(
      [quantizer(8)], None, None, quantizer(w_bits), w_shapes,
      None if b_bits is None else quantizer(b_bits), b_shapes, quantizer(32),
      (None, 300), 235200)


def test_parameters_of_weight_layers(horowitz):
  layer = fake_layer("QDense")
  # QKeras goldens: 784x300 8-bit weights + 300 8-bit biases
  # (29400 + 38 words) and 1-bit ones (3675 + 5 words).
  e = qenergy.parameter_read_energy(layer, dense_item(8, 8), "sram",
                                    BIG_SRAM, False)
  assert e == pytest.approx(29438 * sram(27))
  assert round(e, 2) == 111975.96
  e = qenergy.parameter_read_energy(layer, dense_item(1, 1), "sram",
                                    BIG_SRAM, False)
  assert round(e, 2) == 13997.95
  # No bias quantizer: weights only.
  e = qenergy.parameter_read_energy(layer, dense_item(8, None), "dram",
                                    BIG_SRAM, False)
  assert e == pytest.approx(20.3125 * 784 * 300 * 8)
  e = qenergy.parameter_read_energy(layer, dense_item(8, 8), "fixed",
                                    BIG_SRAM, True)
  assert e == 0


@pytest.mark.parametrize("class_name", [
    "Dense", "Conv1D", "Conv2D", "DepthwiseConv2D", "Conv2DTranspose",
    "QConv1D", "QConv2D", "QDepthwiseConv2D", "QConv2DTranspose"])
def test_parameters_of_every_weight_layer_kind(class_name):
  item = dense_item(4, 4, w_shapes=(3, 3, 2, 8), b_shapes=8)
  e = qenergy.parameter_read_energy(fake_layer(class_name), item, "dram", 0,
                                    False)
  assert e == pytest.approx(20.3125 * (144 + 8) * 4)


def test_parameters_of_batch_normalization():
  bn = keras.layers.BatchNormalization()
  bn.build((None, 16))
  item = {"gamma_quantizer": quantizer(8), "beta_quantizer": quantizer(4),
          "mean_quantizer": None, "variance_quantizer": quantizer(16)}
  e = qenergy.parameter_read_energy(bn, item, "dram", 0, False)
  assert e == pytest.approx(20.3125 * 16 * (8 + 4 + 16))
  # 128, 64 and 256 bits: 2 + 1 + 4 words.
  settings.cfg.update("horowitz", config_public.config_settings)
  e = qenergy.parameter_read_energy(bn, item, "sram", BIG_SRAM, False)
  assert e == pytest.approx(7 * sram(27))


def test_parameters_of_batch_normalization_without_scale():
  # Keras stores beta first when scale=False; every array has C values.
  bn = keras.layers.BatchNormalization(scale=False)
  bn.build((None, 6))
  item = {"gamma_quantizer": None, "beta_quantizer": quantizer(8),
          "mean_quantizer": quantizer(8), "variance_quantizer": quantizer(8)}
  e = qenergy.parameter_read_energy(bn, item, "dram", 0, False)
  assert e == pytest.approx(20.3125 * 6 * 24)


@pytest.mark.parametrize("class_name", [
    "QActivation", "Add", "AveragePooling2D", "Flatten", "QSeparableConv2D"])
def test_parameters_of_other_layers_are_zero(class_name):
  item = {"input_quantizer_list": [quantizer(8)],
          "output_quantizer": quantizer(8), "output_shapes": (None, 4),
          "operation_count": 4}
  assert qenergy.parameter_read_energy(fake_layer(class_name), item, "dram",
                                       0, True) == 0


# --------------------------------------------------------------- op energy


def test_op_energy_mac_golden():
  # QKeras golden: 784x300 int8 x int8 multiplications with an int32
  # accumulator: 235200 x (0.2 + 0.1) = 70560.
  item = dense_item(8, 8)._replace(
      multiplier=Operator(quantizer(16), 1.0, 8, "mul"),
      accumulator=accumulator(32))
  e = qenergy.layer_op_energy(fake_layer("QDense"), item)
  assert e == pytest.approx(70560.0)


def test_op_energy_mux_golden():
  # Binary weights: a mux (gate factor 0.3 on the 8 input bits) and a 19-bit
  # accumulator: 235200 x (0.3 x 0.025 + 19 x 0.003125) = 15729.
  item = dense_item(1, 1)._replace(
      multiplier=Operator(quantizer(8), 0.3, 8, "mux"),
      accumulator=accumulator(19))
  e = qenergy.layer_op_energy(fake_layer("Dense"), item)
  assert e == pytest.approx(15729.0)


@pytest.mark.parametrize("class_name", [
    "QConv2D", "QConv1D", "QDepthwiseConv2D", "QDense", "Conv2D", "Conv1D",
    "DepthwiseConv2D", "Dense"])
def test_op_energy_float_mac(class_name):
  item = dense_item(32, 32)._replace(
      multiplier=Operator(quantizer(32, True), 1.0, 32, "mul"),
      accumulator=accumulator(32, True), operation_count=10)
  e = qenergy.layer_op_energy(fake_layer(class_name), item)
  assert e == pytest.approx(10 * (3.7 + 0.9))


def test_op_energy_fp16_and_shifter():
  item = dense_item(4, 4)._replace(
      multiplier=Operator(quantizer(16, True), 2.0, 16, "mul"),
      accumulator=accumulator(16, True), operation_count=3)
  e = qenergy.layer_op_energy(fake_layer("Conv2D"), item)
  assert e == pytest.approx(3 * (2.0 * 1.1 + 0.4))
  item = item._replace(multiplier=Operator(quantizer(12), 0.5, 12,
                                           "shifter"),
                       accumulator=accumulator(20))
  e = qenergy.layer_op_energy(fake_layer("QConv2D"), item)
  assert e == pytest.approx(3 * (0.5 * fpm_add(12) + fpm_add(20)))


def test_op_energy_unknown_operation():
  item = dense_item(4, 4)._replace(
      multiplier=Operator(quantizer(16, True), 1.0, 16, "shifter"),
      accumulator=accumulator(16, True))
  with pytest.raises(ValueError, match="'shifter' on 'fp16'"):
    qenergy.layer_op_energy(fake_layer("Dense"), item)


@pytest.mark.parametrize("entry", ["dict", "namedtuple"])
@pytest.mark.parametrize("class_name, mode, cost", [
    ("Add", "add", fpm_add), ("Subtract", "add", fpm_add),
    ("Multiply", "mul", fpm_mul)])
def test_op_energy_merge(entry, class_name, mode, cost):
  merger = Operator(quantizer(9), 1.0, 9, mode)
  inputs = [quantizer(8)] * 3
  if entry == "dict":
    item = {"input_quantizer_list": inputs, "multiplier": merger,
            "output_quantizer": quantizer(9), "output_shapes": (None, 50),
            "operation_count": 50}
  else:
    item = LayerDataType(inputs, merger, None, None, None, None, None,
                         quantizer(9), (None, 50), 50)
  e = qenergy.layer_op_energy(fake_layer(class_name), item)
  assert e == pytest.approx(2 * 50 * cost(9))


@pytest.mark.parametrize("class_name", [
    "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D",
    "GlobalAvgPool2D"])
def test_op_energy_average_pooling(class_name):
  item = {"input_quantizer_list": [quantizer(8)], "average_quantizer": None,
          "pool_sum_accumulator": accumulator(10), "pool_avg_multiplier": None,
          "output_quantizer": quantizer(10), "output_shapes": (None, 4, 4, 3),
          "operation_count": 48}
  e = qenergy.layer_op_energy(fake_layer(class_name), item)
  assert e == pytest.approx(48 * fpm_add(10))


def test_op_energy_batch_normalization():
  item = {"internal_divide_quantizer": Operator(quantizer(16), 2.0, 16,
                                                "shifter"),
          "internal_multiplier": Operator(quantizer(8), 1.0, 8, "mul"),
          "operation_count": 100}
  e = qenergy.layer_op_energy(fake_layer("QBatchNormalization"), item)
  assert e == pytest.approx(100 * (2.0 * fpm_add(16) + fpm_mul(8)))
  item["internal_divide_quantizer"] = None
  e = qenergy.layer_op_energy(fake_layer("BatchNormalization"), item)
  assert e == pytest.approx(100 * fpm_mul(8))
  # A BN fused into the previous layer is a pass-through entry: no cost.
  passthrough = {"input_quantizer_list": [quantizer(8)],
                 "output_quantizer": quantizer(8),
                 "output_shapes": (None, 4), "operation_count": 4}
  assert qenergy.layer_op_energy(fake_layer("QBatchNormalization"),
                                 passthrough) == 0


@pytest.mark.parametrize("class_name", [
    "QActivation", "QAdaptiveActivation", "Activation", "MaxPooling2D",
    "Flatten", "Reshape", "Concatenate", "QSeparableConv2D", "QLSTM",
    "SomethingNew"])
def test_op_energy_of_other_layers_is_zero(class_name):
  # Whatever the entry holds (even operators), only the kinds above cost.
  item = LayerDataType([quantizer(8)], Operator(quantizer(8), 1, 8, "mul"),
                       accumulator(16), quantizer(4), (3, 3), None, None,
                       quantizer(8), (None, 4), 100)
  assert qenergy.layer_op_energy(fake_layer(class_name), item) == 0
  item = {"input_quantizer_list": [quantizer(8)],
          "output_quantizer": quantizer(8), "output_shapes": (None, 4),
          "operation_count": 4}
  assert qenergy.layer_op_energy(fake_layer(class_name), item) == 0


# ---------------------------------------------------------- energy_estimate


def small_model():
  """input (4) -> Dense d (3) -> Activation a -> Flatten f."""
  x = x_in = keras.Input((4,), name="x")
  x = keras.layers.Dense(3, name="d")(x)
  x = keras.layers.Activation("relu", name="a")(x)
  x = keras.layers.Flatten(name="f")(x)
  return keras.Model(x_in, x)


def small_layer_map(model):
  d, a, f = (model.get_layer(n) for n in ("d", "a", "f"))
  entries = collections.OrderedDict()
  entries[d] = LayerDataType(
      [quantizer(8)], Operator(quantizer(16), 1.0, 8, "mul"), accumulator(20),
      quantizer(8), (4, 3), quantizer(8), 3, quantizer(20), (None, 3), 12)
  entries[a] = {"input_quantizer_list": [quantizer(20)],
                "output_quantizer": quantizer(4), "output_shapes": (None, 3),
                "operation_count": 3}
  entries[f] = {"input_quantizer_list": [quantizer(4)],
                "output_quantizer": quantizer(4), "output_shapes": (None, 3),
                "operation_count": 3}
  return {"source_quantizer_list": [quantizer(8)], "input_layers": [d],
          "output_layers": [f], "layer_data_type_map": entries}


def test_energy_estimate_small_model_dram():
  model = small_model()
  result = qenergy.energy_estimate(model, small_layer_map(model), "dram",
                                   "dram", 0, False)
  assert list(result) == ["d", "a", "f", "total_cost"]  # InputLayer skipped
  # Without IO traffic the model input/output live in SRAM (quadratic
  # default polynomial; every tensor here fits one 64-bit word).

  def s(bits):
    return max(settings.cfg.sram_rd(math.log2(bits)), 0)

  d = {"inputs": s(32), "outputs": dram(60),
       "parameters": dram(12 * 8) + dram(3 * 8),
       "op_cost": 12 * (fpm_mul(8) + fpm_add(20))}
  a = {"inputs": dram(60), "outputs": dram(12), "parameters": 0,
       "op_cost": 0}
  f = {"inputs": dram(12), "outputs": s(12), "parameters": 0, "op_cost": 0}
  for name, expected in (("d", d), ("a", a), ("f", f)):
    energy = result[name]["energy"]
    assert list(energy) == ["inputs", "outputs", "parameters", "op_cost"]
    for key, value in expected.items():
      assert energy[key] == round(value, 2), (name, key)
  assert result["d"]["class_name"] == "Dense"
  assert result["a"]["class_name"] == "Activation"
  assert result["f"]["class_name"] == "Flatten"
  exact = sum(sum(e.values()) for e in (d, a, f))
  assert result["total_cost"] == int(exact)


def test_energy_estimate_rounding_and_total(horowitz):
  model = small_model()
  result = qenergy.energy_estimate(model, small_layer_map(model), "sram",
                                   "sram", BIG_SRAM, True)
  word = sram(27)
  # d reads the model input from DRAM through SRAM; f writes the model
  # output through SRAM to DRAM.
  d = {"inputs": dram(32) + word, "outputs": word, "parameters": 3 * word,
       "op_cost": 12 * (fpm_mul(8) + fpm_add(20))}
  f_outputs = dram(12) + word
  assert result["d"]["energy"] == {k: round(v, 2) for k, v in d.items()}
  assert result["f"]["energy"]["outputs"] == round(f_outputs, 2)
  for layer in ("d", "a", "f"):
    for value in result[layer]["energy"].values():
      assert value == round(value, 2) and isinstance(value, float)
  exact = sum(d.values()) + 2 * word + word + f_outputs  # a: in, out; f: in
  assert result["total_cost"] == int(exact)
  assert isinstance(result["total_cost"], int)


def test_energy_estimate_fixed_memories(horowitz):
  model = small_model()
  result = qenergy.energy_estimate(model, small_layer_map(model), "fixed",
                                   "fixed", BIG_SRAM, False)
  assert result["a"]["energy"] == {"inputs": 0.0, "outputs": 0.0,
                                   "parameters": 0.0, "op_cost": 0.0}
  assert result["d"]["energy"]["parameters"] == 0.0
  # Model input and output still move through SRAM.
  assert result["d"]["energy"]["inputs"] == round(sram(27), 2)
  assert result["f"]["energy"]["outputs"] == round(sram(27), 2)


def test_energy_estimate_unknown_layer_kind_and_missing_layers():
  model = small_model()
  layer_map = small_layer_map(model)
  # Layers absent from the map are skipped; unknown kinds cost no op energy.
  del layer_map["layer_data_type_map"][model.get_layer("a")]
  extra = fake_layer("SomethingNew", "extra", input_shapes=[(None, 5)])
  layer_map["layer_data_type_map"][extra] = {
      "input_quantizer_list": [quantizer(8)],
      "output_quantizer": quantizer(8), "output_shapes": (None, 5),
      "operation_count": 5}
  result = qenergy.energy_estimate(model, layer_map, "dram", "dram", 0,
                                   False)
  assert list(result) == ["d", "f", "extra", "total_cost"]
  assert result["extra"] == {
      "class_name": "SomethingNew",
      "energy": {"inputs": 812.5, "outputs": 812.5, "parameters": 0.0,
                 "op_cost": 0.0}}


def test_energy_estimate_merge_layer_with_two_inputs(horowitz):
  a_in = keras.Input((6,), name="a_in")
  b_in = keras.Input((6,), name="b_in")
  out = keras.layers.Add(name="add")([a_in, b_in])
  model = keras.Model([a_in, b_in], out)
  add = model.get_layer("add")
  merger = Operator(quantizer(9), 1.0, 9, "add")
  layer_map = {"input_layers": [add], "output_layers": [add],
               "layer_data_type_map": collections.OrderedDict([
                   (add, {"input_quantizer_list": [quantizer(8),
                                                   quantizer(4)],
                          "multiplier": merger,
                          "output_quantizer": quantizer(9),
                          "output_shapes": (None, 6),
                          "operation_count": 6})])}
  result = qenergy.energy_estimate(model, layer_map, "sram", "sram", 0,
                                   True)
  energy = result["add"]["energy"]
  # Each input tensor fits in one SRAM word of an SRAM of its size.
  assert energy["inputs"] == round(
      dram(48) + sram(math.log2(48)) + dram(24) + sram(math.log2(24)), 2)
  assert energy["outputs"] == round(dram(54) + sram(math.log2(54)), 2)
  assert energy["op_cost"] == round(6 * fpm_add(9), 2)


def test_energy_estimate_nested_model_layers():
  inner_in = keras.Input((4,))
  inner = keras.Model(inner_in, keras.layers.Dense(2, name="inner_d")(
      inner_in), name="inner")
  x_in = keras.Input((4,))
  model = keras.Model(x_in, inner(x_in))
  inner_d = inner.get_layer("inner_d")
  item = LayerDataType(
      [quantizer(8)], Operator(quantizer(16), 1.0, 8, "mul"), accumulator(16),
      quantizer(8), (4, 2), None, None, quantizer(16), (None, 2), 8)
  layer_map = {"input_layers": [], "output_layers": [],
               "layer_data_type_map": {inner_d: item}}
  result = qenergy.energy_estimate(model, layer_map, "dram", "dram", 0,
                                   False)
  assert list(result) == ["inner_d", "total_cost"]
  assert result["inner_d"]["energy"]["inputs"] == 20.3125 * 32
  assert result["inner_d"]["energy"]["op_cost"] == round(
      8 * (fpm_mul(8) + fpm_add(16)), 2)


def test_package_exports_energy_estimate():
  assert qenergy_package.energy_estimate is qenergy.energy_estimate


# ----------------------------------------- whole models through QTools


def _qtools():
  """QTools' module."""
  from qkeras.qtools import run_qtools  # pylint: disable=g-import-not-at-top
  return run_qtools


def dense_mlp():
  """784 -> QDense d0 (300, binary) -> quantized_relu(4,0) -> QDense d1
  (100, 4 bits) -> QAdaptiveActivation relu 4 bits -> QDense d2 (10, 4 bits)
  -> softmax: the model of QKeras's qtools energy golden."""
  x = x_in = keras.Input((784,), name="input")
  x = QDense(300, kernel_quantizer=binary(), bias_quantizer=binary(),
             name="d0")(x)
  x = QActivation("quantized_relu(4,0)", name="d0_qr4")(x)
  x = QDense(100, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="d1")(x)
  x = QAdaptiveActivation("quantized_relu", 4, name="d1_qr4")(x)
  x = QDense(10, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1), name="d2")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model(x_in, x)


def mlp_energy(run_qtools, model, for_reference):
  q = run_qtools.QTools(model, process="horowitz", source_quantizers="int8",
                        is_inference=False, weights_path=None,
                        keras_quantizer="int8", keras_accumulator="int32",
                        for_reference=for_reference)
  energy = q.pe(weights_on_memory="sram", activations_on_memory="sram",
                min_sram_size=8 * 16 * 1024 * 1024, rd_wr_on_io=False)
  return energy, q.extract_energy_sum(settings.cfg.include_energy, energy)


def test_qtools_energy_golden_mlp():
  run_qtools = _qtools()
  model = dense_mlp()
  reference, reference_size = mlp_energy(run_qtools, model, True)
  trial, trial_size = mlp_energy(run_qtools, model, False)
  expected_reference = {
      "d0": (372.77, 570.57, 111975.96, 70560.0),
      "d1": (570.57, 190.19, 14313.66, 26500.0),
      "d2": (190.19, 19.02, 483.08, 883.33)}
  expected_trial = {
      "d0": (372.77, 342.34, 13997.95, 15729.0),
      "d1": (72.27, 110.31, 7158.73, 3250.0),
      "d2": (26.63, 11.41, 243.44, 102.08)}
  keys = ("inputs", "outputs", "parameters", "op_cost")
  for result, expected in ((reference, expected_reference),
                           (trial, expected_trial)):
    for name, values in expected.items():
      got = tuple(result[name]["energy"][k] for k in keys)
      assert got == pytest.approx(values, abs=0.1), name
  assert int(reference_size) == 226629
  assert int(trial_size) == 41070


def two_input_model(quantized):
  """Two 16x16x3 inputs -> 2x2/2 convolutions (16) -> Add -> relu ->
  2x2/2 convolution (2); Keras layers, or QConv2D with 5-bit weights and a
  quantized_relu(8,2)."""

  def conv(filters, name):
    if quantized:
      return QConv2D(filters, 2, strides=2,
                     kernel_quantizer=quantized_bits(5, 0, 1),
                     bias_quantizer=quantized_bits(5, 0, 1), name=name)
    return keras.layers.Conv2D(filters, 2, strides=2, name=name)

  a = keras.Input((16, 16, 3), name="in_a")
  b = keras.Input((16, 16, 3), name="in_b")
  x = keras.layers.Add(name="add")([conv(16, "c0")(a), conv(16, "c1")(b)])
  if quantized:
    x = QActivation("quantized_relu(8,2)", name="act")(x)
  else:
    x = keras.layers.Activation("relu", name="act")(x)
  return keras.Model([a, b], conv(2, "c2")(x))


def test_qtools_reference_energy_ignores_quantizers():
  """A float model, its trial and the quantized model's reference all use
  int8 data and int32 accumulators, so their energies agree."""
  run_qtools = _qtools()

  def energy(model, for_reference):
    q = run_qtools.QTools(model, process="horowitz",
                          source_quantizers="int8", is_inference=True,
                          weights_path=None, keras_quantizer="int8",
                          keras_accumulator="int32",
                          for_reference=for_reference)
    result = q.pe(weights_on_memory="sram", activations_on_memory="sram",
                  min_sram_size=0, rd_wr_on_io=False)
    return q.extract_energy_sum(settings.cfg.include_energy, result)

  float_model = two_input_model(False)
  float_reference = energy(float_model, True)
  assert energy(float_model, False) == float_reference
  assert energy(two_input_model(True), True) == float_reference
  # Recorded with the qkeras 0.9.0 wheel.
  assert float_reference == 9473
