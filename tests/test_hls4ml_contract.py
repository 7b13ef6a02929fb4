# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The contract hls4ml's QKeras support relies on (spec: ecosystem.md 3.3-3.4).

hls4ml's next release (its merged PR #1473, "Add support for qkeras v3"; not
on PyPI, so it cannot run here) adds Keras-3 handlers keyed by exact module
paths:

* ``QKerasV3LayerHandler`` for ``PR1473_LAYER_KEYS`` calls hls4ml's Keras-2
  QKeras parser ``keras_v2_to_hls.layer_handlers[class_name]`` on
  ``{"class_name": cls.__name__, "config": layer.get_config()}`` with a
  reader that returns the first ``layer.weights`` entry whose name contains
  the variable name; when ``config["activation"]`` is not None/"linear" it
  adds an activation node built by ``converters.keras.qkeras.
  get_activation_quantizer``;
* ``QKerasQActivationHandler`` for ``PR1473_QACTIVATION_KEYS`` does the same
  for QActivation.

These tests pin what that code reads from us, and simulate its flow with
hls4ml 1.3's own Keras-2 parsers (no registration, no g++): class module
paths and names, importable names, the quantizers' config layout and call
semantics, weight variable names, and the parse of every handled layer.

Not here: that ``qkeras.hls4ml_support`` yields to hls4ml's own handlers when
they exist (tests/test_hls4ml.py::test_register_keeps_hls4ml_own_handlers),
and the compiled, bit-exact conversions (tests/test_hls4ml.py).
"""

import importlib

import numpy as np
import pytest

hls4ml = pytest.importorskip("hls4ml")

# pylint: disable=g-import-not-at-top,wrong-import-position
import keras
from multibackend import np_out
import qkeras
from qkeras.quantizers import binary
from qkeras.quantizers import get_quantizer
from qkeras.quantizers import quantized_bits
from qkeras.quantizers import quantized_po2
from qkeras.quantizers import quantized_relu
from qkeras.quantizers import quantized_relu_po2
from qkeras.quantizers import quantized_sigmoid
from qkeras.quantizers import quantized_tanh
from qkeras.quantizers import stochastic_binary
from qkeras.quantizers import stochastic_ternary
from qkeras.quantizers import ternary

from hls4ml.converters.keras import qkeras as hls_qkeras
from hls4ml.model import quantizers as hls_quantizers

# ``hls4ml.converters.keras_v2_to_hls`` is also the name of a function there.
V2 = importlib.import_module("hls4ml.converters.keras_v2_to_hls")

F32 = np.float32
# hls4ml's reader calls np.array(keras.Variable); NumPy 2 warns about
# Keras's __array__ signature (Keras's and hls4ml's business, not ours).
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:"
    "DeprecationWarning")

PR1473_LAYER_KEYS = (
    "qkeras.qlayers.QDense", "qkeras.qconvolutional.QConv1D",
    "qkeras.qconvolutional.QConv2D", "qkeras.qconvolutional.QDepthwiseConv2D",
    "qkeras.qconv2d_batchnorm.QConv2DBatchnorm")
PR1473_QACTIVATION_KEYS = ("qkeras.qlayers.QActivation", "QActivation")


def q4():
  return quantized_bits(4, 0, alpha=1)


# ----------------------------------------------------------------------------
# Names: module paths, class names, importable objects
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("key", PR1473_LAYER_KEYS + PR1473_QACTIVATION_KEYS[:1])
def test_pr1473_keys_are_our_module_paths(key):
  module, name = key.rsplit(".", 1)
  cls = getattr(importlib.import_module(module), name)
  assert f"{cls.__module__}.{cls.__name__}" == key
  assert getattr(qkeras, name, cls) is cls  # qkeras.X is the same class


def test_pr1473_bare_qactivation_key():
  layer = qkeras.QActivation("quantized_relu(4)")
  assert type(layer).__name__ == PR1473_QACTIVATION_KEYS[1]


def test_hls4ml_v2_class_names_are_ours():
  """Every QKeras handler of hls4ml 1.3 (keyed by class name) names a class
  of ours with that ``__name__``: PR #1473 and the v2 fallback pass
  ``layer.__class__.__name__`` as the class name."""
  names = [n for n in V2.layer_handlers if n.startswith("Q")]
  assert {"QDense", "QConv1D", "QConv2D", "QDepthwiseConv2D",
          "QSeparableConv1D", "QSeparableConv2D", "QSimpleRNN", "QLSTM",
          "QGRU", "QActivation", "QBatchNormalization",
          "QConv2DBatchnorm"} <= set(names)
  for name in names:
    assert getattr(qkeras, name).__name__ == name


def test_names_hls4ml_and_its_tests_import():
  """ecosystem.md 3.4 item 1 (and 3.1's touch points)."""
  # pylint: disable=unused-import
  from qkeras import QActivation, QConv2D, QDense, QGRU, QLSTM, QSimpleRNN
  from qkeras import get_quantizer as top_level_get_quantizer
  from qkeras import ternary as top_level_ternary
  from qkeras.qconv2d_batchnorm import QConv2DBatchnorm
  from qkeras.qconvolutional import (QConv1D, QDepthwiseConv2D,
                                     QSeparableConv1D, QSeparableConv2D)
  from qkeras.qlayers import QActivation as QA, QDense as QD
  from qkeras.quantizers import (binary as b, quantized_bits as qb,
                                 quantized_po2 as qp, quantized_relu as qr,
                                 quantized_sigmoid as qs, quantized_tanh as qt,
                                 ternary as t)
  from qkeras.utils import _add_supported_quantized_objects
  # pylint: enable=unused-import
  assert QA is QActivation and QD is QDense
  assert top_level_get_quantizer is get_quantizer
  assert top_level_ternary is t is ternary
  objects = {}
  _add_supported_quantized_objects(objects)
  assert {"QActivation", "QDense", "QConv2D", "QConv2DBatchnorm",
          "QSeparableConv2D", "QLSTM", "quantized_bits", "quantized_relu",
          "ternary", "binary"} <= set(objects)
  assert objects["QDense"] is QDense and objects["quantized_bits"] is qb


# ----------------------------------------------------------------------------
# Quantizers: config layout, rebuild, call semantics
# ----------------------------------------------------------------------------
# ecosystem.md 3.4 item 5: google/qkeras quantizers.py get_config keys.
QKERAS_CONFIG_KEYS = {
    "quantized_bits": {"bits", "integer", "symmetric", "alpha",
                       "keep_negative", "use_stochastic_rounding",
                       "qnoise_factor", "post_training_scale"},
    "quantized_relu": {"bits", "integer", "use_sigmoid", "negative_slope",
                       "use_stochastic_rounding", "relu_upper_bound",
                       "qnoise_factor"},
    "quantized_tanh": {"bits", "symmetric", "use_stochastic_rounding",
                       "use_real_tanh"},
    "quantized_sigmoid": {"bits", "symmetric", "use_real_sigmoid",
                          "use_stochastic_rounding"},
    "quantized_po2": {"bits", "max_value", "use_stochastic_rounding",
                      "quadratic_approximation", "qnoise_factor"},
    "quantized_relu_po2": {"bits", "max_value", "use_stochastic_rounding",
                           "quadratic_approximation", "qnoise_factor",
                           "negative_slope"},
    "binary": {"alpha", "use_stochastic_rounding"},
    "stochastic_binary": {"alpha"},
    "ternary": {"alpha", "threshold", "use_stochastic_rounding",
                "number_of_unrolls"},
    "stochastic_ternary": {"alpha", "threshold", "number_of_unrolls"},
}

# Weight quantizers (a QDense kernel_quantizer) and activation quantizers (a
# QDense activation), one of each class.
WEIGHT_QUANTIZERS = {
    "quantized_bits": lambda: quantized_bits(6, 2, alpha=1),
    "quantized_po2": lambda: quantized_po2(4, 1),
    "binary": lambda: binary(alpha=1),
    "stochastic_binary": lambda: stochastic_binary(alpha=1),
    "ternary": lambda: ternary(alpha=1),
    "stochastic_ternary": lambda: stochastic_ternary(alpha=1),
}
ACTIVATION_QUANTIZERS = {
    "quantized_relu": lambda: quantized_relu(4, 0, negative_slope=0.25),
    "quantized_relu_po2": lambda: quantized_relu_po2(4, 2),
    "quantized_tanh": lambda: quantized_tanh(4, use_real_tanh=True),
    "quantized_sigmoid": lambda: quantized_sigmoid(4),
}
ALL_QUANTIZERS = {**WEIGHT_QUANTIZERS, **ACTIVATION_QUANTIZERS}


def test_every_quantizer_class_is_covered():
  assert set(ALL_QUANTIZERS) == set(QKERAS_CONFIG_KEYS)


@pytest.mark.parametrize("name", sorted(ALL_QUANTIZERS))
def test_quantizer_config_layout_and_rebuild(name):
  """The layer config holds ``{"class_name", "config"}`` with QKeras's keys;
  ``get_quantizer`` of that dict (hls4ml's wrappers) rebuilds the quantizer."""
  make = ALL_QUANTIZERS[name]
  if name in WEIGHT_QUANTIZERS:
    key = "kernel_quantizer"
    layer = qkeras.QDense(3, kernel_quantizer=make())
    expected = layer.kernel_quantizer_internal
  else:
    key = "activation"
    layer = qkeras.QDense(3, activation=make())
    expected = layer.activation
  entry = layer.get_config()[key]
  assert entry["class_name"] == name
  assert isinstance(entry["config"], dict)
  assert QKERAS_CONFIG_KEYS[name] <= set(entry["config"])
  rebuilt = get_quantizer(entry)
  assert type(rebuilt) is type(expected)
  assert rebuilt.get_config() == expected.get_config()
  assert str(rebuilt) == str(expected)
  x = np.linspace(-3, 3, 24, dtype=F32).reshape(8, 3)
  if "stochastic" not in name:
    np.testing.assert_array_equal(np_out(rebuilt(x)), np_out(expected(x)))


@pytest.mark.parametrize("name", sorted(ALL_QUANTIZERS))
def test_quantizer_called_on_numpy_returns_numpy_able(name):
  """hls4ml calls ``quantizer(np.float32 array).numpy()`` outside a layer;
  the result is deterministic when ``training`` is not set."""
  quantizer = ALL_QUANTIZERS[name]()
  x = np.random.RandomState(0).uniform(-3, 3, (8, 3)).astype(F32)
  y = quantizer(x)
  assert isinstance(y.numpy(), np.ndarray)
  assert y.numpy().shape == (8, 3)
  np.testing.assert_array_equal(y.numpy(), quantizer(x).numpy())
  np.testing.assert_array_equal(y.numpy(), np_out(quantizer(
      keras.ops.convert_to_tensor(x))))
  assert quantizer.bits == {"binary": 1, "stochastic_binary": 1,
                            "ternary": 2, "stochastic_ternary": 2}.get(
                                name, 4 if name != "quantized_bits" else 6)
  assert type(quantizer).from_config(quantizer.get_config()).get_config() == (
      quantizer.get_config())


@pytest.mark.parametrize("name", sorted(WEIGHT_QUANTIZERS))
def test_hls4ml_quantizer_wrappers_run_ours(name):
  """hls4ml.model.quantizers wraps the config dict and calls ``.numpy()``."""
  config = qkeras.QDense(3, kernel_quantizer=WEIGHT_QUANTIZERS[name]()
                        ).get_config()["kernel_quantizer"]
  wrapper = hls_qkeras.get_quantizer_from_config(
      {"class_name": "QDense", "config": {"kernel_quantizer": config}},
      "kernel")
  x = np.random.RandomState(1).uniform(-1.5, 1.5, (4, 3)).astype(F32)
  y = np.asarray(wrapper(x))
  assert y.shape == (4, 3)
  if "binary" in name:
    assert isinstance(wrapper, hls_quantizers.QKerasBinaryQuantizer)
    assert set(np.unique(y)) <= {0, 1}  # xnor encoding of the signs
  elif name == "quantized_po2":
    assert isinstance(wrapper, hls_quantizers.QKerasPO2Quantizer)
    assert wrapper.bits == 4
  else:
    assert isinstance(wrapper, hls_quantizers.QKerasQuantizer)
    if "stochastic" not in name:
      np.testing.assert_array_equal(y, np_out(get_quantizer(config)(x)))
  if name == "quantized_bits":
    assert (wrapper.hls_type.width, wrapper.hls_type.integer) == (6, 3)


@pytest.mark.parametrize("alpha", [1, "auto", "auto_po2"])
@pytest.mark.parametrize("make", [
    lambda a: quantized_bits(4, 0, alpha=a), lambda a: binary(alpha=a),
    lambda a: ternary(alpha=a)], ids=["quantized_bits", "binary", "ternary"])
def test_quantizer_scale_after_a_call(make, alpha):
  """QKerasFactorizeAlpha reads ``.scale`` (one value per output channel for
  "auto"/"auto_po2"), ``.alpha`` and ``get_config()["alpha"]``."""
  quantizer = make(alpha)
  x = np.random.RandomState(2).uniform(-2, 2, (8, 3)).astype(F32)
  quantizer(x)
  scale = np.asarray(np_out(quantizer.scale), F32)
  assert quantizer.alpha == alpha
  assert quantizer.get_config()["alpha"] == alpha
  if alpha == 1:
    assert np.all(scale == 1)
  else:
    assert scale.shape[-1] == 3 and np.all(scale > 0)
  if alpha == "auto_po2":
    np.testing.assert_array_equal(np.log2(scale), np.round(np.log2(scale)))


# ----------------------------------------------------------------------------
# Weight variable names (ecosystem.md 3.4 item 7)
# ----------------------------------------------------------------------------
def _layers_and_reads():
  """name -> (layer factory, input shape, the variable names hls4ml's v2
  parser reads for that layer, in ``layer.weights`` order)."""
  from qkeras.qconv2d_batchnorm import QConv2DBatchnorm  # pylint: disable=g-import-not-at-top
  w = dict(kernel_quantizer=q4(), bias_quantizer=q4())
  rnn = ("kernel", "recurrent_kernel", "bias")
  bn = ("gamma", "beta", "moving_mean", "moving_variance")
  img = (5, 5, 2)
  return {
      "QDense": (lambda: qkeras.QDense(3, **w), (4,), ("kernel", "bias")),
      "QConv1D": (lambda: qkeras.QConv1D(2, 3, **w), (6, 2),
                  ("kernel", "bias")),
      "QConv2D": (lambda: qkeras.QConv2D(2, 3, **w), img, ("kernel", "bias")),
      "QDepthwiseConv2D": (lambda: qkeras.QDepthwiseConv2D(
          3, depthwise_quantizer=q4(), bias_quantizer=q4()), img,
                           ("depthwise_kernel", "bias")),
      "QSeparableConv1D": (lambda: qkeras.QSeparableConv1D(
          2, 3, depthwise_quantizer=q4(), pointwise_quantizer=q4()), (6, 2),
                           ("depthwise_kernel", "pointwise_kernel", "bias")),
      "QSeparableConv2D": (lambda: qkeras.QSeparableConv2D(
          2, 3, depthwise_quantizer=q4(), pointwise_quantizer=q4()), img,
                           ("depthwise_kernel", "pointwise_kernel", "bias")),
      "QConv2DBatchnorm": (lambda: QConv2DBatchnorm(2, 3, **w), img,
                           ("kernel", "bias") + bn),
      "QBatchNormalization": (qkeras.QBatchNormalization, (4,), bn),
      "QSimpleRNN": (lambda: qkeras.QSimpleRNN(3, **w), (4, 2), rnn),
      "QLSTM": (lambda: qkeras.QLSTM(3, **w), (4, 2), rnn),
      "QGRU": (lambda: qkeras.QGRU(3, **w), (4, 2), rnn),
  }


@pytest.mark.parametrize("name", sorted(_layers_and_reads()))
def test_weight_variable_names(name):
  """hls4ml's readers return the first ``layer.weights`` entry whose name
  *contains* the variable name: that entry must be the variable itself."""
  make, shape, reads = _layers_and_reads()[name]
  layer = make()
  layer.build((None,) + shape)
  names = [w.name for w in layer.weights]
  assert [n for n in names if n in reads] == list(reads)
  for var in reads:
    first = next(n for n in names if var in n)
    assert first == var, (var, names)


# ----------------------------------------------------------------------------
# PR #1473's flow, simulated with hls4ml 1.3's Keras-2 parsers
# ----------------------------------------------------------------------------
class _IsolatedLayerReader:
  """hls4ml's reader for one layer (keras_v3_to_hls / PR #1473's
  converters/utils.py): the first weight whose name contains ``var_name``."""

  def __init__(self, layer):
    self.layer = layer

  def get_weights_data(self, layer_name, var_name):
    assert layer_name == self.layer.name
    for w in self.layer.weights:
      if var_name in w.name:
        return np.array(w)
    return None


def _parse(layer, shape, activation_node=True):
  """What PR #1473's handlers (and hls4ml 1.3's v2 fallback) do with a layer:
  the v2 handler of its class name on its config; for the layers of
  ``PR1473_LAYER_KEYS`` (and ``activation_node``), plus an activation node
  for a non-linear activation
  -> (layer_dict, parsed, output_shape, activation node or None)."""
  inputs = keras.Input(shape)
  model = keras.Model(inputs, layer(inputs))
  rng = np.random.RandomState(4)
  model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(F32)
                     for w in model.get_weights()])
  cls = type(layer).__name__
  layer_dict = {"class_name": cls, "config": layer.get_config()}
  input_names = ["x"]
  parsed, out_shape = V2.layer_handlers[cls](
      layer_dict, input_names, [[None] + list(shape)],
      _IsolatedLayerReader(layer))
  assert out_shape[1:] == list(model.output.shape[1:])
  assert parsed["name"] == layer.name
  if cls != "QActivation":  # parsed as its activation's class
    assert parsed["class_name"] == cls
  node = None
  activation = layer_dict["config"].get("activation")
  if (activation_node and activation not in (None, "linear") and
      f"{type(layer).__module__}.{cls}" in PR1473_LAYER_KEYS):
    node = hls_qkeras.get_activation_quantizer(layer_dict, input_names)
  return layer_dict, parsed, out_shape, node


