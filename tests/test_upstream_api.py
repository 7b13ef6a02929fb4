"""QKeras 0.9's importable surface, used the way QKeras user code and tests use it.

A migrating user's scripts import more than the documented API: module-level
helpers (some with a leading underscore that upstream's own tests and tools
import), whole modules and re-exports. ``CENSUS`` lists every name of the
reference's API census (sections 1-9: the modules, the star import, the
module-level helpers, utils, estimate, qtools, AutoQKeras, the other
modules), by the module upstream defines it in; each is imported from there,
and the tests below call them once with typical arguments. What is not
provided on purpose is in docs/compat.md ("Package") and tested here to fail
with a clear message.
"""

import importlib
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from multibackend import np_out
import qkeras

F32 = np.float32
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CENSUS = {
    "qkeras": "__version__",
    "qkeras.quantizers": """
        BaseQuantizer quantized_linear quantized_bits bernoulli ternary
        stochastic_ternary binary stochastic_binary quantized_relu
        quantized_ulaw quantized_tanh quantized_sigmoid quantized_po2
        quantized_relu_po2 quantized_hswish smooth_sigmoid hard_sigmoid
        binary_sigmoid binary_tanh hard_tanh smooth_tanh set_internal_sigmoid
        stochastic_round stochastic_round_po2 fast_relu_quantize get_quantizer
        get_quantized_initializer get_weight_scale _get_integer_bits
        _get_scaling_axis _get_unrolled_shape _get_rolled_back_shape
        _validate_axis_and_eps _repeat_along_axis _repeat_along_axes
        _get_scale_mean _clip_po2_scale _get_least_squares_scale _get_scale
        _sigmoid _default_sigmoid_type _round_through _sign_through
        _floor_through _ceil_through _clip_power_of_two""",
    "qkeras.base_quantizer": "BaseQuantizer",
    "qkeras.quantizer_registry": "register_quantizer lookup_quantizer",
    "qkeras.registry": "Registry",
    "qkeras.quantizer_imports": """
        quantized_linear quantized_bits bernoulli ternary stochastic_ternary
        binary stochastic_binary quantized_relu quantized_ulaw quantized_tanh
        quantized_sigmoid quantized_po2 quantized_relu_po2 quantized_hswish""",
    "qkeras.safe_eval": """safe_eval Num Str IsNum IsBool IsNone Bool
        ListofNums IsListofNums GetArg GetParams""",
    "qkeras.qlayers": """QInitializer QActivation QAdaptiveActivation Clip
        QDense get_auto_range_constraint_initializer get_constraint
        get_initializer""",
    "qkeras.qconvolutional": """QConv1D QConv2D QConv2DTranspose
        QSeparableConv1D QSeparableConv2D QDepthwiseConv2D
        QMobileNetSeparableConv2D deconv_output_length""",
    "qkeras.qdepthwise_conv2d_transpose": "QDepthwiseConv2DTranspose",
    "qkeras.qseparable_conv2d_transpose": "QSeparableConv2DTranspose",
    "qkeras.qconv2d_batchnorm": "QConv2DBatchnorm",
    "qkeras.qdepthwiseconv2d_batchnorm": "QDepthwiseConv2DBatchnorm",
    "qkeras.qnormalization": "QBatchNormalization",
    "qkeras.qpooling": "QAveragePooling2D QGlobalAveragePooling2D",
    "qkeras.qrecurrent": """QSimpleRNN QSimpleRNNCell QLSTM QLSTMCell QGRU
        QGRUCell QBidirectional""",
    "qkeras.qoctave": "QOctaveConv2D OctaveConv2D GetActivationSuffix",
    "qkeras.qmac": "QScaleShift",
    "qkeras.b2t": "BinaryToThermometer",
    "qkeras.estimate": """print_qstats extract_model_operations
        analyze_accumulator analyze_accumulator_from_sample get_quant_mode
        get_operation_type create_activation_cache get_model_sparsity""",
    "qkeras.utils": """model_quantize load_qmodel model_save_quantized_weights
        quantized_model_from_json clone_model quantized_model_debug
        quantized_model_dump print_model_sparsity get_model_sparsity
        convert_to_folded_model clone_model_and_freeze_auto_po2_scale
        _add_supported_quantized_objects quantize_activation
        find_bn_fusing_layer_pair add_bn_fusing_weights is_TFOpLambda_layer
        get_y_from_TFOpLambda get_config REGISTERED_LAYERS""",
    "qkeras.bn_folding_utils": """convert_folded_layer_to_unfolded
        unfold_model populate_bias_quantizer_from_accumulator""",
    "qkeras.callbacks": "QNoiseScheduler",
    "qkeras.codebook": """create_in_out_table activation_compression
        weight_compression two_tier_embedding_compression""",
    "qkeras.qtools": "QTools qtools_cfg",
    "qkeras.qtools.run_qtools": "QTools",
    "qkeras.qtools.settings": "cfg",
    "qkeras.qtools.generate_layer_data_type_map":
        "generate_layer_data_type_map",
    "qkeras.qtools.qtools_util": """get_layer_info is_upsampled find_divisors
        adjust_multiplier_for_auto_po2""",
    "qkeras.qtools.DnC.divide_and_conquer":
        "estimate_model_cost CostMode DivideConquerGraph",
    "qkeras.qtools.DnC.dnc_layer_cost_ace": "get_ace_mac_gates",
    "qkeras.qtools.quantized_operators.quantizer_impl":
        "QuantizedBits StochasticBinary Bernoulli StochasticTernary",
    "qkeras.autoqkeras": """AutoQKeras AutoQKerasScheduler AutoQKHyperModel
        model_quantize clone_model""",
    "qkeras.autoqkeras.autoqkeras_internal":
        "AutoQKeras AutoQKerasScheduler AutoQKHyperModel",
    "qkeras.autoqkeras.quantization_config": "default_quantization_config",
    "qkeras.autoqkeras.forgiving_metrics":
        "ForgivingFactor ForgivingFactorBits ForgivingFactorPower",
    "qkeras.autoqkeras.utils": "print_qmodel_summary get_quantization_dictionary",
}

