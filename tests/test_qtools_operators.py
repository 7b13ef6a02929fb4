"""qkeras.qtools.quantized_operators and qkeras.qtools.interface: the QTools
data-type algebra (reference §7.3-§7.5), golden numbers and a cross-check
against QKeras 0.9.0 (tests/data/qkeras09_qtools.json, recorded by
tests/fixtures/make_qkeras09_qtools_fixtures.py)."""

import collections
import json
import logging
import os
import re

import keras
import numpy as np
import pytest

from qkeras import qlayers
from qkeras import quantizers as Q
from qkeras.qtools import interface
from qkeras.qtools import settings
from qkeras.qtools.quantized_operators import AccumulatorFactory
from qkeras.qtools.quantized_operators import FusedBNFactory
from qkeras.qtools.quantized_operators import IAdder
from qkeras.qtools.quantized_operators import IDivider
from qkeras.qtools.quantized_operators import ISubtractor
from qkeras.qtools.quantized_operators import MergeFactory
from qkeras.qtools.quantized_operators import MultiplierFactory
from qkeras.qtools.quantized_operators import QBNFactory
from qkeras.qtools.quantized_operators import QuantizerFactory
from qkeras.qtools.quantized_operators import TagMissingError
from qkeras.qtools.quantized_operators import UnacceptedQuantizerError
from qkeras.qtools.quantized_operators import accumulator_impl
from qkeras.qtools.quantized_operators import adder_impl
from qkeras.qtools.quantized_operators import auto_po2
from qkeras.qtools.quantized_operators import divider_impl
from qkeras.qtools.quantized_operators import multiplier_impl
from qkeras.qtools.quantized_operators import quantizer_impl as qi

DATA = os.path.join(os.path.dirname(__file__), "data", "qkeras09_qtools.json")


def qf():
  return QuantizerFactory()


def q(quantizer):
  """The QTools format of a QKeras quantizer (or name)."""
  return qf().make_quantizer(quantizer)


def fmt(quantizer):
  """``[name, mode, bits, int_bits, is_signed, is_po2, max_val_po2, float]``
  (the fixture's layout), as plain Python values."""
  plain = interface._plain  # pylint: disable=protected-access
  return [quantizer.name] + [plain(v) for v in (
      quantizer.mode, quantizer.bits, quantizer.int_bits, quantizer.is_signed,
      quantizer.is_po2, quantizer.max_val_po2, quantizer.is_floating_point)]


def bits_json(quantizer, implemented_as=None):
  """``(bits, JSON int_bits)`` of a format."""
  data = interface.populate_quantizer(quantizer, implemented_as=implemented_as)
  return data["bits"], data.get("int_bits")


# ---------------------------------------------------------------------------
# Formats of QKeras quantizers (§7.3).
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("quantizer, expected", [
    (Q.quantized_bits(8, 0, 1), ["quantized_bits", 0, 8, 0, True, 0, -1,
                                 False]),
    (Q.quantized_bits(6, 2, 0, 0), ["quantized_bits", 0, 6, 2, 0, 0, -1,
                                    False]),
    (Q.quantized_tanh(4), ["quantized_tanh", 0, 4, -1, 1, 0, -1, False]),
    (Q.quantized_ulaw(8, 1), ["quantized_ulaw", 0, 8, 1, 1, 0, -1, False]),
    (Q.binary(), ["binary", 3, 1, 1, 1, 0, -1, False]),
    (Q.binary(use_01=True), ["binary", 4, 1, 1, 0, 0, -1, False]),
    (Q.stochastic_binary(), ["stochastic_binary", 3, 1, 1, 1, 0, -1, False]),
    (Q.bernoulli(), ["bernoulli", 4, 1, 1, 0, 0, -1, False]),
    (Q.quantized_relu(4, 1), ["quantized_relu", 0, 4, 1, 0, 0, -1, False]),
    (Q.quantized_relu(1, 1), ["quantized_relu", 4, 1, 1, 0, 0, -1, False]),
    (Q.quantized_relu(4, 0, negative_slope=0.25),
     ["quantized_relu", 0, 4, 0, 1, 0, -1, False]),
    (Q.ternary(), ["ternary", 2, 2, 2, 1, 0, -1, False]),
    (Q.stochastic_ternary(), ["stochastic_ternary", 2, 2, 2, 1, 0, -1,
                              False]),
    (Q.quantized_po2(5, 4), ["quantized_po2", 1, 5, 5, 1, 1, 4, False]),
    (Q.quantized_po2(4), ["quantized_po2", 1, 4, 4, 1, 1, -1, False]),
    (Q.quantized_relu_po2(4, 2), ["quantized_relu_po2", 1, 4, 4, 0, 1, 2,
                                  False]),
    ("fp32", ["floating_point", 5, 32, -1, 1, 0, -1, True]),
    ("fp16", ["floating_point", 5, 16, -1, 1, 0, -1, True]),
    ("int8", ["quantized_bits", 0, 8, 0, True, 0, -1, False]),
    ("int16", ["quantized_bits", 0, 16, 7, True, 0, -1, False]),
    ("int32", ["quantized_bits", 0, 32, 10, True, 0, -1, False]),
], ids=str)
def test_format_of_qkeras_quantizer(quantizer, expected):
  assert fmt(q(quantizer)) == expected


def test_variable_integer_is_read_as_int():
  quantizer = Q.quantized_bits(8, 3, 1, use_variables=True)
  quantizer.build(use_variables=True)
  assert isinstance(quantizer.integer, keras.Variable)
  result = q(quantizer)
  assert result.int_bits == 3 and type(result.int_bits) is int
  assert json.dumps(interface.populate_quantizer(result))


@pytest.mark.parametrize("bits, max_value, signed, expected", [
    (4, None, True, (4, 3)),     # 3 exponent bits: -4..3
    (5, 4, True, (8, 2)),        # max 4 caps the exponent at 2
    (4, 2, False, (8, 1)),
    (4, 0.5, False, (8, 0)),     # log2(0.5) < 0 -> 0 integer bits
    (6, None, False, (32, 31)),
])
def test_po2_min_max_exp(bits, max_value, signed, expected):
  cls = Q.quantized_po2 if signed else Q.quantized_relu_po2
  assert q(cls(bits, max_value)).get_min_max_exp() == expected


def test_po2_bits_calculator_and_update():
  po2 = q(Q.quantized_po2(8))
  assert po2.quantizer_bits_calculator(1) == (False, 1)
  assert po2.quantizer_bits_calculator(16) == (False, 4)     # e=4: 3+1
  assert po2.quantizer_bits_calculator(-0.0625) == (True, 3)  # e=-4: 2+1
  assert po2.quantizer_bits_calculator(0) == (False, 8)
  with pytest.raises(ValueError, match="not a power of two"):
    po2.quantizer_bits_calculator(3)
  po2.update_quantizer(-4, reset=True)
  assert (po2.bits, po2.int_bits, po2.is_signed, po2.name,
          po2.max_val_po2) == (4, 4, 1, "quantized_po2", 4.0)
  po2.update_quantizer(0.5)
  assert (po2.bits, po2.is_signed, po2.name, po2.max_val_po2) == (
      1, 0, "quantized_relu_po2", 0.5)
  po2.update_inference_values(np.array([[0.5, -1.0], [0.5, 2.0]]))
  assert po2.inference_value_counts == 3


