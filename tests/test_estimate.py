# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""qkeras.estimate: print_qstats, operation counts, accumulator sizes.

The expected texts are derived by hand from QKeras's rules (reference §5)
and, where the 0.9.0 wheel prints the same thing, were compared with it:
the wheel prints the same lines except "Total Bits" (added after 0.9.0), the
depthwise weight count (fixed here, docs/compat.md) and the sparsity of the
``bernoulli`` layer (the wheel's bernoulli samples on every call).
"""

import logging

import keras
import numpy as np
import pytest

import qkeras
from qkeras import estimate
from qkeras.bn_folding_utils import unfold_model


def _pattern(shape):
  """Weights ``±0.5`` (alternating) with a 0 at every flat index divisible
  by 7: every quantizer used below keeps the zeros (po2 and binary have
  none) and none turns a ``±0.5`` into 0, so the sparsity is countable."""
  i = np.arange(int(np.prod(shape)))
  w = np.where(i % 2 == 0, 0.5, -0.5)
  w[i % 7 == 0] = 0.0
  return w.reshape(shape).astype(np.float32)


def _fill(model):
  for layer in qkeras._graph.flat_layers(model):  # pylint: disable=protected-access
    weights = layer.get_weights()
    if weights:
      layer.set_weights([_pattern(w.shape) for w in weights])
  return model


def _cnn():
  x = x_in = keras.Input((8, 8, 3), name="image")
  x = qkeras.QConv2D(4, (3, 3), kernel_quantizer="quantized_bits(4,0,1)",
                     bias_quantizer="quantized_bits(4,0,1)",
                     name="conv2d_0")(x)
  x = qkeras.QActivation("quantized_relu(4,0)", name="act0")(x)
  x = qkeras.QConv2D(4, (3, 3), kernel_quantizer="quantized_po2(4)",
                     use_bias=False, name="conv_po2")(x)
  x = qkeras.QActivation("quantized_relu(4,0)", name="act1")(x)
  x = qkeras.QConv2D(2, (1, 1), kernel_quantizer="ternary", name="conv_t")(x)
  x = qkeras.QActivation("binary", name="act2")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  x = qkeras.QDense(3, kernel_quantizer="binary",
                    bias_quantizer="quantized_bits(4,0,1)", name="dense")(x)
  return _fill(keras.Model(x_in, x))


def _mlp():
  return _fill(keras.Sequential([
      keras.Input((16,)),
      qkeras.QDense(8, kernel_quantizer="quantized_bits(3,0,1)",
                    bias_quantizer="quantized_bits(3,0,1)",
                    activation="quantized_relu(3)", name="d0"),
      qkeras.QDense(4, kernel_quantizer="bernoulli",
                    activation="quantized_bits(2,1)", name="d1"),
      qkeras.QDense(2, kernel_quantizer="quantized_po2(4)", name="d2"),
      qkeras.QDense(2, kernel_quantizer="quantized_bits(4,0,1)", name="d3"),
  ], name="mlp"))


def _separable():
  x = x_in = keras.Input((6, 6, 2), name="image")
  x = qkeras.QDepthwiseConv2D((3, 3), depth_multiplier=2,
                              depthwise_quantizer="quantized_bits(4,0,1)",
                              bias_quantizer="quantized_bits(4,0,1)",
                              name="dw")(x)
  x = qkeras.QActivation("quantized_relu(3,1)", name="act0")(x)
  x = qkeras.QSeparableConv2D(3, (2, 2), depthwise_quantizer="quantized_po2(4)",
                              pointwise_quantizer="ternary",
                              bias_quantizer="quantized_bits(8,3)",
                              name="sep")(x)
  x = qkeras.QActivation("quantized_bits(4,0,1)", name="act1")(x)
  x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
  x = qkeras.QDense(2, kernel_quantizer="quantized_bits(4,0,1)",
                    name="dense")(x)
  return _fill(keras.Model(x_in, x))


def _float_dense():
  x = x_in = keras.Input((10,), name="features")
  x = keras.layers.Dense(6, name="float_dense")(x)
  x = qkeras.QDense(4, name="qdense_float")(x)
  x = qkeras.QActivation("quantized_relu(4)", name="act")(x)
  x = qkeras.QDense(3, kernel_quantizer="quantized_bits(4,0,1)",
                    use_bias=False, name="qdense")(x)
  return _fill(keras.Model(x_in, x))


# conv2d_0: 6*6*4 outputs * 3*3*3 = 3888, 4-bit signed weights x the 8-bit
# unsigned model input; conv_po2: 4*4*4 * 3*3*4 = 2304, po2 x 4-bit relu =
# barrel; conv_t: 4*4*2 * 4 = 128, ternary x 4-bit = mux; dense: 32*3, binary
# x binary = xor. Total bits 108*4+4*4 + 144*4 + 8*2+2*32 + 96+3*4 = 1212.
# Sparsity: conv2d_0 (16+1)/112, conv_po2 0 (po2 is never 0), conv_t
# (2+1)/10, dense 1/99 (binary is never 0), total 21/365.
CNN_TEXT = """
Number of operations in model:
    conv2d_0                      : 3888  (smult_4_8)
    conv_po2                      : 2304  (sbarrel_4_4)
    conv_t                        : 128   (smux_2_4)
    dense                         : 96    (sxor_1_1)

Number of operation types in model:
    sbarrel_4_4                   : 2304
    smult_4_8                     : 3888
    smux_2_4                      : 128
    sxor_1_1                      : 96

Weight profiling:
    conv2d_0_weights               : 108   (4-bit unit)
    conv2d_0_bias                  : 4     (4-bit unit)
    conv_po2_weights               : 144   (4-bit unit)
    conv_po2_bias                  : 0     (32-bit unit)
    conv_t_weights                 : 8     (2-bit unit)
    conv_t_bias                    : 2     (32-bit unit)
    dense_weights                  : 96    (1-bit unit)
    dense_bias                     : 3     (4-bit unit)
    ----------------------------------------
    Total Bits                     :  1212

Weight sparsity:
    conv2d_0                       : 0.1518
    conv_po2                       : 0.0000
    conv_t                         : 0.3000
    dense                          : 0.0101
    ----------------------------------------
    Total Sparsity                 : 0.0575
"""

# The Sequential model's input counts as quantized_relu(8,0). d1: bernoulli
# (unsigned, 1 bit) x quantized_relu(3) = umux; d2: po2 x quantized_bits(2,1)
# (ternary) = mux; d3: d2 has no activation, so its output is float (fmult).
# Sparsity: d0 (19+2)/136; d1: bernoulli is 0 exactly for the 14 negative
# weights, plus the float bias's zero: 15/36; d2 1/10; d3 2/6.
MLP_TEXT = """
Number of operations in model:
    d0                            : 128   (smult_3_8)
    d1                            : 32    (umux_1_3)
    d2                            : 8     (smux_4_2)
    d3                            : 4     (sfmult_4_32)

Number of operation types in model:
    sfmult_4_32                   : 4
    smult_3_8                     : 128
    smux_4_2                      : 8
    umux_1_3                      : 32

Weight profiling:
    d0_weights                     : 128   (3-bit unit)
    d0_bias                        : 8     (3-bit unit)
    d1_weights                     : 32    (1-bit unit)
    d1_bias                        : 4     (32-bit unit)
    d2_weights                     : 8     (4-bit unit)
    d2_bias                        : 2     (32-bit unit)
    d3_weights                     : 4     (4-bit unit)
    d3_bias                        : 2     (32-bit unit)
    ----------------------------------------
    Total Bits                     :   744

Weight sparsity:
    d0                             : 0.1544
    d1                             : 0.4167
    d2                             : 0.1000
    d3                             : 0.3333
    ----------------------------------------
    Total Sparsity                 : 0.2074
"""

# dw: kh*kw*Ho*Wo*Ci = 9*16*2 = 288 operations, 3*3*2*2 = 36 weights (QKeras
# printed 72 = kh*kw*Co*Ci); sep: 2*2*9*4 + 9*3 = 171, po2 depthwise x
# quantized_relu(3,1) = barrel, weights [2*2*4, 4*3]; dense after the pooling
# inherits act1's quantized_bits(4,0,1). Sparsity: dw 7/40, sep 3/31, dense
# 2/8, total 12/79.
SEPARABLE_TEXT = """
Number of operations in model:
    dense                         : 6     (smult_4_4)
    dw                            : 288   (smult_4_8)
    sep                           : 171   (sbarrel_4_3)

Number of operation types in model:
    sbarrel_4_3                   : 171
    smult_4_4                     : 6
    smult_4_8                     : 288

Weight profiling:
    dense_weights                  : 6     (4-bit unit)
    dense_bias                     : 2     (32-bit unit)
    dw_weights                     : 36    (4-bit unit)
    dw_bias                        : 4     (4-bit unit)
    sep_weights_0                  : 16    (4-bit unit)
    sep_weights_1                  : 12    (2-bit unit)
    sep_bias                       : 3     (8-bit unit)
    ----------------------------------------
    Total Bits                     :   360

Weight sparsity:
    dw                             : 0.1750
    sep                            : 0.0968
    dense                          : 0.2500
    ----------------------------------------
    Total Sparsity                 : 0.1519
"""

# The float Dense is not counted and passes the input's quantized_relu(8,0)
# on (QKeras's rule); the QDense without quantizers is float x 8-bit = fmult.
FLOAT_DENSE_TEXT = """
Number of operations in model:
    qdense                        : 12    (smult_4_4)
    qdense_float                  : 24    (sfmult_32_8)

Number of operation types in model:
    sfmult_32_8                   : 24
    smult_4_4                     : 12

Weight profiling:
    qdense_weights                 : 12    (4-bit unit)
    qdense_bias                    : 0     (32-bit unit)
    qdense_float_weights           : 24    (32-bit unit)
    qdense_float_bias              : 4     (32-bit unit)
    ----------------------------------------
    Total Bits                     :   944

Weight sparsity:
    qdense_float                   : 0.1786
    qdense                         : 0.1667
    ----------------------------------------
    Total Sparsity                 : 0.1750
"""


# The section that qkeras adds after QKeras's text (docs/compat.md): per
# quantized weight, the fraction of its non-zero weights that quantize to 0
# and the fraction at the clip limits ("-": no fixed limits, i.e.
# alpha="auto_po2" (quantized_bits' default here), binary, ternary,
# bernoulli). No ±0.5 becomes 0 except under bernoulli (d1), which rounds
# sigmoid(-0.5) to 0: 14 of d1's 27 non-zero weights are -0.5. quantized_po2(4)
# clips at ±1: no ±0.5 is clipped.
CNN_QUANT = """
Weight quantization (zeros, clipped):
    conv2d_0/kernel                : 0.0000  -
    conv_po2/kernel                : 0.0000  0.0000
    conv_t/kernel                  : 0.0000  -
    dense/kernel                   : 0.0000  -
"""

MLP_QUANT = """
Weight quantization (zeros, clipped):
    d0/kernel                      : 0.0000  -
    d1/kernel                      : 0.5185  -
    d2/kernel                      : 0.0000  0.0000
    d3/kernel                      : 0.0000  -
"""

SEPARABLE_QUANT = """
Weight quantization (zeros, clipped):
    dw/depthwise_kernel            : 0.0000  -
    sep/depthwise_kernel           : 0.0000  0.0000
    sep/pointwise_kernel           : 0.0000  -
    dense/kernel                   : 0.0000  -
"""

FLOAT_DENSE_QUANT = """
Weight quantization (zeros, clipped):
    qdense/kernel                  : 0.0000  -
"""


@pytest.mark.parametrize("build, expected, added", [
    (_cnn, CNN_TEXT, CNN_QUANT), (_mlp, MLP_TEXT, MLP_QUANT),
    (_separable, SEPARABLE_TEXT, SEPARABLE_QUANT),
    (_float_dense, FLOAT_DENSE_TEXT, FLOAT_DENSE_QUANT)])
def test_print_qstats_text(build, expected, added, capsys, caplog):
  # QKeras's "... quantizing model" line (and "<name> has not been
  # quantized") inside "Weight sparsity" is logged, not printed (issue 21).
  # QKeras's text comes first, unchanged; qkeras's added section follows.
  model = build()
  before = [np.copy(w) for w in model.get_weights()]
  with caplog.at_level(logging.INFO, logger="qkeras._export"):
    estimate.print_qstats(model)
  assert capsys.readouterr().out == expected + added
  assert "... quantizing model" in caplog.messages
  after = model.get_weights()
  assert len(before) == len(after)
  for old, new in zip(before, after):
    np.testing.assert_array_equal(old, new)


# ---------------------------------------------------------------------------
# get_quant_mode / get_operation_type
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("quantizer, expected", [
    (qkeras.quantized_bits(4, 0, 1), (0, 4, 1)),
    (qkeras.quantized_bits(2, 1), (2, 2, 1)),
    (qkeras.quantized_bits(2, 0), (0, 2, 1)),
    (qkeras.bernoulli(), (4, 1, 0)),
    (qkeras.ternary(), (2, 2, 1)),
    (qkeras.stochastic_ternary(), (2, 2, 1)),
    (qkeras.binary(), (3, 1, 1)),
    (qkeras.binary(use_01=True), (3, 1, 1)),
    (qkeras.stochastic_binary(), (3, 1, 1)),
    (qkeras.quantized_relu(6, 2), (0, 6, 0)),
    (qkeras.quantized_relu(1, 1), (4, 1, 0)),
    (qkeras.quantized_ulaw(5, 1), (0, 5, 1)),
    (qkeras.quantized_ulaw(2, 1), (2, 2, 1)),
    (qkeras.quantized_tanh(4), (0, 4, 1)),
    (qkeras.quantized_tanh(2), (0, 2, 1)),
    (qkeras.quantized_po2(5), (1, 5, 1)),
    (qkeras.quantized_relu_po2(3), (1, 3, 0)),
    (None, (5, 32, 1)),
    (keras.activations.linear, (5, 32, 1)),
    ("quantized_bits(6,2,1)", (0, 6, 1)),
    ("ternary", (2, 2, 1)),
    ("linear", (5, 32, 1)),
])
def test_get_quant_mode(quantizer, expected):
  assert estimate.get_quant_mode(quantizer) == expected


@pytest.mark.parametrize("quantizer", [
    keras.activations.relu, "relu", qkeras.quantized_linear(),
    qkeras.quantized_sigmoid(4), 3])
def test_get_quant_mode_unknown(quantizer):
  with pytest.raises(ValueError, match="Not Found"):
    estimate.get_quant_mode(quantizer)


_MODE_QUANTIZERS = ["quantized_bits(4,0,1)", "quantized_po2(4)", "ternary",
                    "binary", "bernoulli", None]
_TABLE = [
    ["mult", "barrel", "mux", "mux", "mux", "fmult"],
    ["barrel", "adder", "mux", "xor", "mux", "fmult"],
    ["mux", "mux", "mux", "mux", "xor", "fmult"],
    ["mux", "xor", "mux", "xor", "xor", "fmult"],
    ["mux", "mux", "xor", "xor", "xor", "fmult"],
    ["fmult", "fmult", "fmult", "fmult", "fmult", "fmult"],
]


def test_operation_table():
  for w_mode, w_quantizer in enumerate(_MODE_QUANTIZERS):
    layer = qkeras.QDense(2, kernel_quantizer=w_quantizer)
    layer.build((None, 3))
    for x_mode, x_quantizer in enumerate(_MODE_QUANTIZERS):
      x = qkeras.quantizers.get_quantizer(x_quantizer) if x_quantizer else (
          keras.activations.linear)
      op, modes, _, _ = estimate._operation_type(layer, x)  # pylint: disable=protected-access
      assert (op, modes) == (_TABLE[w_mode][x_mode], (w_mode, x_mode))


def test_get_operation_type_with_cache(caplog):
  model = _mlp()
  cache = estimate.create_activation_cache(model)
  d0, d1 = model.get_layer("d0"), model.get_layer("d1")
  assert estimate.get_operation_type(d0, cache) == (
      "mult", (0, 0), (3, 8), (1, 0))
  assert estimate.get_operation_type(d1, cache) == (
      "mux", (4, 0), (1, 3), (0, 0))
  assert estimate.get_operation_type(d0, {}) == (
      "null", (0, -1), (3, -1), (1, -1))
  assert caplog.messages == ["cannot determine presently model for d0"]
  with pytest.raises(ValueError, match="Cannot find suitable quantization"):
    estimate.get_operation_type(keras.layers.Dense(2), cache)


def test_create_activation_cache():
  x = x_in = keras.Input((4,))
  a = qkeras.QActivation("quantized_bits(4,0,1)")(x)
  d = qkeras.QDense(3, activation="quantized_relu(3)")(a)
  f = keras.layers.Dropout(0.5)(d)
  e = qkeras.QDense(2)(f)
  model = keras.Model(x_in, e)
  cache = estimate.create_activation_cache(model)
  assert str(cache[id(x)]) == "quantized_relu(8,0)"
  assert cache[id(a)] is model.layers[1].quantizer
  assert str(cache[id(d)]) == "quantized_relu(3,0)"
  assert cache[id(f)] is cache[id(d)]
  assert cache[id(e)] is keras.activations.linear


def test_unknown_activation_raises():
  x = x_in = keras.Input((4,))
  x = qkeras.QDense(3, activation="relu")(x)
  x = qkeras.QDense(2)(x)
  with pytest.raises(ValueError, match="Not Found"):
    estimate.extract_model_operations(keras.Model(x_in, x))


# ---------------------------------------------------------------------------
# extract_model_operations
# ---------------------------------------------------------------------------


def _ops(layer, shape):
  x = keras.Input(shape)
  model = keras.Model(x, layer(x))
  return estimate.extract_model_operations(model)[layer.name]


def test_qconv1d_golden():
  stats = _ops(qkeras.QConv1D(2, 1, kernel_quantizer="quantized_bits(4,0,1)",
                              bias_quantizer="quantized_bits(4,0,1)"), (4, 4))
  assert stats["number_of_operations"] == 32  # To*Co*k*Ci = 4*2*1*4
  assert stats["number_of_weights"] == 8
  assert stats["number_of_bias"] == 2
  assert stats["type"] == ("mult", (0, 0), (4, 8), (1, 0))
  assert stats["type_of_weights"] == (0, 4, 1)
  assert stats["type_of_bias"] == (0, 4, 1)


def test_qseparableconv1d_golden():
  stats = _ops(qkeras.QSeparableConv1D(
      2, 2, depthwise_quantizer="quantized_bits(4,0,1)",
      pointwise_quantizer="binary"), (4, 4))
  assert stats["number_of_operations"] == 30  # k*To*Ci + To*Co = 24 + 6
  assert stats["number_of_weights"] == [8, 8]  # [k*Ci, Ci*Co]
  assert stats["type_of_weights"] == [(0, 4, 1), (3, 1, 1)]
  assert stats["number_of_bias"] == 2
  assert stats["type_of_bias"] == (5, 32, 1)


def test_qconv2d_counts():
  stats = _ops(qkeras.QConv2D(4, (3, 2), kernel_quantizer="ternary",
                              use_bias=False), (7, 6, 3))
  assert stats["number_of_operations"] == 5 * 5 * 4 * 3 * 2 * 3
  assert stats["number_of_weights"] == 3 * 2 * 3 * 4
  assert stats["number_of_bias"] == 0
  assert stats["type"][0] == "mux"


def test_qconv2d_channels_first_counts():
  stats = _ops(qkeras.QConv2D(4, 3, data_format="channels_first",
                              kernel_quantizer="quantized_bits(4,0,1)"),
               (3, 8, 8))
  assert stats["number_of_operations"] == 6 * 6 * 4 * 9 * 3
  assert stats["number_of_weights"] == 9 * 3 * 4
  assert stats["number_of_bias"] == 4


def test_qdepthwiseconv2d_counts():
  stats = _ops(qkeras.QDepthwiseConv2D(
      3, depth_multiplier=2, depthwise_quantizer="quantized_po2(4)"),
      (5, 5, 3))
  assert stats["number_of_operations"] == 9 * 3 * 3 * 3  # kh*kw*Ho*Wo*Ci
  assert stats["number_of_weights"] == 9 * 3 * 2  # kh*kw*Ci*multiplier
  assert stats["number_of_bias"] == 6
  assert stats["type"] == ("barrel", (1, 0), (4, 8), (1, 0))


def test_qseparableconv2d_counts():
  stats = _ops(qkeras.QSeparableConv2D(
      5, 3, depthwise_quantizer="binary", pointwise_quantizer="ternary",
      bias_quantizer="quantized_bits(8,3)"), (6, 6, 4))
  assert stats["number_of_operations"] == 9 * 16 * 4 + 16 * 5
  assert stats["number_of_weights"] == [9 * 4, 4 * 5]
  assert stats["type_of_weights"] == [(3, 1, 1), (2, 2, 1)]
  assert stats["type_of_bias"] == (0, 8, 1)
  assert stats["type"][0] == "mux"


def test_qdense_counts():
  stats = _ops(qkeras.QDense(3, kernel_quantizer="quantized_bits(4,0,1)"),
               (10,))
  assert (stats["number_of_operations"], stats["number_of_weights"],
          stats["number_of_bias"]) == (30, 30, 3)
  # On a sequence: the kernel is applied at each of the 5 positions.
  stats = _ops(qkeras.QDense(3, use_bias=False), (5, 4))
  assert (stats["number_of_operations"], stats["number_of_weights"],
          stats["number_of_bias"]) == (60, 12, 0)
  assert stats["type"] == ("fmult", (5, 0), (32, 8), (1, 0))


def test_other_layers_are_not_counted():
  x = x_in = keras.Input((8, 8, 2))
  x = qkeras.QConv2DTranspose(2, 3)(x)
  x = qkeras.QAveragePooling2D()(x)
  x = keras.layers.Conv2D(2, 3)(x)
  assert estimate.extract_model_operations(keras.Model(x_in, x)) == {}


def test_folded_layer_counts_as_unfolded():
  x = x_in = keras.Input((5, 5, 2))
  x = qkeras.QConv2DBatchnorm(3, 3, kernel_quantizer="quantized_bits(4,0,1)",
                              bias_quantizer="quantized_bits(4,0,1)",
                              use_bias=False, name="folded")(x)
  x = qkeras.QActivation("quantized_relu(4)")(x)
  x = keras.layers.Flatten()(x)
  x = qkeras.QDense(2, kernel_quantizer="ternary", name="dense")(x)
  model = keras.Model(x_in, x)
  ops = estimate.extract_model_operations(model)
  assert ops == estimate.extract_model_operations(unfold_model(model))
  assert ops["folded"]["number_of_operations"] == 3 * 3 * 3 * 9 * 2
  assert ops["folded"]["number_of_bias"] == 3
  assert ops["folded"]["type_of_bias"] == (0, 4, 1)
  assert ops["dense"]["type"] == ("mux", (2, 0), (2, 4), (1, 0))


def test_sequential_nested_and_multiple_inputs():
  inner = keras.Sequential([
      keras.Input((4,)),
      qkeras.QDense(3, kernel_quantizer="quantized_bits(4,0,1)", name="in_d"),
      qkeras.QActivation("quantized_relu(3)", name="in_act")], name="inner")
  a = keras.Input((4,), name="a")
  b = keras.Input((3,), name="b")
  x = qkeras.QActivation("quantized_bits(6,2,1)", name="qa")(a)
  x = inner(x)
  x = keras.layers.Concatenate(name="cat")([x, b])
  x = qkeras.QDense(2, kernel_quantizer="binary", name="out")(x)
  y = qkeras.QDense(2, kernel_quantizer="ternary", name="side")(b)
  ops = estimate.extract_model_operations(keras.Model([a, b], [x, y]))
  assert ops["in_d"]["type"] == ("mult", (0, 0), (4, 6), (1, 1))
  # Concatenate passes its first input's quantizer on (the inner model's).
  assert ops["out"]["type"] == ("mux", (3, 0), (1, 3), (1, 0))
  assert ops["out"]["number_of_operations"] == 6 * 2
  assert ops["side"]["type"] == ("mux", (2, 0), (2, 8), (1, 0))
  assert sorted(ops) == ["in_d", "out", "side"]


def test_shared_layer_adds_up_its_calls():
  dense = qkeras.QDense(2, kernel_quantizer="quantized_bits(4,0,1)",
                        name="shared")
  a, b = keras.Input((4,)), keras.Input((4,))
  model = keras.Model([a, b], [dense(a), dense(b)])
  stats = estimate.extract_model_operations(model)["shared"]
  assert stats["number_of_operations"] == 16
  assert stats["number_of_weights"] == 8


def test_bad_models():
  with pytest.raises(ValueError, match="must be built"):
    estimate.extract_model_operations(keras.Sequential([qkeras.QDense(2)]))

  class Sub(keras.Model):
    def call(self, x):
      return x

  with pytest.raises(ValueError, match="functional or Sequential"):
    estimate.print_qstats(Sub())
  x = keras.Input((None, None, 3))
  model = keras.Model(x, qkeras.QConv2D(2, 3, name="conv")(x))
  with pytest.raises(ValueError, match="'conv' has an unknown dimension"):
    estimate.extract_model_operations(model)


# ---------------------------------------------------------------------------
# analyze_accumulator
# ---------------------------------------------------------------------------


def _dense_model():
  x = x_in = keras.Input((3,))
  x = qkeras.QDense(2, kernel_quantizer="quantized_bits(4,0,1)",
                    name="d")(x)
  model = keras.Model(x_in, x)
  model.get_layer("d").set_weights([
      np.array([[1, -2], [0.5, 1], [-1, 0.25]], np.float32),
      np.array([0.5, -1], np.float32)])
  return model


def test_analyze_accumulator_dense():
  model = _dense_model()
  # Channel 0: positive sum P = 1 + 0.5 + 0.5 (bias) = 2, negative N = -1;
  # channel 1: P = 1.25, N = -2 - 1 = -3.
  # x in [-1, 2]: n1 = P*2 + N*(-1) = 5, 5.5; n0 = -(N*2 + P*(-1)) = 4, 7.25
  # -> ceil(log2(7.25)) = 3.
  assert estimate.analyze_accumulator(model, {"d": (-1.0, 2.0)}) == {"d": 3}
  # x in [0, 4]: n1 = 8, 5; n0 = 4, 12 -> 4 bits.
  assert estimate.analyze_accumulator(model, {"d": (0.0, 4.0)}) == {"d": 4}
  # x in [0, 1]: the largest is 3 (-N of channel 1) -> 2 bits.
  assert estimate.analyze_accumulator(model, {"d": (0.0, 1.0)}) == {"d": 2}


def test_analyze_accumulator_conv2d_iterates_output_channels(capsys):
  x = x_in = keras.Input((4, 4, 1))
  x = qkeras.QConv2D(3, 2, kernel_quantizer="quantized_bits(4,0,1)",
                     name="c")(x)
  model = keras.Model(x_in, x)
  kernel = np.zeros((2, 2, 1, 3), np.float32)
  kernel[..., 0] = [[[1], [-1]], [[0.5], [0]]]      # P = 1.5, N = -1
  kernel[..., 1] = [[[0.25], [0.25]], [[-0.5], [0]]]  # P = 0.5, N = -0.5
  kernel[..., 2] = [[[2], [3]], [[-1], [1]]]        # P = 6 (+2 bias), N = -1
  model.get_layer("c").set_weights([kernel, np.array([0, 0, 2], np.float32)])
  # x in [0, 3]: n1 = 3P = 4.5, 1.5, 24 -> ceil(log2(24)) = 5 (the last
  # channel; QKeras looped over kernel.shape[1] = 2 channels here and
  # raised IndexError for wider kernels).
  result = estimate.analyze_accumulator(model, {"c": (0.0, 3.0)},
                                        verbose=True)
  assert result == {"c": 5}
  assert capsys.readouterr().out == (
      "\nc - input range: (0.0, 3.0)\n  max value: 3.0\n  min value: -1.0\n"
      "  most positive sum: 24.0\n  most negative sum: -3.0\n"
      "  number of bits: 5\n\n")


def test_analyze_accumulator_depthwise_channels():
  x = x_in = keras.Input((3, 3, 2))
  x = qkeras.QDepthwiseConv2D(1, depth_multiplier=2, name="dw")(x)
  model = keras.Model(x_in, x)
  kernel = np.array([[[[1, 2], [3, -4]]]], np.float32)  # (1, 1, Ci=2, m=2)
  # Output channel c*m + j: channel 1 is kernel[..., 0, 1] = 2, plus bias 14
  # = 16 -> 4 bits (pairing the bias with kernel[..., 1, 0] = 3 gives 17).
  model.get_layer("dw").set_weights([kernel,
                                     np.array([0, 14, 0, 0], np.float32)])
  assert estimate.analyze_accumulator(model, {"dw": (0.0, 1.0)}) == {"dw": 4}


def test_analyze_accumulator_folded_uses_folded_weights():
  x = x_in = keras.Input((4, 4, 2))
  x = qkeras.QConv2DBatchnorm(3, 2, name="f")(x)
  model = keras.Model(x_in, x)
  bn = model.get_layer("f").batchnorm
  bn.moving_variance.assign(np.array([0.01, 1, 100], np.float32))
  ranges = {"f": (-2.0, 5.0)}
  assert estimate.analyze_accumulator(model, ranges) == (
      estimate.analyze_accumulator(unfold_model(model), ranges))


def test_analyze_accumulator_errors():
  with pytest.raises(ValueError, match="input range .* of layer 'd'"):
    estimate.analyze_accumulator(_dense_model(), {})
  with pytest.raises(ValueError, match="argument 'mode' must be "
                     "'conservative' or 'sampled', got 'exact'"):
    estimate.analyze_accumulator_from_sample(_dense_model(), np.zeros((1, 3)),
                                             mode="exact")


def test_analyze_accumulator_from_sample():
  x = x_in = keras.Input((2,))
  x = qkeras.QDense(1, name="d1")(x)
  x = qkeras.QActivation("quantized_relu(2,0)")(x)
  x = qkeras.QDense(1, name="d2")(x)
  model = keras.Model(x_in, x)
  model.get_layer("d1").set_weights([np.array([[1], [2]], np.float32),
                                     np.zeros(1, np.float32)])
  model.get_layer("d2").set_weights([np.array([[4]], np.float32),
                                     np.zeros(1, np.float32)])
  # 2000 rows (two batches of the sampler); the extremes are in the second.
  sample = np.full((2000, 2), 0.0, np.float32)
  sample[1500] = [-1, 1]   # d1 input min -1, d1 output 1
  sample[1800] = [1, 3]    # d1 input max 3, output 7 -> relu 0.75, d2 out 3
  # sampled: ceil(log2(max |output|)): d1 7 -> 3, d2 3 -> 2.
  assert estimate.analyze_accumulator_from_sample(
      model, sample, mode="sampled") == {"d1": 3, "d2": 2}
  # conservative: d1 x in [-1, 3], P = 3: n1 = 9, n0 = 3 -> 4 bits;
  # d2 x in [0, 0.75], P = 4: n1 = 3 -> 2 bits.
  assert estimate.analyze_accumulator_from_sample(model, sample) == {
      "d1": 4, "d2": 2}
  zeros = np.zeros((3, 2), np.float32)
  assert estimate.analyze_accumulator_from_sample(
      model, zeros, mode="sampled") == {"d1": 0, "d2": 0}


def test_star_import():
  namespace = {}
  exec("from qkeras import *", namespace)  # noqa: S102
  for name in ("print_qstats", "extract_model_operations",
               "analyze_accumulator", "analyze_accumulator_from_sample",
               "get_quant_mode", "get_operation_type",
               "create_activation_cache", "get_model_sparsity", "estimate"):
    assert name in namespace
  assert namespace["estimate"] is estimate