# Reference 1.2: ``from qkeras import *`` (QKeras's names; the third-party
# names upstream leaked, e.g. ``tf``, ``np``, ``K``, are not exported).
STAR = """
    QActivation QAdaptiveActivation QAveragePooling2D QBatchNormalization
    QBidirectional QConv1D QConv2D QConv2DBatchnorm QConv2DTranspose QDense
    QDepthwiseConv2D QDepthwiseConv2DBatchnorm QDepthwiseConv2DTranspose QGRU
    QGRUCell QGlobalAveragePooling2D QInitializer QLSTM QLSTMCell
    QMobileNetSeparableConv2D QOctaveConv2D QScaleShift QSeparableConv1D
    QSeparableConv2D QSeparableConv2DTranspose QSimpleRNN QSimpleRNNCell
    OctaveConv2D Clip
    quantized_linear quantized_bits bernoulli ternary stochastic_ternary
    binary stochastic_binary quantized_relu quantized_ulaw quantized_tanh
    quantized_sigmoid quantized_po2 quantized_relu_po2 quantized_hswish
    smooth_sigmoid hard_sigmoid binary_sigmoid binary_tanh hard_tanh
    smooth_tanh set_internal_sigmoid stochastic_round stochastic_round_po2
    fast_relu_quantize get_quantizer get_quantized_initializer
    get_weight_scale deconv_output_length
    get_auto_range_constraint_initializer get_constraint get_initializer
    GetActivationSuffix
    print_qstats extract_model_operations analyze_accumulator
    analyze_accumulator_from_sample get_quant_mode get_operation_type
    create_activation_cache get_model_sparsity unfold_model
    BinaryToThermometer
    Registry safe_eval Num Str IsNum IsBool IsNone Bool ListofNums
    IsListofNums GetArg GetParams
    b2t base_quantizer bn_folding_utils estimate qconv2d_batchnorm
    qconvolutional qdepthwise_conv2d_transpose qdepthwiseconv2d_batchnorm
    qlayers qmac qnormalization qoctave qpooling qrecurrent
    qseparable_conv2d_transpose qtools quantizer_registry quantizers registry
    utils""".split()