@pytest.mark.parametrize("quantizer, kwargs", [
    (Q.quantized_bits(8, 3, 1), {}),
    (Q.quantized_bits(6, 2, 0, 0), {"symmetric": 0}),
    (Q.quantized_tanh(4), {}), (Q.quantized_ulaw(8, 1), {}),
    (Q.binary(), {}), (Q.binary(use_01=True), {}),
    (Q.stochastic_binary(), {}), (Q.bernoulli(), {}),
    (Q.quantized_relu(4, 1), {}), (Q.ternary(), {}),
    (Q.stochastic_ternary(), {}), (Q.quantized_po2(5, 4), {}),
    (Q.quantized_po2(4), {}), (Q.quantized_relu_po2(4, 2), {}),
], ids=str)
def test_convert_to_qkeras_quantizer_round_trip(quantizer, kwargs):
  back = q(quantizer).convert_to_qkeras_quantizer(**kwargs)
  assert type(back) is type(quantizer)
  assert back.get_config() == quantizer.get_config()


# Settings a format holds itself; every other constructor argument is an
# argument of convert_to_qkeras_quantizer.
_FORMAT_KEYS = {"bits", "integer", "keep_negative", "use_01", "max_value"}


def _settings_of(quantizer):
  """``quantizer``'s config without the settings the format holds."""
  return {k: v for k, v in quantizer.get_config().items()
          if k not in _FORMAT_KEYS}


@pytest.mark.parametrize("quantizer", [
    Q.quantized_bits(4, 2, 1, alpha="auto_po2", scale_axis=1,
                     qnoise_factor=0.5, use_ste=False, elements_per_scale=2,
                     min_po2_exponent=-3, max_po2_exponent=2),
    Q.quantized_bits(6, 2, 0, 0, alpha="auto_po2",
                     post_training_scale=[0.5, 1.0]),
    Q.quantized_bits(8, 3, 0, use_stochastic_rounding=True, alpha=2.0),
    Q.quantized_tanh(4, use_stochastic_rounding=True, symmetric=True,
                     use_real_tanh=True),
    Q.quantized_ulaw(8, 1, 1, u=100.0),
    Q.binary(alpha="auto_po2", scale_axis=0, elements_per_scale=[2],
             min_po2_exponent=-2, max_po2_exponent=1),
    Q.binary(use_01=True, alpha=0.5, use_stochastic_rounding=True),
    Q.quantized_relu(4, 1, use_sigmoid=1, negative_slope=0.25,
                     use_stochastic_rounding=True, relu_upper_bound=1.5,
                     is_quantized_clip=False, qnoise_factor=0.25,
                     use_ste=False),
    Q.quantized_relu(6, 2, enable_fast_inference=True),
    Q.ternary(alpha=2.0, threshold=0.4, number_of_unrolls=3),
    Q.quantized_po2(5, 4, use_stochastic_rounding=True,
                    quadratic_approximation=True, qnoise_factor=0.5,
                    use_ste=False),
    Q.quantized_po2(4, log2_rounding="floor"),
    Q.quantized_relu_po2(4, 2, negative_slope=0.25, log2_rounding="floor",
                         use_ste=False),
], ids=str)
def test_convert_to_qkeras_quantizer_takes_every_setting(quantizer):
  """Every class accepts all of its quantizer's arguments (QKeras passes
  e.g. elements_per_scale through) and rebuilds the same quantizer."""
  back = q(quantizer).convert_to_qkeras_quantizer(**_settings_of(quantizer))
  assert type(back) is type(quantizer)
  assert back.get_config() == quantizer.get_config()


def test_quantized_bits_passes_variables_and_names():
  back = q(Q.quantized_bits(8, 3, 1)).convert_to_qkeras_quantizer(
      var_name="w", use_variables=True, keep_negative=False)
  assert (back.var_name, back.use_variables, back.keep_negative) == (
      "w", True, False)
  relu = q(Q.quantized_relu(4)).convert_to_qkeras_quantizer(
      var_name="a", use_variables=True)
  assert (relu.var_name, relu.use_variables) == ("a", True)
  po2 = q(Q.quantized_po2(4)).convert_to_qkeras_quantizer(
      var_name="p", use_variables=True)
  assert (po2.var_name, po2.use_variables) == ("p", True)


@pytest.mark.parametrize("quantizer", [
    Q.stochastic_binary(alpha="auto_po2", temperature=3.0,
                        use_real_sigmoid=False),
    Q.stochastic_binary(alpha=0.5),
    Q.bernoulli(alpha="auto", temperature=2.0, use_real_sigmoid=False),
    Q.stochastic_ternary(alpha="auto_po2", temperature=4.0,
                         use_real_sigmoid=False, number_of_unrolls=2),
    Q.stochastic_ternary(alpha=1.5, threshold=0.25),
], ids=str)
def test_stochastic_formats_keep_their_settings(quantizer):
  """As in QKeras, the stochastic formats remember the quantizer's settings:
  convert_to_qkeras_quantizer() without arguments gives it back."""
  back = q(quantizer).convert_to_qkeras_quantizer()
  assert type(back) is type(quantizer)
  assert back.get_config() == quantizer.get_config()
  assert str(back) == str(quantizer)


def test_stochastic_formats_overrides_and_defaults():
  fmt_ = q(Q.stochastic_binary(alpha="auto", temperature=3.0))
  back = fmt_.convert_to_qkeras_quantizer(temperature=5.0)
  assert (back.alpha, back.temperature) == ("auto", 5.0)
  with pytest.raises(TypeError, match="threshold"):
    fmt_.convert_to_qkeras_quantizer(threshold=0.5)
  # Made without a QKeras quantizer: QKeras's defaults.
  for made, cls in [(qi.StochasticBinary(), Q.stochastic_binary),
                    (qi.Bernoulli(), Q.bernoulli),
                    (qi.StochasticTernary(), Q.stochastic_ternary)]:
    assert made.convert_to_qkeras_quantizer().get_config() == (
        cls().get_config())


def test_fixed_formats_use_qkeras_defaults_without_arguments():
  """The other formats, as in QKeras (recorded from the 0.9.0 wheel), rebuild
  from the format alone: settings not given take QKeras's defaults (here
  quantized_bits' symmetric=1 and quantized_relu's slope 0)."""
  assert str(q(Q.quantized_bits(5, 0, 0)).convert_to_qkeras_quantizer()) == (
      "quantized_bits(5,0,1)")
  relu = q(Q.quantized_relu(4, 0, negative_slope=0.25))
  assert str(relu.convert_to_qkeras_quantizer()) == "quantized_relu(4,0)"
  po2 = q(Q.quantized_relu_po2(4, 2))
  po2.update_quantizer(-2, reset=True)  # signed now; still a relu_po2
  assert type(po2.convert_to_qkeras_quantizer()) is Q.quantized_relu_po2


def test_floating_point_has_no_qkeras_quantizer():
  assert q("fp32").convert_to_qkeras_quantizer() is None


# ---------------------------------------------------------------------------
# QuantizerFactory.
# ---------------------------------------------------------------------------
def test_strings_are_parsed_not_evaluated():
  assert fmt(q("quantized_relu(4, 2)")) == fmt(q(Q.quantized_relu(4, 2)))
  assert fmt(q(" fp16 ")) == fmt(q("fp16"))
  for bad in ["__import__('os').system('true')", "int64", "fp64",
              "quantized_bits(", "nonsense"]:
    with pytest.raises(ValueError):
      q(bad)
    assert not qf().is_quantizer_supported(bad)


def test_none_is_the_default_interm_quantizer_at_construction(monkeypatch):
  monkeypatch.setattr(settings.cfg, "default_interm_quantizer", "int16")
  factory = QuantizerFactory()
  monkeypatch.setattr(settings.cfg, "default_interm_quantizer", "fp32")
  assert fmt(factory.make_quantizer(None)) == fmt(q("int16"))
  assert fmt(QuantizerFactory().make_quantizer(None)) == fmt(q("fp32"))
  assert fmt(factory.make_quantizer(keras.activations.linear)) == fmt(
      q("int16"))