def _weight(layer, name):
  """The layer's weight of that name, as NumPy."""
  (weight,) = [w for w in layer.weights if w.name == name]
  return np_out(weight)


def _check_weight(parsed, layer, data_key, quantizer_key, variable,
                  layer_quantizer):
  """The parsed weight is the layer's variable; the parsed quantizer (an
  hls4ml wrapper of our config) quantizes it as the layer does."""
  data = _weight(layer, variable)
  np.testing.assert_array_equal(parsed[data_key], data)
  wrapper = parsed[quantizer_key]
  assert isinstance(wrapper, hls_quantizers.QKerasQuantizer)
  assert (wrapper.hls_type.width, wrapper.hls_type.integer) == (4, 1)
  np.testing.assert_array_equal(
      wrapper(data), np_out(getattr(layer, layer_quantizer)(data)))


# (layer factory, input shape, expected activation node: (class_name,
# activation, bits) or None)
_RELU4 = ("Activation", "relu", 4)
_LAYER_CASES = {
    "QDense": (lambda: qkeras.QDense(
        3, kernel_quantizer=q4(), bias_quantizer=q4(),
        activation=quantized_relu(4, 0)), (4,), _RELU4),
    "QConv1D": (lambda: qkeras.QConv1D(
        2, 3, kernel_quantizer=q4(), bias_quantizer=q4(),
        activation="quantized_relu(4, 0)"), (6, 2), _RELU4),
    "QConv2D": (lambda: qkeras.QConv2D(
        2, 3, kernel_quantizer=q4(), bias_quantizer=q4(),
        activation=quantized_bits(6, 2, alpha=1)), (5, 5, 2),
                ("Activation", "linear", 6)),
    "QDepthwiseConv2D": (lambda: qkeras.QDepthwiseConv2D(
        3, depthwise_quantizer=q4(), bias_quantizer=q4(),
        activation=quantized_relu(4, 0, negative_slope=0.25)), (5, 5, 2),
                         ("LeakyReLU", "leaky_relu", 4)),
    "QConv2DBatchnorm": (lambda: importlib.import_module(
        "qkeras.qconv2d_batchnorm").QConv2DBatchnorm(
            2, 3, kernel_quantizer=q4(), bias_quantizer=q4(),
            activation=quantized_relu(4, 0)), (5, 5, 2), _RELU4),
}