@pytest.mark.parametrize("module", sorted(CENSUS))
def test_census_names_import_from_upstreams_module(module):
  mod = importlib.import_module(module)
  missing = [n for n in CENSUS[module].split() if not hasattr(mod, n)]
  assert not missing, f"{module} lacks {missing}"
  for name in CENSUS[module].split():  # ``from module import name`` works
    exec(f"from {module} import {name}", {})  # pylint: disable=exec-used


def test_star_import_gives_upstreams_names():
  namespace = {}
  exec("from qkeras import *", namespace)  # pylint: disable=exec-used
  missing = [n for n in STAR if n not in namespace]
  assert not missing, missing
  assert qkeras.__version__ == "0.9.0"
  for leaked in ("tf", "np", "K", "keras"):
    assert leaked not in namespace  # docs/compat.md, "Package"


def test_autoqkeras_star_import_re_exports_model_quantize_and_clone_model():
  namespace = {}
  exec("from qkeras.autoqkeras import *", namespace)  # pylint: disable=exec-used
  from qkeras import utils  # pylint: disable=g-import-not-at-top
  assert namespace["model_quantize"] is utils.model_quantize
  assert namespace["clone_model"] is utils.clone_model


def test_quantizer_imports_are_the_quantizer_classes():
  from qkeras import quantizer_imports  # pylint: disable=g-import-not-at-top
  from qkeras import quantizers  # pylint: disable=g-import-not-at-top
  names = CENSUS["qkeras.quantizer_imports"].split()
  assert len(names) == 14
  for name in names:
    assert getattr(quantizer_imports, name) is getattr(quantizers, name)


def test_experimental_po2_quantizers_fail_clearly():
  with pytest.raises(ImportError, match="alpha='auto_po2'"):
    from qkeras.experimental.quantizers import quantized_bits_msqe_po2  # pylint: disable=g-import-not-at-top,unused-import
  with pytest.raises(ImportError, match="not provided"):
    from qkeras.experimental.quantizers import quantized_bits_learnable_po2  # pylint: disable=g-import-not-at-top,unused-import


# --------------------------------------------------------------------------
# qkeras.quantizers: the module-level helpers (reference 2.2).
# --------------------------------------------------------------------------
def test_sigmoid_type_and_family():
  from qkeras import quantizers as Q  # pylint: disable=g-import-not-at-top
  assert Q._default_sigmoid_type == "hard"  # pylint: disable=protected-access
  x = np.array([-3.0, -1.0, 0.0, 0.5, 3.0], F32)
  np.testing.assert_array_equal(np_out(Q.hard_sigmoid(x)),
                                np.clip(0.5 * x + 0.5, 0, 1))
  np.testing.assert_array_equal(np_out(Q.smooth_sigmoid(x)),
                                np.clip(0.1875 * x + 0.5, 0, 1).astype(F32))
  # round(0.5) is 0 (half to even): binary_tanh(0) = -1.
  np.testing.assert_array_equal(np_out(Q.binary_tanh(x)), [-1, -1, -1, 1, 1])
  np.testing.assert_array_equal(np_out(Q.hard_tanh(x)), [-1, -1, 0, 0.5, 1])
  try:
    Q.set_internal_sigmoid("smooth")
    np.testing.assert_array_equal(
        np_out(Q._sigmoid(x)), np_out(Q.smooth_sigmoid(x)))  # pylint: disable=protected-access
    with pytest.raises(ValueError, match="'real', 'hard' or 'smooth'"):
      Q.set_internal_sigmoid("fast")
  finally:
    Q.set_internal_sigmoid(Q._default_sigmoid_type)  # pylint: disable=protected-access