def test_format_objects_are_deep_copied():
  for original in [qi.StochasticBinary(), qi.Bernoulli(), q(Q.ternary()),
                   q(Q.quantized_po2(4))]:
    copied = q(original)
    assert copied is not original and type(copied) is type(original)
    assert fmt(copied) == fmt(original)


@pytest.mark.parametrize("quantizer, text", [
    (Q.quantized_linear(), "quantized_linear(8,0,1)"),
    (Q.quantized_sigmoid(4), "quantized_sigmoid(4)"),
    (Q.quantized_hswish(), "quantized_hswish"),
    (keras.activations.relu, "relu"),
    (Q.hard_sigmoid, "hard_sigmoid"),
    (3, "3"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_unsupported_quantizers_raise(quantizer, text):
  factory = qf()
  assert not factory.is_quantizer_supported(quantizer)
  with pytest.raises(TagMissingError,
                     match=re.escape("Unsupported quantizer " + text)):
    factory.make_quantizer(quantizer)
  assert issubclass(TagMissingError, ValueError)


def test_supported_check_and_clone():
  factory = qf()
  for ok in [None, keras.activations.linear, Q.quantized_bits(4), "int8",
             "binary", qi.Ternary()]:
    assert factory.is_quantizer_supported(ok)
  original = q(Q.quantized_bits(4, 1, 1))
  assert factory.clone_quantizer(original) is not original
  with pytest.raises(ValueError, match="mode must be a quantizer name"):
    factory.make_default_quantizer(None)


# ---------------------------------------------------------------------------
# Multipliers (§7.4).
# ---------------------------------------------------------------------------
# One operand per mode: qbits, po2, ternary, binary ±1, binary 0/1, float.
MODE_OPERANDS = [Q.quantized_bits(8, 0, 1), Q.quantized_po2(4),
                 Q.ternary(), Q.binary(), Q.binary(use_01=True), "fp32"]
FX, SH, MX, XR, AN, FL = ("FixedPointMultiplier", "Shifter", "Mux",
                          "XorGate", "AndGate", "FloatingPointMultiplier")
# (implementation, output mode) by [weight mode][input mode] (§7.4 table).
TABLE = [
    [(FX, 0), (SH, 0), (MX, 0), (MX, 0), (AN, 0), (FL, 5)],
    [(SH, 0), ("Adder", 1), (MX, 1), (MX, 1), (AN, 1), (FL, 5)],
    [(MX, 0), (MX, 1), (MX, 2), (MX, 2), (AN, 2), (FL, 5)],
    [(MX, 0), (MX, 1), (MX, 2), (XR, 3), (AN, 2), (FL, 5)],
    [(AN, 0), (AN, 1), (AN, 2), (AN, 2), (AN, 4), (FL, 5)],
    [(FL, 5)] * 6,
]


@pytest.mark.parametrize("w_mode", range(6))
@pytest.mark.parametrize("x_mode", range(6))
def test_multiplier_table(w_mode, x_mode):
  weight, inputs = q(MODE_OPERANDS[w_mode]), q(MODE_OPERANDS[x_mode])
  before = (fmt(weight), fmt(inputs))
  mult = MultiplierFactory().make_multiplier(weight, inputs)
  impl, out_mode = TABLE[w_mode][x_mode]
  assert type(mult).__name__ == impl
  assert mult.output.mode == out_mode
  assert mult.weights is weight and mult.input is inputs
  assert mult.output.op_type == "multiplier"
  assert (fmt(weight), fmt(inputs)) == before  # operands untouched
  assert mult.implemented_as() == {FX: "mul", SH: "shifter", MX: "mux",
                                   XR: "xor", AN: "and", "Adder": "add",
                                   FL: "mul"}[impl]


def test_multiplier_outputs_are_fresh_objects():
  factory = MultiplierFactory()
  a = factory.make_multiplier(q("int8"), q("int8"))
  b = factory.make_multiplier(q("int16"), q("int8"))
  assert a.output is not b.output
  assert (a.output.bits, b.output.bits) == (15, 23)


def test_fixed_point_multiplier_golden():
  mult = MultiplierFactory().make_multiplier(q(Q.quantized_bits(8, 0, 1)),
                                             q(Q.quantized_bits(8, 0, 1)))
  assert bits_json(mult.output) == (15, 1)
  assert mult.output.int_bits == 0
  assert (mult.gate_factor, mult.gate_bits) == (1, 8.0)
  # Unsigned x signed: int 2+1, frac 4 + 3, signed -> 11 bits.
  mult = MultiplierFactory().make_multiplier(q(Q.quantized_bits(6, 2, 0, 0)),
                                             q(Q.quantized_bits(5, 1, 1)))
  assert (mult.output.bits, mult.output.int_bits, mult.output.is_signed) == (
      11, 3, 1)


def test_shifter():
  # po2(4, max 2): (-min_exp, max_exp) = (4, 1); qbits(8,0,1) signed.
  mult = MultiplierFactory().make_multiplier(q(Q.quantized_po2(4, 2)),
                                             q(Q.quantized_bits(8, 0, 1)))
  assert (mult.output.bits, mult.output.int_bits) == (13, 1)
  b = np.sqrt(2**4 * 8)
  assert mult.gate_factor == 1 and mult.gate_bits == pytest.approx(
      b * np.log10(b))
  # Unsigned fixed point times a signed po2 gets a sign bit.
  mult = MultiplierFactory().make_multiplier(
      q(Q.quantized_relu(4, 2)), q(Q.quantized_po2(4, 2)))
  assert (mult.output.bits, mult.output.int_bits, mult.output.is_signed) == (
      10, 3, 1)
  # Known po2 weight values at inference: 0.3 per distinct value.
  weight = q(Q.quantized_relu_po2(4, 2))
  weight.update_inference_values(np.array([0.25, 0.5, 1, 1]))
  mult = MultiplierFactory().make_multiplier(weight, q(Q.quantized_bits(6)))
  assert (mult.gate_factor, mult.gate_bits) == (pytest.approx(0.9), 6)
  # Unsigned po2(4, max 2): (8, 1) -> 6 + 8 + 1 bits, int 0 + 1.
  assert (mult.output.bits, mult.output.int_bits) == (15, 1)


def test_mux():
  factory = MultiplierFactory()
  mult = factory.make_multiplier(q(Q.binary()), q(Q.quantized_relu(4)))
  assert bits_json(mult.output) == (5, 1)  # unsigned input + sign bit
  assert (mult.gate_factor, mult.gate_bits) == (0.3, 4)
  mult = factory.make_multiplier(q(Q.ternary()), q(Q.quantized_bits(6, 2)))
  assert (mult.output.bits, mult.output.int_bits) == (6, 2)
  assert (mult.gate_factor, mult.gate_bits) == (0.6, 6)
  # Input is the selector; a po2 output keeps the po2 maximum.
  mult = factory.make_multiplier(q(Q.quantized_relu_po2(4, 2)),
                                 q(Q.stochastic_binary()))
  assert fmt(mult.output) == ["quantized_po2", 1, 5, 5, 1, 1, 2, False]
  assert mult.gate_factor == 0.3


def test_xor_and_and_gates():
  factory = MultiplierFactory()
  mult = factory.make_multiplier(q(Q.binary()), q(Q.stochastic_binary()))
  assert fmt(mult.output)[1:5] == [3, 1, 1, 1]
  assert (mult.gate_factor, mult.gate_bits) == (0.3, 1)
  # binary(0,1) weight: the input's integer bits (§7.5 golden: and 6/1).
  mult = factory.make_multiplier(q(Q.binary(use_01=True)),
                                 q(Q.quantized_bits(6, 0, 1)))
  assert bits_json(mult.output, "and") == (6, 1)
  assert (mult.gate_factor, mult.gate_bits) == (0.1, 6)
  # 0/1 input: the weight's integer bits.
  mult = factory.make_multiplier(q(Q.quantized_bits(6, 2, 1)),
                                 q(Q.bernoulli()))
  assert (mult.output.bits, mult.output.int_bits) == (6, 2)
  mult = factory.make_multiplier(q(Q.binary(use_01=True)),
                                 q(Q.quantized_po2(5, 4)))
  assert fmt(mult.output) == ["quantized_po2", 1, 5, 5, 1, 1, 4, False]
  mult = factory.make_multiplier(q(Q.bernoulli()), q(Q.ternary()))
  assert fmt(mult.output)[:5] == ["ternary", 2, 2, 2, 1]


def test_po2_adder_and_float_multipliers():
  mult = MultiplierFactory().make_multiplier(q(Q.quantized_po2(5, 4)),
                                             q(Q.quantized_relu_po2(4, 2)))
  assert fmt(mult.output) == ["quantized_po2", 1, 6, 6, 1, 1, 8, False]
  assert (mult.gate_factor, mult.gate_bits) == (1, 6)
  mult = MultiplierFactory().make_multiplier(q(Q.quantized_po2(4)),
                                             q(Q.quantized_relu_po2(4, 2)))
  assert mult.output.max_val_po2 == -1
  mult = MultiplierFactory().make_multiplier(q("fp16"), q("int8"))
  assert fmt(mult.output) == ["floating_point", 5, 16, -1, 1, 0, -1, True]
  mult = MultiplierFactory().make_multiplier(q(Q.binary()), q("fp32"))
  assert (mult.output.bits, mult.gate_bits, mult.implemented_as()) == (
      32, 32, "mul")


def test_multiplier_bad_operands():
  with pytest.raises(ValueError, match="weight quantizer is None"):
    MultiplierFactory().make_multiplier(None, q("int8"))
  with pytest.raises(ValueError, match="no QTools mode"):
    MultiplierFactory().make_multiplier(q("int8"), Q.quantized_bits(4))


# ---------------------------------------------------------------------------
# Accumulators, adders, subtractors.
# ---------------------------------------------------------------------------
def test_accumulators():
  factory = MultiplierFactory()
  mult = factory.make_multiplier(q(Q.quantized_bits(8, 0, 1)),
                                 q(Q.quantized_bits(8, 0, 1)))
  acc = AccumulatorFactory().make_accumulator((3, 3, 16, 8), mult,
                                              use_bias=True)
  # 3*3*16 + 1 = 145 additions -> 8 more bits.
  assert acc.log_add_ops == 8 and acc.implemented_as() == "add"
  assert bits_json(acc.output) == (23, 9)
  assert acc.output.op_type == "accumulator"
  acc = AccumulatorFactory().make_accumulator((16, 10), mult, use_bias=False)
  assert (acc.output.bits, acc.output.int_bits) == (19, 4)
  acc = AccumulatorFactory().make_accumulator((7, 4, 5), mult)  # Conv1D
  assert acc.log_add_ops == 5
  # po2 products are first converted to fixed point: po2(6, max 8) signed
  # -> (16, 3) -> 1 + 16 + 3 = 20 bits, 3 integer bits.
  mult = factory.make_multiplier(q(Q.quantized_po2(5, 4)),
                                 q(Q.quantized_relu_po2(4, 2)))
  acc = AccumulatorFactory().make_accumulator((2, 2, 1, 1), mult, False)
  assert type(acc) is accumulator_impl.Po2Accumulator
  assert (acc.output.bits, acc.output.int_bits, acc.output.mode) == (22, 5, 0)
  assert accumulator_impl.po2_to_qbits(mult.output) == (20, 3)
  mult = factory.make_multiplier(q("fp16"), q("int8"))
  acc = AccumulatorFactory().make_accumulator((16, 10), mult)
  assert fmt(acc.output) == ["floating_point", 5, 16, -1, 1, 0, -1, True]
  with pytest.raises(ValueError, match="kernel_shape"):
    AccumulatorFactory().make_accumulator((5,), factory.make_multiplier(
        q("int8"), q("int8")))


def test_adder_golden_and_table():
  adder = IAdder().make_quantizer(q(Q.quantized_bits(8, 3)),
                                  q(Q.quantized_bits(16, 4)))
  assert type(adder) is adder_impl.FixedPointAdder
  assert (adder.output.bits, adder.output.int_bits) == (17, 5)
  assert adder.implemented_as() == "add"
  assert (adder.gate_factor, adder.gate_bits) == (1, 17)
  po2 = q(Q.quantized_po2(4, 2))  # as fixed point: 1 + 4 + 1 bits, int 1
  for other in [Q.quantized_bits(8, 0, 1), Q.ternary(), Q.binary(),
                Q.binary(use_01=True)]:
    for pair in [(po2, q(other)), (q(other), po2)]:
      adder = IAdder().make_quantizer(*pair)
      assert type(adder) is adder_impl.Po2FixedPointAdder
  # relu_po2(4, max 2) as fixed point: 0 + 8 + 1 bits, int 1; sum: int 2,
  # frac max(4, 8), signed -> 11 bits.
  adder = IAdder().make_quantizer(po2, q(Q.quantized_relu_po2(4, 2)))
  assert type(adder) is adder_impl.Po2Adder
  assert (adder.output.bits, adder.output.int_bits) == (11, 2)
  adder = IAdder().make_quantizer(q("fp16"), q(Q.quantized_bits(40, 10)))
  assert fmt(adder.output) == ["floating_point", 5, 16, -1, 1, 0, -1, True]
  with pytest.raises(ValueError, match="not a QTools quantizer"):
    IAdder().make_quantizer(q("int8"), None)


def test_subtractor():
  # Unsigned - unsigned: the adder's 7 bits (int 3) plus a sign bit.
  sub = ISubtractor().make_quantizer(q(Q.quantized_relu(4, 2)),
                                     q(Q.quantized_bits(6, 2, 0, 0)))
  assert (sub.output.bits, sub.output.int_bits, sub.output.is_signed) == (
      8, 3, 1)
  assert sub.gate_bits == 8
  sub = ISubtractor().make_quantizer(q(Q.quantized_bits(8, 3)),
                                     q(Q.quantized_bits(16, 4)))
  assert (sub.output.bits, sub.output.int_bits) == (17, 5)
  sub = ISubtractor().make_quantizer(q(Q.quantized_relu(4, 2)), q("fp16"))
  assert fmt(sub.output)[0:3] == ["floating_point", 5, 16]


# ---------------------------------------------------------------------------
# Dividers.
# ---------------------------------------------------------------------------
def test_divider_rules():
  div = IDivider().make_quantizer(q(Q.quantized_bits(8, 0, 1)),
                                  q(Q.quantized_bits(8, 2, 1)))
  assert type(div) is divider_impl.FloatingPointDivider
  assert (div.output.bits, div.implemented_as()) == (32, "mul")
  div = IDivider().make_quantizer(q("fp16"), q(Q.quantized_bits(8, 2, 1)))
  assert div.output.bits == 16
  # x / po2(4, max 2): exponents reversed -> int 2 + 4, bits 8 + 5.
  div = IDivider().make_quantizer(q(Q.quantized_bits(8, 2, 1)),
                                  q(Q.quantized_po2(4, 2)))
  assert type(div) is divider_impl.Shifter
  assert (div.output.bits, div.output.int_bits, div.implemented_as()) == (
      13, 6, "shifter")
  div = IDivider().make_quantizer(q(Q.quantized_po2(5, 4)),
                                  q(Q.quantized_relu_po2(4, 2)))
  assert type(div) is divider_impl.Subtractor
  assert fmt(div.output) == ["quantized_po2", 1, 6, 6, 1, 1, 2.0, False]
  div = IDivider().make_quantizer(q(Q.binary()), q(Q.quantized_po2(4)))
  assert div.output.is_po2 and div.output.bits == 8
  for denominator in [Q.ternary(), Q.binary(), Q.binary(use_01=True),
                      Q.stochastic_binary(), Q.quantized_relu(1, 1)]:
    with pytest.raises(UnacceptedQuantizerError,
                       match="denominator quantizer .* not accepted!"):
      IDivider().make_quantizer(q(Q.quantized_bits(8)), q(denominator))
  with pytest.raises(ValueError, match="not a QTools quantizer"):
    IDivider().make_quantizer(q("int8"), "fp32")


# ---------------------------------------------------------------------------
# Merge layers.
# ---------------------------------------------------------------------------
MERGE_INPUTS = [Q.quantized_bits(4, 0, 1), Q.quantized_bits(5, 0, 0),
                Q.quantized_bits(6, 0, 1)]


def merge(layer_type, inputs, pairs=True):
  formats = [q(i) for i in inputs]
  items = [(f, {"edge": n}) for n, f in enumerate(formats)] if pairs else (
      formats)
  return MergeFactory().make_quantizer(items, layer_type)


@pytest.mark.parametrize("layer_type, expected, gate, op", [
    ("Add", (7, 2), 1, "add"),
    ("Multiply", (13, 1), 1, "mul"),
    ("Maximum", (6, 1), 0.2, "add"),
    ("Minimum", (6, 1), 0.2, "add"),
    ("Average", (6, 1), 1, "add"),
    ("Concatenate", (6, 1), 0, "add"),
])
def test_merge_goldens(layer_type, expected, gate, op):
  merger = merge(layer_type, MERGE_INPUTS)
  assert bits_json(merger.output, merger.implemented_as()) == expected
  assert merger.gate_factor == gate and merger.implemented_as() == op
  assert merger.edges == [{"edge": 0}, {"edge": 1}, {"edge": 2}]
  assert bits_json(merge(layer_type, MERGE_INPUTS, pairs=False).output) == (
      expected)


def test_concatenate_takes_the_widest_input():
  # Upstream's 14/4 Concatenate golden comes from its test model, whose
  # inputs are other layers' outputs; the rule: max bits, max int_bits.
  merger = merge("Concatenate", [Q.quantized_bits(14, 0, 1),
                                 Q.quantized_bits(7, 3, 1)])
  assert bits_json(merger.output) == (14, 4) and merger.gate_factor == 0


def test_merge_same_format_and_po2_and_float():
  merger = merge("Maximum", [Q.quantized_relu(4, 2), Q.quantized_relu(4, 2)])
  assert fmt(merger.output)[:5] == ["quantized_relu", 0, 4, 2, 0]
  assert merger.output is not merger.input_quantizers[0]
  merger = merge("Add", [Q.quantized_po2(4, 2), Q.quantized_bits(8, 0, 1)])
  assert (merger.output.bits, merger.output.int_bits) == (9, 2)
  merger = merge("Maximum", [Q.quantized_bits(8), "fp16", "fp32"])
  assert fmt(merger.output)[:3] == ["floating_point", 5, 32]


def test_subtract_merge():
  merger = merge("Subtract", [Q.quantized_relu(4, 2),
                              Q.quantized_bits(6, 1, 0, 0)])
  assert (merger.output.bits, merger.output.int_bits,
          merger.output.is_signed) == (8, 3, 1)
  assert merger.implemented_as() == "add" and merger.gate_bits == 8
  merger = merge("Subtract", MERGE_INPUTS[:2])
  assert bits_json(merger.output) == (6, 2)  # as Add: a sign bit exists
  with pytest.raises(ValueError, match="got 3 inputs"):
    merge("Subtract", MERGE_INPUTS)


def test_merge_errors():
  with pytest.raises(ValueError, match="Dot merge layer"):
    merge("Dot", MERGE_INPUTS[:2])
  with pytest.raises(ValueError, match="unknown merge layer type 'Foo'"):
    merge("Foo", MERGE_INPUTS[:2])
  with pytest.raises(ValueError, match="got 1 inputs"):
    merge("Multiply", MERGE_INPUTS[:1])
  with pytest.raises(ValueError, match="inputs must be QTools quantizers"):
    MergeFactory().make_quantizer([Q.quantized_bits(4)], "Add")


# ---------------------------------------------------------------------------
# Batch normalization.
# ---------------------------------------------------------------------------
def qbn(inputs, gamma, beta, mean, variance, scale=True, center=True):
  factory = QBNFactory()
  factory.make_quantizer(q(inputs), q(gamma), q(beta), q(mean), q(variance),
                         scale, center)
  return factory


def test_qbn_factory():
  po2 = Q.quantized_po2(5, 4)
  bn = qbn(Q.quantized_bits(8, 0, 1), po2, Q.quantized_bits(8, 0, 1),
           Q.quantized_bits(8, 0, 1), po2)
  # stddev: po2 4 bits, max round(sqrt(4)) = 2; gamma/stddev -> 6-bit po2.
  assert fmt(bn.internal_divide_quantizer.output) == [
      "quantized_po2", 1, 6, 6, 1, 1, 2.0, False]
  # (16, 1) exponent range: 8 + 16 + 1 = 25 bits, int 1.
  assert type(bn.internal_multiplier) is multiplier_impl.Shifter
  assert (bn.internal_multiplier.output.bits,
          bn.internal_multiplier.output.int_bits) == (25, 1)
  # + beta: int 2, frac max(23, 7), signed -> 26 bits.
  assert (bn.internal_accumulator.output.bits,
          bn.internal_accumulator.output.int_bits) == (26, 2)
  assert bn.internal_output is bn.internal_accumulator
  assert fmt(bn.variance_quantizer) == fmt(q(po2))  # not modified

  bn = qbn(Q.quantized_bits(8, 0, 1), po2, Q.quantized_bits(8, 0, 1),
           Q.quantized_bits(8, 0, 1), po2, scale=False, center=False)
  assert bn.internal_multiplier is None and bn.internal_accumulator is None
  assert bn.internal_output is bn.internal_divide_quantizer
  assert type(bn.internal_output) is divider_impl.Shifter
  # A fixed-point variance makes a float (fp32) quotient.
  bn = qbn(Q.quantized_relu(4, 1), Q.quantized_bits(8), "int8", "int8",
           Q.quantized_bits(8))
  assert fmt(bn.internal_divide_quantizer.output)[:3] == [
      "floating_point", 5, 32]
  assert bn.internal_multiplier.implemented_as() == "mul"
  with pytest.raises(UnacceptedQuantizerError):
    qbn("int8", Q.quantized_bits(8), "int8", "int8", Q.ternary())


def test_qbn_inference_value_counts():
  gamma, variance = q(Q.quantized_po2(5, 4)), q(Q.quantized_po2(5, 4))
  gamma.update_inference_values(np.array([1.0, 2.0, 0.5]))
  variance.update_inference_values(np.array([1.0, 4.0]))
  factory = QBNFactory()
  factory.make_quantizer(q("int8"), gamma, q("int8"), q("int8"), variance,
                         True, True)
  assert factory.internal_divide_quantizer.output.inference_value_counts == 6
  assert factory.internal_multiplier.gate_factor == pytest.approx(1.8)


def fused_bn(inverse=None, use_beta=True, use_bias=True, qkeras_inverse=None):
  """Fused BN of x = quantized_bits(16,6,1), bias (8,2,1), beta (6,2,1),
  mean (8,3,1) and an inverse quantizer (default quantized_bits(8,2,1))."""
  if inverse is None:
    inverse = Q.quantized_bits(8, 2, 1)
  factory = FusedBNFactory()
  factory.make_quantizer(
      q(Q.quantized_bits(16, 6, 1)), q(Q.quantized_bits(8, 2, 1)),
      q(Q.quantized_bits(6, 2, 1)), q(Q.quantized_bits(8, 3, 1)), q(inverse),
      use_beta, use_bias, inverse if qkeras_inverse is None else
      qkeras_inverse)
  return factory


def test_fused_bn(capsys, caplog):
  fused = fused_bn()
  # inv*x: int 2+6, frac 5+9 -> 23 bits; inv*mean 15 bits int 5; inv*bias
  # 15 bits int 4; bias-mean: int 6, frac 10 -> 17; +beta: int 7 -> 18;
  # inv*x + fused bias: int 9, frac 14 -> 24 bits (JSON int_bits 10).
  assert (fused.multiplier_x.output.bits, fused.multiplier_x.output.int_bits
         ) == (23, 8)
  assert (fused.bias_adder.output.bits, fused.fused_bias_adder.output.bits
         ) == (17, 18)
  assert bits_json(fused.internal_output.output) == (24, 10)
  assert fused.internal_accumulator is fused.internal_output
  assert fused.internal_output.implemented_as() == "add"
  # No auto_po2 quantizer: nothing printed or logged (QKeras printed
  # "adjust multiplier for auto_po2 ..." 3 times here; issue 21).
  assert capsys.readouterr().out == ""
  assert "auto_po2" not in caplog.text
  fused = fused_bn(use_beta=False, use_bias=False)
  assert fused.multiplier_bias is None
  assert fused.fused_bias_adder is fused.multiplier_mean
  assert bits_json(fused.internal_output.output) == (24, 10)
  # An auto_po2 inverse with scales 2**-1 .. 2**2 widens the products:
  # inv*x 23 bits / int 8 -> int 10, frac 23 - 8 + 1 = 16 -> 26 bits.
  auto = Q.quantized_bits(8, 2, 1, alpha="auto_po2",
                          post_training_scale=[0.5, 4.0])
  fused = fused_bn(inverse=Q.quantized_bits(8, 2, 1), qkeras_inverse=auto)
  assert (fused.multiplier_x.output.bits,
          fused.multiplier_x.output.int_bits) == (26, 10)


def test_fused_bn_needs_a_fixed_inverse_quantizer():
  with pytest.raises(ValueError, match="inverse_quantizer in batchnorm layer "
                     "has to be set for fused bn inference in hardware!"):
    fused_bn(inverse="fp32")


# ---------------------------------------------------------------------------
# auto_po2 adjustments.
# ---------------------------------------------------------------------------
def auto_po2_weight():
  weight = Q.quantized_bits(4, 2, alpha="auto_po2")
  # Per-channel scales 2, 0.5, 0.25.
  weight(np.array([[7.0, 1.75, 0.875], [-7.0, 1.75, -0.875]], np.float32))
  return weight


def test_adjust_multiplier_for_auto_po2(capsys, caplog):
  caplog.set_level(logging.INFO, logger="qkeras.qtools")
  weight = auto_po2_weight()
  np.testing.assert_array_equal(Q.get_weight_scale(weight),
                                [[2.0, 0.5, 0.25]])
  mult = MultiplierFactory().make_multiplier(q(weight),
                                             q(Q.quantized_bits(4, 2, 1)))
  assert (mult.output.bits, mult.output.int_bits) == (7, 4)
  auto_po2.adjust_multiplier_for_auto_po2(mult, weight)
  assert (mult.output.bits, mult.output.int_bits) == (10, 5)
  assert capsys.readouterr().out == ""  # logged, not printed (issue 21)
  assert caplog.messages == ["adjust multiplier for auto_po2 ..."]
  # A frozen (post-training) scale.
  weight = Q.quantized_bits(4, 0, 1, alpha="auto_po2",
                            post_training_scale=[1.0, 2.0, 8.0])
  mult = MultiplierFactory().make_multiplier(q(weight),
                                             q(Q.quantized_bits(4, 2, 1)))
  assert (mult.output.bits, mult.output.int_bits) == (7, 2)
  auto_po2.adjust_multiplier_for_auto_po2(mult, weight)
  assert (mult.output.bits, mult.output.int_bits) == (10, 5)


def test_adjust_multiplier_leaves_others_alone(caplog):
  for weight in [Q.quantized_bits(8, 0, alpha=1.0), Q.ternary(), None]:
    mult = MultiplierFactory().make_multiplier(q(Q.quantized_bits(8, 0, 1)),
                                               q(Q.quantized_bits(4, 2, 1)))
    auto_po2.adjust_multiplier_for_auto_po2(mult, weight)
    assert (mult.output.bits, mult.output.int_bits) == (11, 2)
  never_called = Q.quantized_bits(4, 0, 1, alpha="auto_po2")
  auto_po2.adjust_multiplier_for_auto_po2(mult, never_called)
  assert (mult.output.bits, mult.output.int_bits) == (11, 2)
  # One logged warning, for the quantizer without a scale.
  [record] = caplog.records
  assert record.levelno == logging.WARNING
  assert record.getMessage().startswith("auto_po2 is found in weight quantizer ")
  assert record.getMessage().endswith(
      "without scale. Skip adjusting multiplier bits...")


def test_adjust_accumulator_for_auto_po2():
  weight = auto_po2_weight()
  layer = qlayers.QDense(3, kernel_quantizer=weight,
                         bias_quantizer=Q.quantized_bits(8, 3, 1))
  layer.build((None, 2))
  mult = MultiplierFactory().make_multiplier(q(weight),
                                             q(Q.quantized_bits(4, 2, 1)))
  fused = auto_po2.adjust_accumulator_for_auto_po2(
      layer, mult, weight, q(Q.quantized_bits(8, 3, 1)))
  # 2 products -> 1 more bit: 11 bits / int 6; + bias: int 7, frac 4 -> 12.
  assert (fused.output.bits, fused.output.int_bits) == (12, 7)
  assert (mult.output.bits, mult.output.int_bits) == (7, 4)  # unchanged
  layer = keras.layers.DepthwiseConv2D((3, 3), use_bias=False)
  layer.build((None, 8, 8, 4))
  fused = auto_po2.adjust_accumulator_for_auto_po2(layer, mult, weight, None)
  # depthwise: 3*3 products -> 4 more bits.
  assert (fused.output.bits, fused.output.int_bits) == (14, 9)


# ---------------------------------------------------------------------------
# interface: populate_quantizer and map_to_json (§7.3, §7.5).
# ---------------------------------------------------------------------------
def test_populate_quantizer_kinds():
  pop = interface.populate_quantizer
  assert pop(q("fp16")) == {"quantizer_type": "floating_point", "bits": 16}
  assert pop(q(Q.quantized_po2(5, 4)), shape=(None, 3)) == {
      "quantizer_type": "quantized_po2", "bits": 5, "is_signed": 1,
      "max_value": 4, "shape": [-1, 3]}
  assert pop(q(Q.binary(use_01=True))) == {
      "quantizer_type": "binary", "bits": 1, "int_bits": 1, "is_signed": 0,
      "values": [0, 1]}
  assert pop(q(Q.stochastic_binary()))["values"] == [-1, 1]
  assert pop(q(Q.stochastic_ternary())) == {
      "quantizer_type": "stochastic_ternary", "bits": 2, "int_bits": 2,
      "is_signed": 1, "values": [0, -1, 1]}
  # Fixed point: the JSON int_bits include the sign bit.
  assert pop(q(Q.quantized_bits(8, 3, 1)), shape=10,
             implemented_as="add") == {
                 "quantizer_type": "quantized_bits", "bits": 8,
                 "int_bits": 4, "is_signed": True, "shape": 10,
                 "op_type": "add"}
  assert pop(q(Q.quantized_relu(4, 2)))["int_bits"] == 2
  assert pop(None) == {}
  assert list(pop(q("int8"), shape=(None, 2), implemented_as="mul")) == [
      "quantizer_type", "bits", "int_bits", "is_signed", "shape", "op_type"]


def test_map_to_json_layout():
  factory = MultiplierFactory()
  source = q(Q.quantized_bits(8, 0, 1))
  weight, bias = q(Q.binary()), q(Q.quantized_bits(4, 0, 1))
  mult = factory.make_multiplier(weight, source)
  acc = AccumulatorFactory().make_accumulator((16, 10), mult, False)
  layer_data_type = collections.namedtuple("LayerDataType", [
      "input_quantizer_list", "multiplier", "accumulator", "weight_quantizer",
      "w_shapes", "bias_quantizer", "b_shapes", "output_quantizer",
      "output_shapes", "operation_count"])
  dense = keras.layers.Dense(10, name="dense")
  add = keras.layers.Add(name="add")
  bn = keras.layers.BatchNormalization(name="bn")
  pool = keras.layers.AveragePooling2D(2, name="pool")
  merger = merge("Add", MERGE_INPUTS)
  qbn_types = qbn("int8", Q.quantized_po2(5, 4), "int8", "int8",
                  Q.quantized_po2(5, 4))
  layer_map = {
      "source_quantizer_list": [source],
      "output_layers": [], "input_layers": [],
      "layer_data_type_map": collections.OrderedDict([
          (dense, {"input_quantizer_list": [source], "multiplier": mult,
                   "accumulator": acc, "weight_quantizer": weight,
                   "w_shapes": (16, 10), "bias_quantizer": bias,
                   "b_shapes": np.int64(10), "fused_accumulator": acc,
                   "output_quantizer": acc.output,
                   "output_shapes": (None, 10),
                   "operation_count": np.int64(160)}),
          (add, layer_data_type(merger.input_quantizers, merger, None, None,
                                None, None, None, merger.output, (None, 4),
                                4)),
          (bn, {"input_quantizer_list": [source],
                "gamma_quantizer": qbn_types.gamma_quantizer,
                "beta_quantizer": qbn_types.beta_quantizer,
                "mean_quantizer": qbn_types.mean_quantizer,
                "variance_quantizer": qbn_types.variance_quantizer,
                "gamma_range": None, "beta_range": None,
                "internal_divide_quantizer":
                    qbn_types.internal_divide_quantizer,
                "internal_multiplier": qbn_types.internal_multiplier,
                "internal_accumulator": qbn_types.internal_accumulator,
                "output_quantizer": qbn_types.internal_output.output,
                "output_shapes": (None, 10), "operation_count": 10}),
          (pool, {"input_quantizer_list": [source],
                  "average_quantizer": None, "pool_sum_accumulator": acc,
                  "pool_avg_multiplier": None, "output_quantizer": source,
                  "output_shapes": [(None, 2, 2, 3)],
                  "operation_count": 12}),
      ]),
  }
  result = interface.map_to_json(layer_map)
  assert json.loads(json.dumps(result)) == result  # plain JSON values
  assert list(result) == ["source_quantizers", "dense", "add", "bn", "pool"]
  assert result["source_quantizers"] == [interface.populate_quantizer(source)]
  d = result["dense"]
  assert list(d) == ["layer_type", "input_quantizer_list", "output_quantizer",
                     "weight_quantizer", "bias_quantizer", "multiplier",
                     "accumulator", "fused_accumulator", "operation_count"]
  assert d["layer_type"] == "Dense" and d["operation_count"] == 160
  assert d["output_quantizer"]["shape"] == [-1, 10]
  assert d["weight_quantizer"]["shape"] == [16, 10]
  assert d["bias_quantizer"]["shape"] == 10
  assert d["multiplier"] == {"quantizer_type": "quantized_bits", "bits": 8,
                             "int_bits": 1, "is_signed": 1, "op_type": "mux"}
  assert d["accumulator"]["op_type"] == "add"
  a = result["add"]
  assert a["Add_quantizer"] == {"quantizer_type": "quantized_bits",
                                "bits": 7, "int_bits": 2, "is_signed": True,
                                "op_type": "add"}
  assert "multiplier" not in a and len(a["input_quantizer_list"]) == 3
  b = result["bn"]
  assert list(b) == ["layer_type", "input_quantizer_list", "output_quantizer",
                     "gamma_quantizer", "beta_quantizer", "mean_quantizer",
                     "variance_quantizer", "internal_divide_quantizer",
                     "internal_multiplier", "internal_accumulator",
                     "operation_count"]
  assert b["internal_divide_quantizer"]["op_type"] == "add"
  assert b["internal_multiplier"]["op_type"] == "shifter"
  p = result["pool"]
  assert p["output_quantizer"]["shape"] == [[-1, 2, 2, 3]]
  assert "average_quantizer" not in p and "pool_avg_multiplier" not in p
  assert p["pool_sum_accumulator"]["op_type"] == "add"


def test_map_to_json_bad_entry():
  layer_map = {"source_quantizer_list": [], "layer_data_type_map": {
      keras.layers.Dense(1, name="d"): ["not", "an", "entry"]}}
  with pytest.raises(ValueError, match="LayerDataType namedtuple or a dict"):
    interface.map_to_json(layer_map)
  layer_map["layer_data_type_map"] = {keras.layers.Dense(1, name="d"): {
      "input_quantizer_list": [], "weight_quantizer": Q.quantized_bits(4),
      "operation_count": 0}}
  with pytest.raises(ValueError, match="cannot write"):
    interface.map_to_json(layer_map)
  assert not hasattr(interface, "print_qstats")


# ---------------------------------------------------------------------------
# Cross-check with QKeras 0.9.0 (the reference wins where they differ; every
# difference below is listed in docs/compat.md "QTools data types").
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recorded():
  with open(DATA) as f:
    records = json.load(f)
  operands = records[0]
  assert operands["kind"] == "operands"
  by_kind = collections.defaultdict(list)
  for record in records[1:]:
    by_kind[record["kind"]].append(record)
  return operands, by_kind


def maker(operands):
  def make(name):
    if name in operands["names"]:
      return q(name)
    cls, args, kwargs = operands["quantizers"][name]
    return q(getattr(Q, cls)(*args, **kwargs))
  return make


def op_summary(op):
  summary = {"class": type(op).__name__,
             "implemented_as": op.implemented_as(), "output": fmt(op.output)}
  for key in ("gate_factor", "gate_bits", "log_add_ops"):
    if hasattr(op, key):
      summary[key] = interface._plain(getattr(op, key))  # pylint: disable=protected-access
  return summary


def assert_same_op(mine, theirs, context):
  for key, value in mine.items():
    expected = theirs.get(key)
    if key in ("gate_factor", "gate_bits") and mine["class"].endswith(
        "Adder") and expected is None:
      continue  # 0.9.0's adders had no energy attributes
    if key in ("gate_factor", "gate_bits") and value is not None:
      assert value == pytest.approx(expected), (context, key)
    else:
      assert value == expected, (context, key, value, expected)


def test_09_quantizer_formats(recorded):
  operands, by_kind = recorded
  make = maker(operands)
  for record in by_kind["quantizer"]:
    name = record["operands"][0]
    mine = make(name)
    assert fmt(mine) == record["output"], name
    assert interface.populate_quantizer(mine) == record["json"], name
    if "str" in record and record["str"] is not None:
      assert str(mine.convert_to_qkeras_quantizer()) == record["str"], name
    if "min_max_exp" in record:
      assert list(mine.get_min_max_exp()) == record["min_max_exp"], name


def upstream_multiplier(record, make):
  """0.9.0's multiplier record, adjusted by the documented differences.

  Returns the expected summary and the name of the difference applied."""
  expected = json.loads(json.dumps(record))
  weight, inputs = (make(n) for n in record["operands"])
  rule = None
  if (expected["class"] == "FixedPointMultiplier" and weight.is_signed and
      inputs.is_signed):
    expected["output"][2] -= 1  # reference: int + frac + one sign bit
    rule = "fixed point bits"
  elif (expected["class"] == "Mux" and inputs.mode == 3 and
        weight.mode not in (2, 3) and inputs.name != "binary"):
    expected["gate_factor"] = 0.3  # any binary ±1 selector costs 0.3
    rule = "mux gate"
  elif (expected["class"] == "AndGate" and weight.mode == 4 and
        weight.name != "binary" and expected["output"][0] != "ternary"):
    expected["output"][3] = inputs.int_bits  # 0/1 weight: input's int bits
    rule = "and int bits"
  return expected, rule


def test_09_multipliers(recorded):
  operands, by_kind = recorded
  make = maker(operands)
  rules = collections.Counter()
  for record in by_kind["multiplier"]:
    expected, rule = upstream_multiplier(record, make)
    rules[rule] += 1
    mult = MultiplierFactory().make_multiplier(
        *(make(n) for n in record["operands"]))
    assert_same_op(op_summary(mult), expected, record["operands"])
  assert len(by_kind["multiplier"]) == 256
  assert set(rules) == {None, "fixed point bits", "mux gate", "and int bits"}


class _Product:
  """A multiplier stub with a recorded output format."""

  def __init__(self, output):
    self.output = qi.IQuantizer()
    (self.output.name, self.output.mode, self.output.bits,
     self.output.int_bits, self.output.is_signed, self.output.is_po2,
     self.output.max_val_po2, self.output.is_floating_point) = output
    if self.output.is_po2:
      self.output.get_min_max_exp = lambda: qi.get_exp(self.output)


def test_09_accumulators(recorded):
  # Fed with 0.9.0's own products, the accumulator rules agree exactly.
  _, by_kind = recorded
  products = {tuple(r["operands"]): r["output"]
              for r in by_kind["multiplier"]}
  for record in by_kind["accumulator"]:
    w, x, shape, use_bias = record["operands"]
    acc = AccumulatorFactory().make_accumulator(
        tuple(shape), _Product(products[(w, x)]), use_bias)
    assert_same_op(op_summary(acc), record, record["operands"])
  assert len(by_kind["accumulator"]) == 512


def test_09_adders(recorded):
  operands, by_kind = recorded
  make = maker(operands)
  changed = 0
  for record in by_kind["adder"]:
    first, second = (make(n) for n in record["operands"])
    adder = IAdder().make_quantizer(first, second)
    mine = op_summary(adder)
    if {first.mode, second.mode} == {1, 4} and first.mode == 1:
      # 0.9.0's table added po2 + binary(0,1) (in that order) without
      # converting the po2 operand; both orders convert it here.
      assert record["class"] == "FixedPointAdder"
      assert mine["class"] == "Po2FixedPointAdder"
      changed += 1
      continue
    expected = json.loads(json.dumps(record))
    if expected["class"] in ("FixedPointAdder", "Po2FixedPointAdder",
                             "Po2Adder"):
      # Reference: bits = max(int) + 1 + sign + max(frac), after po2
      # operands are converted to fixed point (0.9.0: max(bits) + 1).
      fixed = [adder_impl.po2_qbits_converter(o) if o.is_po2 else o
               for o in (first, second)]
      frac = max(o.bits - int(o.is_signed) - o.int_bits for o in fixed)
      expected["output"][2] = (expected["output"][3] +
                               int(expected["output"][4]) + frac)
    assert_same_op(mine, expected, record["operands"])
  assert changed == 6 and len(by_kind["adder"]) == 256


def test_09_dividers_and_subtractor(recorded):
  operands, by_kind = recorded
  make = maker(operands)
  for record in by_kind["divider"]:
    args = [make(n) for n in record["operands"]]
    if "error" in record:
      with pytest.raises(UnacceptedQuantizerError) as info:
        IDivider().make_quantizer(*args)
      assert record["error"] == f"UnacceptedQuantizerError: {info.value}"
    else:
      assert_same_op(op_summary(IDivider().make_quantizer(*args)), record,
                     record["operands"])
  assert len(by_kind["divider"]) == 256
  (record,) = by_kind["subtractor"]
  assert "FloatingPoint_Adder" in record["error"]  # 0.9.0 always crashed
  sub = ISubtractor().make_quantizer(*(make(n) for n in record["operands"]))
  assert (sub.output.bits, sub.output.int_bits) == (11, 3)


def test_09_merges(recorded):
  operands, by_kind = recorded
  make = maker(operands)
  adds = {tuple(r["operands"][0]): r for r in by_kind["merge"]
          if r["operands"][1] == "Add"}
  for record in by_kind["merge"]:
    names, layer_type = record["operands"]
    if layer_type == "Subtract" and len(names) != 2:
      continue  # Keras's Subtract takes two inputs
    formats = [make(n) for n in names]
    mine = op_summary(MergeFactory().make_quantizer(
        [(f, None) for f in formats], layer_type))
    expected = json.loads(json.dumps(record))
    if layer_type == "Subtract":  # 0.9.0 returned None: as Add + sign bit
      assert record["error"] == "returned None"
      expected = json.loads(json.dumps(adds[tuple(names)]))
      expected["class"] = "Subtract"
      if not any(f.is_signed for f in formats) and not mine["output"][7]:
        expected["output"][2] += 1
        expected["output"][4] = 1
        expected["gate_bits"] += 1
    elif layer_type == "Multiply" and expected["class"] == "Multiply" and (
        mine["implemented_as"] == "mul" and not mine["output"][7]):
      # Chained fixed-point products: checked by the goldens above.
      mine["output"][2] = expected["output"][2]
      mine["gate_bits"] = expected["gate_bits"]
    assert_same_op(mine, expected, record["operands"])


def test_09_qbn(recorded):
  operands, by_kind = recorded
  make = maker(operands)
  for record in by_kind["qbn"]:
    names, scale, center = record["operands"]
    factory = QBNFactory()
    factory.make_quantizer(*(make(n) for n in names), scale, center)
    for key in ("internal_divide_quantizer", "internal_multiplier",
                "internal_accumulator", "internal_output"):
      op, theirs = getattr(factory, key), record[key]
      if op is None:
        assert theirs is None, (names, key)
        continue
      mine = op_summary(op)
      mine.setdefault("gate_factor", None)
      mine.setdefault("gate_bits", None)
      if theirs["class"] == "FixedPointAdder" or (
          theirs["class"] == "FixedPointMultiplier"):
        # Bit counts of the reference formulas: checked above.
        mine["output"][2] = theirs["output"][2]
        if theirs["class"] == "FixedPointMultiplier":
          mine["gate_bits"] = theirs["gate_bits"]
      assert_same_op(mine, theirs, (names, scale, center, key))
  assert len(by_kind["qbn"]) == 24


def test_09_po2_bits_and_shifter_counts(recorded):
  operands, by_kind = recorded
  make = maker(operands)
  for record in by_kind["po2_bits"]:
    name, val = record["operands"]
    assert list(make(name).quantizer_bits_calculator(val)) == (
        record["result"]), record["operands"]
  for record in by_kind["shifter_counts"]:
    w, x, values = record["operands"]
    weight = make(w)
    weight.update_inference_values(np.array(values))
    mult = MultiplierFactory().make_multiplier(weight, make(x))
    assert_same_op(op_summary(mult), record, record["operands"])