@pytest.mark.parametrize("name", sorted(_LAYER_CASES))
def test_pr1473_layer_handler_flow(name):
  make, shape, expected_node = _LAYER_CASES[name]
  layer = make()
  _, parsed, _, node = _parse(layer, shape)
  if name == "QDepthwiseConv2D":
    _check_weight(parsed, layer, "depthwise_data", "depthwise_quantizer",
                  "depthwise_kernel", "depthwise_quantizer_internal")
  else:
    _check_weight(parsed, layer, "weight_data", "weight_quantizer", "kernel",
                  "kernel_quantizer_internal")
  if name == "QConv2DBatchnorm":
    for key, variable in (("gamma_data", "gamma"), ("beta_data", "beta"),
                          ("mean_data", "moving_mean"),
                          ("variance_data", "moving_variance")):
      np.testing.assert_array_equal(parsed[key], _weight(layer, variable))
  class_name, activation, bits = expected_node
  assert node["class_name"] == class_name
  assert node["activation"] == activation
  assert node["activation_quantizer"]["config"]["bits"] == bits


def test_v2_parse_of_a_keras_activation_name():
  """hls4ml 1.3's v2 parser takes QDense(activation="relu") (the activation
  is a name in the config). PR #1473 sends it to get_activation_quantizer,
  which rejects it ("unknown"); that regression is hls4ml's."""
  layer = qkeras.QDense(3, kernel_quantizer=q4(), activation="relu")
  layer_dict, parsed, _, _ = _parse(layer, (4,), activation_node=False)
  assert layer_dict["config"]["activation"] == "relu"
  assert parsed["activation"] == "relu"