def test_unrolled_and_rolled_back_shapes():
  # Upstream's docstring examples (tests/quantizer_impl_test.py checks the
  # exact tuples).
  from qkeras.quantizers import _get_rolled_back_shape  # pylint: disable=g-import-not-at-top
  from qkeras.quantizers import _get_unrolled_shape  # pylint: disable=g-import-not-at-top
  assert _get_unrolled_shape([16, 32], 4, 1) == ([16, 8, 4], 1)
  assert _get_unrolled_shape([16, 32], [2, 4], [0, 1]) == ([8, 2, 8, 4],
                                                            [0, 2])
  assert _get_unrolled_shape([4, 5, 6], [3, 2], [2, 0]) == ([2, 2, 5, 2, 3],
                                                            [3, 0])
  assert _get_rolled_back_shape([16, 8, 4], 1) == [16, 32]
  assert _get_rolled_back_shape([8, 2, 8, 4], [0, 2]) == [16, 32]
  with pytest.raises(ValueError, match="'unroll_factor'.*divisor"):
    _get_unrolled_shape([16, 30], 4, 1)


def test_scale_groups_along_axes():
  from qkeras import quantizers as Q  # pylint: disable=g-import-not-at-top
  x = np.random.RandomState(1).normal(size=(2, 4, 8)).astype(F32)
  q = np.sign(x)
  assert Q._validate_axis_and_eps(x.shape, [0, 1], [2, 2]) == ([0, 1], [2, 2])  # pylint: disable=protected-access
  assert Q._validate_axis_and_eps(x.shape, 1, 2) == ([1], [2])  # pylint: disable=protected-access
  with pytest.raises(ValueError, match="'elements_per_scale'"):
    Q._validate_axis_and_eps(x.shape, [0, 1], [2, 3])  # pylint: disable=protected-access
  # Reference 2.2: [2,4,8], eps=[2,2], axes=[0,1] -> shape [2,4,1], 2 values.
  scale = np_out(Q._get_scale("auto_po2", x, q, scale_axis=[0, 1],  # pylint: disable=protected-access
                              elements_per_scale=[2, 2]))
  assert scale.shape == (2, 4, 1)
  assert len(np.unique(scale)) == 2
  qx, qq = Q._get_scale_mean([0, 1], x, q, [2, 2])  # pylint: disable=protected-access
  groups = (x * q).reshape(1, 2, 2, 2, 8).mean(axis=(1, 3, 4))
  np.testing.assert_allclose(np_out(qx)[0, ::2, 0], groups[0], rtol=1e-6)
  np.testing.assert_array_equal(np_out(qq), np.ones((2, 4, 1), F32))
  np.testing.assert_array_equal(
      np_out(Q._repeat_along_axes(np.array([[1.0, 2.0]], F32), [2, 3],  # pylint: disable=protected-access
                                  [0, 1])),
      [[1, 1, 1, 2, 2, 2]] * 2)
  np.testing.assert_array_equal(
      np_out(Q._clip_po2_scale(np.array([2.0**-9, 1.0, 2.0**9], F32), -4, 4)),  # pylint: disable=protected-access
      [2.0**-4, 1.0, 2.0**4])


def test_rounding_helpers_and_po2_exponents():
  from qkeras import quantizers as Q  # pylint: disable=g-import-not-at-top
  x = np.array([-1.5, -0.5, 0.5, 1.5, 2.5], F32)
  np.testing.assert_array_equal(np_out(Q._round_through(x)), [-2, -0, 0, 2, 2])  # pylint: disable=protected-access
  np.testing.assert_array_equal(np_out(Q._floor_through(x)), np.floor(x))  # pylint: disable=protected-access
  np.testing.assert_array_equal(np_out(Q._ceil_through(x)), np.ceil(x))  # pylint: disable=protected-access
  np.testing.assert_array_equal(np_out(Q._sign_through(x)), np.sign(x))  # pylint: disable=protected-access
  # quantized_po2(4)'s exponents: values below eps -> min_exp.
  e = np_out(Q._clip_power_of_two(np.array([0.0, 0.3, 5.0, 100.0], F32),  # pylint: disable=protected-access
                                  -8, 7, None))
  np.testing.assert_array_equal(e, [-8, -2, 2, 7])
  e = np_out(Q._clip_power_of_two(np.array([0.3, 5.0], F32), -8, 7, None,  # pylint: disable=protected-access
                                  log2_rounding="floor"))
  np.testing.assert_array_equal(e, [-2, 2])
  with pytest.raises(ValueError, match="'log2_rounding'"):
    Q._clip_power_of_two(np.array([1.0], F32), -8, 7, None,  # pylint: disable=protected-access
                         log2_rounding="ceil")
  y = np_out(Q.stochastic_round(np.full((1000,), 0.3, F32), precision=0.5))
  assert set(np.unique(y)) <= {0.0, 0.5}
  exps = np_out(Q.stochastic_round_po2(np.full((1000,), 0.3, F32)))
  assert set(np.unique(exps)) <= {-2.0, -1.0}
  np.testing.assert_array_equal(
      np_out(Q.fast_relu_quantize(np.array([-3.0, 2.4, 30.0], F32), 1.0,
                                  1.0 / 16)), [0, 0.125, 0.9375])
  ints = np_out(Q._get_integer_bits(np.array([-3.0], F32),  # pylint: disable=protected-access
                                    np.array([5.0], F32), bits=8,
                                    keep_negative=True))
  np.testing.assert_array_equal(ints, [2])


def test_get_quantizer_and_initializer_helpers():
  from qkeras import quantizers as Q  # pylint: disable=g-import-not-at-top
  assert Q.get_quantizer(None) is None
  assert str(Q.get_quantizer("quantized_bits(4,0,1)")) == "quantized_bits(4,0,1)"
  q = Q.quantized_relu(3)
  assert Q.get_quantizer(q) is q
  assert str(Q.get_quantizer({"class_name": "ternary", "config": {}})) == (
      "ternary()")
  with pytest.raises(ValueError, match="Could not interpret quantizer"):
    Q.get_quantizer(3.5)
  init = Q.get_quantized_initializer("he_normal", 1.0)
  assert isinstance(init, keras.initializers.VarianceScaling)
  assert init.get_config()["scale"] == 2.0
  assert Q.get_quantized_initializer("zeros", 1.0) == "zeros"
  kq = Q.quantized_bits(4, 0, 1, alpha="auto_po2")
  assert Q.get_weight_scale(kq) == 1.0  # not called yet
  kq(np.array([[0.3, -0.6]], F32))
  assert np.asarray(Q.get_weight_scale(kq)).shape == (1, 2)


def test_layer_helpers():
  from qkeras import qlayers  # pylint: disable=g-import-not-at-top
  from qkeras.qconvolutional import deconv_output_length  # pylint: disable=g-import-not-at-top
  from qkeras.qoctave import GetActivationSuffix  # pylint: disable=g-import-not-at-top
  q = qkeras.quantized_bits(4, 0, 1)
  constraint, init = qlayers.get_auto_range_constraint_initializer(
      q, None, "glorot_uniform")
  assert constraint.get_config() == {"min_value": -1, "max_value": 1}
  assert isinstance(init, keras.initializers.Initializer)
  clip = qlayers.get_constraint(None, qkeras.quantized_po2(4))
  assert clip.get_config() == {"min_value": -8.0, "max_value": 8.0}
  assert qlayers.get_initializer(None) is None
  assert isinstance(qlayers.get_initializer("he_normal"),
                    keras.initializers.Initializer)
  assert deconv_output_length(4, 3, "valid", stride=2) == 9
  assert deconv_output_length(4, 3, "same", stride=2) == 8
  assert isinstance(GetActivationSuffix("quantized_relu(4)"), str)


def test_parser_and_registries():
  from qkeras import quantizer_registry  # pylint: disable=g-import-not-at-top
  from qkeras.registry import Registry  # pylint: disable=g-import-not-at-top
  from qkeras.safe_eval import GetParams  # pylint: disable=g-import-not-at-top
  from qkeras.safe_eval import safe_eval  # pylint: disable=g-import-not-at-top
  args, kwargs = GetParams("(4, 0, alpha='auto')")
  assert args == [4, 0] and kwargs == {"alpha": "auto"}
  q = safe_eval("quantized_bits(4,0,1)", vars(qkeras.quantizers))
  assert str(q) == "quantized_bits(4,0,1)"
  assert quantizer_registry.lookup_quantizer("quantized_bits") is (
      qkeras.quantized_bits)
  registry = Registry()
  registry.register(len)
  assert registry.lookup("len") is len