_QACTIVATION_CASES = {
    "quantized_relu": (lambda: quantized_relu(4, 0), _RELU4),
    "quantized_relu_string": (lambda: "quantized_relu(4, 0)", _RELU4),
    "quantized_bits": (lambda: quantized_bits(6, 0, alpha=1),
                       ("Activation", "linear", 6)),
    "quantized_tanh": (lambda: quantized_tanh(4),
                       ("HardActivation", "hard_tanh", 4)),
    "quantized_sigmoid_real": (lambda: quantized_sigmoid(
        4, use_real_sigmoid=True), ("Activation", "sigmoid", 4)),
    "binary": (lambda: binary(alpha=1), ("Activation", "binary_tanh", None)),
    "ternary": (lambda: ternary(alpha=1),
                ("TernaryTanh", "ternary_tanh", None)),
}


@pytest.mark.parametrize("name", sorted(_QACTIVATION_CASES))
def test_pr1473_qactivation_handler_flow(name):
  make, (class_name, activation, bits) = _QACTIVATION_CASES[name]
  layer = qkeras.QActivation(make())
  _, parsed, _, _ = _parse(layer, (4,))
  assert parsed["class_name"] == class_name
  assert parsed["activation"] == activation
  if bits is not None:
    assert parsed["activation_quantizer"]["config"]["bits"] == bits


@pytest.mark.parametrize("form", ["name", "function"])
@pytest.mark.parametrize("name", ["QSimpleRNN", "QLSTM", "QGRU"])
def test_v2_parse_of_recurrent_layers_with_keras_activations(name, form):
  """parse_qrnn_layer sends a non-string activation to
  get_activation_quantizer, which raised "Unsupported QKeras activation:
  unknown" while we wrote keras.activations.tanh as a function dict."""
  act = {"activation": "tanh", "recurrent_activation": "sigmoid"}
  if form == "function":
    act = {k: getattr(keras.activations, v) for k, v in act.items()}
  if name == "QSimpleRNN":
    del act["recurrent_activation"]
  layer = getattr(qkeras, name)(3, kernel_quantizer=q4(),
                                recurrent_quantizer=q4(), **act)
  _, parsed, out_shape, _ = _parse(layer, (4, 2))
  assert out_shape == [None, 3]
  assert parsed["activation"] == "tanh"
  if name != "QSimpleRNN":
    assert parsed["recurrent_activation"] == "sigmoid"
  _check_weight(parsed, layer.cell, "weight_data", "weight_quantizer",
                "kernel", "kernel_quantizer_internal")
  _check_weight(parsed, layer.cell, "recurrent_weight_data",
                "recurrent_weight_quantizer", "recurrent_kernel",
                "recurrent_quantizer_internal")


@pytest.mark.parametrize("name", ["QSimpleRNN", "QLSTM", "QGRU"])
def test_v2_parse_of_recurrent_layers_with_quantizer_activations(name):
  kwargs = {"activation": quantized_tanh(4, use_real_tanh=True)}
  if name != "QSimpleRNN":
    kwargs["recurrent_activation"] = quantized_sigmoid(
        4, use_real_sigmoid=True)
  layer = getattr(qkeras, name)(3, kernel_quantizer=q4(), **kwargs)
  _, parsed, _, _ = _parse(layer, (4, 2))
  assert parsed["activation"] == "tanh"
  assert parsed["activation_quantizer"]["config"]["bits"] == 4
  if name != "QSimpleRNN":
    assert parsed["recurrent_activation"] == "sigmoid"