# --------------------------------------------------------------------------
# qkeras.utils and the model tools on one small model.
# --------------------------------------------------------------------------
def _float_model():
  x = keras.Input((6, 6, 1), name="input")
  y = keras.layers.Conv2D(2, 3, name="conv2d")(x)
  y = keras.layers.Activation("relu", name="act")(y)
  y = keras.layers.Flatten(name="flatten")(y)
  y = keras.layers.Dense(3, activation="relu", name="dense")(y)
  y = keras.layers.Dense(2, activation="tanh", name="dense_1")(y)
  return keras.Model(x, y)


def test_model_quantize_gives_quantizer_objects():
  # upstream tests/automatic_conversion_test.py
  from qkeras.utils import model_quantize  # pylint: disable=g-import-not-at-top
  model = _float_model()
  config = {
      "QConv2D": {"kernel_quantizer": "binary", "bias_quantizer": "binary",
                  "activation_quantizer": "binary"},
      "QDense": {"kernel_quantizer": "quantized_bits(4,0,1)",
                 "bias_quantizer": "quantized_bits(4)"},
      "QActivation": {"relu": "ternary"},
  }
  qmodel = model_quantize(model, config, 4)
  layers = {layer.name: layer for layer in qmodel.layers}
  assert str(layers["conv2d"].activation) == "binary()"
  act = layers["act"]
  assert isinstance(act, qkeras.QActivation)
  assert isinstance(act.quantizer, qkeras.ternary)
  assert str(act.quantizer) == "ternary()"
  assert str(layers["dense"].activation) == "quantized_relu(4,0)"
  assert str(layers["dense_1"].activation) == "quantized_tanh(4)"
  adaptive = model_quantize(model, {"QAdaptiveActivation": {
      "relu": "quantized_relu(4)"}, "QDense": {"kernel_quantizer": "binary"}},
                            4, prefer_qadaptiveactivation=True)
  act = {layer.name: layer for layer in adaptive.layers}["act"]
  assert isinstance(act, qkeras.QAdaptiveActivation)
  assert isinstance(act.quantizer, qkeras.quantized_relu)
  assert act.quantizer is act.activation  # upstream: for qtools


def test_model_tools_run_on_a_quantized_model(tmp_path, capsys):
  from qkeras import utils  # pylint: disable=g-import-not-at-top
  qmodel = utils.model_quantize(_float_model(), {
      "QConv2D": {"kernel_quantizer": "quantized_bits(4,0,1)",
                  "bias_quantizer": "quantized_bits(4,0,1)"},
      "QDense": {"kernel_quantizer": "quantized_bits(4,0,1)",
                 "bias_quantizer": "quantized_bits(4,0,1)"},
      "QActivation": {"relu": "quantized_relu(4)"}}, 4)
  x = np.random.RandomState(0).uniform(-1, 1, (4, 6, 6, 1)).astype(F32)
  want = np_out(qmodel(x))
  clone = utils.clone_model(qmodel)
  np.testing.assert_array_equal(np_out(clone(x)), want)
  again = utils.quantized_model_from_json(qmodel.to_json())
  again.set_weights(qmodel.get_weights())
  np.testing.assert_array_equal(np_out(again(x)), want)
  path = str(tmp_path / "m.keras")
  qmodel.save(path)
  np.testing.assert_array_equal(np_out(utils.load_qmodel(path)(x)), want)
  saved = utils.model_save_quantized_weights(qmodel)
  assert set(saved) >= {"conv2d", "dense", "dense_1"}
  assert 0.0 <= utils.get_model_sparsity(qmodel) <= 1.0
  utils.print_model_sparsity(qmodel)
  utils.quantized_model_debug(qmodel, x)
  utils.quantized_model_dump(qmodel, x, output_dir=str(tmp_path / "dump"),
                             layers_to_dump=["dense"])
  assert os.path.exists(tmp_path / "dump" / "dense.bin")
  objects = utils._add_supported_quantized_objects({})  # pylint: disable=protected-access
  assert objects is None or isinstance(objects, dict)
  custom = {}
  utils._add_supported_quantized_objects(custom)  # pylint: disable=protected-access
  assert custom["QDense"] is qkeras.QDense
  assert custom["quantized_bits"] is qkeras.quantized_bits
  layer_config = {"activation": "relu"}  # rewritten in place, as upstream
  assert utils.quantize_activation(layer_config, 4) is None
  assert layer_config == {"activation": "quantized_relu(4)"}
  qkeras.print_qstats(qmodel)
  operations = qkeras.extract_model_operations(qmodel)
  assert operations["dense"]["type"][0] != "null"
  assert "dense" in capsys.readouterr().out


def test_bn_folding_tools():
  from qkeras import utils  # pylint: disable=g-import-not-at-top
  x = keras.Input((5, 5, 1))
  y = qkeras.QConv2D(2, 3, kernel_quantizer="quantized_bits(4,0,1)",
                     bias_quantizer="quantized_bits(8,2,1)", name="conv")(x)
  y = qkeras.QBatchNormalization(name="bn")(y)
  model = keras.Model(x, y)
  pairs, skip = utils.find_bn_fusing_layer_pair(model)
  assert pairs == {"conv": "bn"} and skip == {"bn"}
  float_model = keras.Sequential([
      keras.Input((5, 5, 1)), keras.layers.Conv2D(2, 3, name="c"),
      keras.layers.BatchNormalization(name="b")])
  folded, layers_to_fold = utils.convert_to_folded_model(float_model)
  assert [layer.name for layer in folded.layers][-1] == "c"
  assert "c" in layers_to_fold
  folded_q = keras.Sequential([
      keras.Input((5, 5, 1)),
      qkeras.QConv2DBatchnorm(2, 3, kernel_quantizer="quantized_bits(4,0,1)",
                              name="cb")])
  unfolded = qkeras.unfold_model(folded_q)  # reference 9.3: a QConv2D
  assert [type(layer).__name__ for layer in unfolded.layers] == ["QConv2D"]
  x = np.random.RandomState(0).normal(size=(2, 5, 5, 1)).astype(F32)
  np.testing.assert_array_equal(np_out(unfolded(x)), np_out(folded_q(x)))


def test_other_modules_once():
  from qkeras.callbacks import QNoiseScheduler  # pylint: disable=g-import-not-at-top
  from qkeras.codebook import weight_compression  # pylint: disable=g-import-not-at-top
  therm = np_out(qkeras.BinaryToThermometer(
      np.array([[0.0, 3.0]], F32), 4, 4))
  assert therm.shape == (1, 2, 4)  # classes on a new last axis
  np.testing.assert_array_equal(therm[0, 1], [0, 0, 0, 1])
  scheduler = QNoiseScheduler(start=0, finish=4, freq_type="step")
  assert scheduler.calculate_qnoise_factor(4) == 1.0
  assert scheduler.calculate_qnoise_factor(2) == pytest.approx(1 - 0.5**3)
  weights = np.random.RandomState(0).normal(size=(4, 8)).astype(F32)
  index_table, codebook = weight_compression(weights, 2, axis=0,
                                             random_state=0)
  assert index_table.shape == weights.shape and codebook.shape == (4, 4)
  rebuilt = np.stack([codebook[i][index_table[i]] for i in range(4)])
  assert np.abs(rebuilt - weights).max() < np.abs(weights).max()


def test_qtools_and_autoqkeras_entry_points():
  from qkeras.autoqkeras import default_quantization_config  # pylint: disable=g-import-not-at-top
  from qkeras.qtools import QTools  # pylint: disable=g-import-not-at-top
  from qkeras.qtools import qtools_cfg  # pylint: disable=g-import-not-at-top
  from qkeras.qtools.DnC.dnc_layer_cost_ace import get_ace_mac_gates  # pylint: disable=g-import-not-at-top
  model = keras.Sequential([
      keras.Input((4,)),
      qkeras.QDense(3, kernel_quantizer="quantized_bits(4,0,1)",
                    bias_quantizer="quantized_bits(4,0,1)", name="d")])
  q = QTools(model, process="horowitz",
             source_quantizers=[qkeras.quantized_bits(8, 0, 1)],
             is_inference=True, keras_quantizer="fp32",
             keras_accumulator="fp32")
  energy = q.pe(weights_on_memory="sram", activations_on_memory="sram")
  assert q.extract_energy_sum(qtools_cfg.include_energy, energy) > 0
  assert default_quantization_config["kernel"]["quantized_bits(4,0,1)"] == 4
  assert default_quantization_config["bias"]["quantized_po2(4,8)"] == 4
  assert get_ace_mac_gates(8, 8, 16) == pytest.approx(
      7.70469119 * 64 + 13.76199652 * 16 - 92.15756665)


# --------------------------------------------------------------------------
# One qkeras on the path (item 11 of the fidelity issue).
# --------------------------------------------------------------------------
def _fake_site(tmp_path, dist, files):
  site = tmp_path / "site"
  (site / "qkeras").mkdir(parents=True)
  info = site / (dist + ".dist-info")
  info.mkdir()
  (info / "RECORD").write_text(
      "".join(f"{f},sha256=x,1\n" for f in files))
  return site


def test_other_distribution_owning_qkeras_is_detected(tmp_path):
  from qkeras import _install_check  # pylint: disable=g-import-not-at-top
  site = _fake_site(tmp_path, "HGQ2-0.1.0",
                    ["qkeras/__init__.py", "qkeras/qlayers.py", "hgq/x.py"])
  assert _install_check.other_qkeras_distributions([str(site)]) == [
      ("HGQ2 0.1.0", str(site))]
  with pytest.warns(UserWarning, match="'HGQ2 0.1.0'.*pip uninstall HGQ2"):
    _install_check.warn_if_mixed([str(site)])
  # setuptools metadata: top_level.txt names the packages.
  shim = _fake_site(tmp_path / "shim", "hgq2-0.2", ["hgq/__init__.py"])
  (shim / "hgq2-0.2.dist-info" / "top_level.txt").write_text("hgq\nqkeras\n")
  assert _install_check.other_qkeras_distributions([str(shim)]) == [
      ("hgq2 0.2", str(shim))]
  (shim / "hgq2-0.2.dist-info" / "top_level.txt").write_text("hgq\n")
  assert not _install_check.other_qkeras_distributions([str(shim)])
  # This qkeras's own metadata (it ships qkeras/_po2_table.py) is no conflict.
  own = _fake_site(tmp_path / "own", "qkeras-0.9.0",
                   ["qkeras/__init__.py", "qkeras/_po2_table.py"])
  assert not _install_check.other_qkeras_distributions([str(own)])
  # Nor is a directory without a qkeras package, or unrelated metadata.
  other = tmp_path / "plain"
  (other / "numpy-2.0.dist-info").mkdir(parents=True)
  (other / "numpy-2.0.dist-info" / "RECORD").write_text("numpy/x.py,,\n")
  assert not _install_check.other_qkeras_distributions([str(other)])


def test_import_warns_about_another_qkeras_distribution(tmp_path):
  site = _fake_site(tmp_path, "qkerasV3-1.2.1",
                    ["qkeras/__init__.py", "qkeras/quantizers.py"])
  env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + str(site),
             TF_CPP_MIN_LOG_LEVEL="3")
  out = subprocess.run([sys.executable, "-c", "import qkeras"], env=env,
                       capture_output=True, text=True, check=True)
  assert "'qkerasV3 1.2.1'" in out.stderr
  assert "may give a mix of both" in out.stderr
  clean = dict(env, PYTHONPATH=ROOT)
  out = subprocess.run([sys.executable, "-c", "import qkeras"], env=clean,
                       capture_output=True, text=True, check=True)
  assert "also installs a top-level 'qkeras'" not in out.stderr
