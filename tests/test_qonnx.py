# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QONNX export (qkeras.qonnx, docs/qonnx.md): the exported graph passes
``onnx.checker`` and qonnx's own executor (after its cleanup and shape
inference) computes what ``model.predict`` computes, bit for bit, on inputs
on the input quantizer's grid."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("qonnx")

# pylint: disable=g-import-not-at-top,wrong-import-position
import keras
import qkeras
from qkeras import QActivation, QBatchNormalization, QConv1D, QConv2D
from qkeras import QDense, QDepthwiseConv2D, QSeparableConv1D
from qkeras import QSeparableConv2D, binary, quantized_bits, quantized_relu
from qkeras import ternary
from qkeras.qonnx import to_qonnx

from qonnx_run import run_qonnx

SAMPLES = 64


def q(bits, integer):
  return quantized_bits(bits, integer, alpha=1)


def grid_inputs(shape, seed=0):
  """Inputs in [-2, 2) on the 2**-10 grid."""
  x = np.random.RandomState(seed).uniform(-2, 2, (SAMPLES,) + shape)
  return (np.round(x * 1024) / 1024).astype(np.float32)


def randomize(model, seed=3):
  """Weights in [-1, 1] (kernels of 2-D dense layers centred), biases in
  [-1/4, 1/4], batch-norm variances in [0.5, 2]."""
  rs = np.random.RandomState(seed)
  for layer in model.layers:
    weights = []
    for w in layer.trainable_weights + layer.non_trainable_weights:
      if w.name == "iteration":
        weights.append(np.full(w.shape, -1, w.dtype))
        continue
      low, high = (0.5, 2.0) if "variance" in w.name else (-1.0, 1.0)
      value = rs.uniform(low, high, w.shape)
      if w.name == "kernel" and len(w.shape) == 2:
        value = value - value.mean(axis=0)
      if w.name == "bias":
        value = value / 4
      weights.append(value.astype(np.float32))
    if weights:
      layer.set_weights(weights)
  return model


def assert_exported_exactly(model, seed=0):
  x = grid_inputs(tuple(model.inputs[0].shape[1:]), seed)
  proto = to_qonnx(model, input_shape=x.shape)
  onnx.checker.check_model(proto)
  expected = model.predict(x, verbose=0)
  got = run_qonnx(proto, x)
  assert len(np.unique(expected)) > 10  # the model is not trivial
  np.testing.assert_array_equal(got, expected)
  return proto


def op_types(proto):
  return [node.op_type for node in proto.graph.node]


def jet_mlp(kernel):
  x = x_in = keras.Input((16,), name="features")
  x = QActivation(q(10, 2), name="input_q")(x)
  for i, units in enumerate((64, 32, 32)):
    x = QDense(units, kernel_quantizer=kernel, bias_quantizer=kernel,
               name=f"fc{i + 1}")(x)
    x = QActivation(quantized_relu(6, 2), name=f"relu{i + 1}")(x)
  x = QDense(5, kernel_quantizer=kernel, bias_quantizer=kernel,
             name="output")(x)
  x = QActivation(q(12, 4), name="logits")(x)
  return randomize(keras.Model(x_in, x))


@pytest.mark.parametrize("kernel", ["quantized_bits(6, 0, 1)",
                                    "quantized_bits(6, 0, alpha=1)"])
def test_jet_tagging_mlp(kernel):
  proto = assert_exported_exactly(jet_mlp(kernel))
  types = op_types(proto)
  assert types.count("MatMul") == 4
  # 4 kernels + 4 biases + 5 activations.
  assert types.count("Quant") == 13


def test_cnn_with_batchnorm_and_pooling():
  x = x_in = keras.Input((8, 8, 2), name="inp")
  x = QActivation(q(8, 2), name="inp_q")(x)
  x = QConv2D(4, 3, padding="same", kernel_quantizer="quantized_bits(4,0,1)",
              bias_quantizer=q(4, 0), name="conv1")(x)
  x = QBatchNormalization(gamma_quantizer=None, variance_quantizer=None,
                          inverse_quantizer=q(6, 2), beta_quantizer=q(6, 2),
                          mean_quantizer=q(6, 2), name="bn")(x)
  x = QActivation(quantized_relu(6, 2), name="relu1")(x)
  x = keras.layers.MaxPooling2D(2, name="maxpool")(x)
  x = QConv2D(4, 2, strides=2, kernel_quantizer=q(4, 0),
              bias_quantizer=q(4, 0), activation=quantized_relu(6, 2),
              name="conv2")(x)
  x = qkeras.QAveragePooling2D(2, average_quantizer=q(8, 0), name="avg")(x)
  x = QActivation(q(10, 3), name="avg_q")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  x = QDense(5, kernel_quantizer=q(4, 0), bias_quantizer=q(4, 0),
             activation=q(10, 4), name="out")(x)
  proto = assert_exported_exactly(randomize(keras.Model(x_in, x)))
  assert op_types(proto).count("Conv") == 2


def test_depthwise_separable_blocks():
  x = x_in = keras.Input((9, 9, 3), name="inp")
  x = QActivation(q(8, 2), name="inp_q")(x)
  x = QDepthwiseConv2D(3, depth_multiplier=2,
                       depthwise_quantizer="quantized_bits(4,0,1)",
                       bias_quantizer=q(4, 0), name="dw")(x)
  x = QActivation(quantized_relu(6, 2), name="dw_relu")(x)
  x = QSeparableConv2D(4, 3, padding="same",
                       depthwise_quantizer="quantized_bits(4,0,1)",
                       pointwise_quantizer="quantized_bits(4,0,1)",
                       bias_quantizer=q(4, 0),
                       depthwise_activation=q(8, 3), name="sep2d")(x)
  x = QActivation(q(8, 3), name="sep2d_q")(x)
  x = keras.layers.Reshape((49, 4), name="reshape")(x)
  x = QConv1D(3, 3, strides=2, kernel_quantizer=q(4, 0),
              bias_quantizer=q(4, 0), activation=quantized_relu(6, 2),
              name="conv1d")(x)
  x = QSeparableConv1D(3, 2, padding="same", depth_multiplier=2,
                       depthwise_quantizer=q(4, 0),
                       pointwise_quantizer=q(4, 0), bias_quantizer=q(4, 0),
                       activation=q(10, 4), name="sep1d")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  assert_exported_exactly(randomize(keras.Model(x_in, x)))


def test_merges_global_pooling_and_keras_activations():
  x = x_in = keras.Input((6, 6, 2), name="inp")
  x = QActivation(q(8, 2), name="inp_q")(x)
  a = QConv2D(3, 3, padding="same", kernel_quantizer=q(4, 0),
              bias_quantizer=q(4, 0), activation="relu", name="a")(x)
  b = QConv2D(3, 1, kernel_quantizer=q(4, 0), bias_quantizer=q(4, 0),
              name="b")(x)
  x = keras.layers.Add(name="add")([a, b])
  x = keras.layers.Concatenate(name="concat")([x, b])
  x = QActivation(q(8, 3), name="merged_q")(x)
  x = qkeras.QGlobalAveragePooling2D(average_quantizer=q(8, 0),
                                     name="gap")(x)
  x = keras.layers.Activation("linear", name="lin")(x)
  x = QActivation(q(10, 3), name="out")(x)
  assert_exported_exactly(randomize(keras.Model(x_in, x)))


def test_folded_batchnorm_layers():
  x = x_in = keras.Input((6, 6, 2), name="inp")
  x = QActivation(q(8, 2), name="inp_q")(x)
  x = qkeras.QConv2DBatchnorm(3, 3, kernel_quantizer="quantized_bits(4,0,1)",
                              bias_quantizer=q(8, 3), name="conv_bn")(x)
  x = QActivation(q(8, 3), name="conv_q")(x)
  x = qkeras.QDepthwiseConv2DBatchnorm(
      2, depthwise_quantizer="quantized_bits(4,0,1)", bias_quantizer=q(8, 3),
      name="dw_bn")(x)
  x = QActivation(q(8, 3), name="dw_q")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  x = qkeras.QDenseBatchnorm(4, kernel_quantizer="quantized_bits(4,0,1)",
                             bias_quantizer=q(8, 3), name="dense_bn")(x)
  x = QActivation(q(10, 4), name="out")(x)
  model = randomize(keras.Model(x_in, x))
  for layer in model.layers:  # variances in [0.5, 2], gammas positive
    if "_bn" in layer.name:
      weights = layer.get_weights()
      layer.set_weights([np.abs(w) + 0.5 if w.ndim == 1 else w
                         for w in weights])
  assert_exported_exactly(model)


# (quantizer as an activation, expected QONNX node types after the input
# quantizer)
ACTIVATIONS = {
    "quantized_bits": (q(6, 2), ["Quant"]),
    "quantized_bits_unsigned": (quantized_bits(6, 2, keep_negative=False,
                                               alpha=1), ["Quant"]),
    "quantized_bits_symmetric": (quantized_bits(6, 2, symmetric=1, alpha=1),
                                 ["Quant"]),
    "quantized_bits_alpha": (quantized_bits(6, 2, alpha=0.75),
                             ["Quant", "Mul"]),
    "quantized_bits_1bit": (quantized_bits(1, 0, alpha=1), ["BipolarQuant"]),
    "quantized_relu": (quantized_relu(4, 1), ["Relu", "Quant"]),
    "quantized_relu_string": ("quantized_relu(6, 3)", ["Relu", "Quant"]),
    "binary": (binary(alpha=1), ["BipolarQuant"]),
    "binary_alpha": (binary(alpha=0.5), ["BipolarQuant"]),
    "ternary": (ternary(alpha=1, threshold=0.5), ["Quant"]),
    "ternary_alpha": (ternary(alpha=0.75, threshold=0.25), ["Quant", "Mul"]),
    "keras_relu": ("relu", ["Relu"]),
}


@pytest.mark.parametrize("case", sorted(ACTIVATIONS))
def test_activation_quantizers(case):
  activation, nodes = ACTIVATIONS[case]
  x = x_in = keras.Input((12,), name="inp")
  x = QActivation(q(8, 2), name="inp_q")(x)
  x = QDense(16, kernel_quantizer=q(4, 0), bias_quantizer=q(4, 0),
             name="fc")(x)
  x = QActivation(activation, name="act")(x)
  model = randomize(keras.Model(x_in, x))
  x = grid_inputs((12,))
  proto = to_qonnx(model, input_shape=x.shape)
  expected = model.predict(x, verbose=0)
  np.testing.assert_array_equal(run_qonnx(proto, x), expected)
  assert len(np.unique(expected)) >= 2
  assert op_types(proto)[-len(nodes):] == nodes


# Weight quantizers: the layer's quantized weights, then their node.
WEIGHTS = {
    "alpha1": ("quantized_bits(4, 0, alpha=1)", "Quant"),
    "auto_po2": ("quantized_bits(4, 0, 1)", "Quant"),
    "auto": ("quantized_bits(4, 0, 1, alpha='auto')", "Quant"),
    "alpha_list": ("quantized_bits(4, 0, 1, alpha=[0.5, 1, 2, 0.75, 1, 1])",
                   "Quant"),
    "unsigned": ("quantized_bits(4, 0, keep_negative=False, alpha=1)",
                 "Quant"),
    "binary_auto_po2": ("binary()", "BipolarQuant"),
    "binary_alpha1": ("binary(alpha=1)", "BipolarQuant"),
    "ternary_auto_po2": ("ternary()", "Quant"),
    "ternary_threshold": ("ternary(alpha=1, threshold=0.2)", "Quant"),
    "stochastic_ternary": ("stochastic_ternary()", "Quant"),
}


@pytest.mark.parametrize("case", sorted(WEIGHTS))
def test_weight_quantizers(case):
  kernel, node = WEIGHTS[case]
  x = x_in = keras.Input((12,), name="inp")
  x = QActivation(q(8, 2), name="inp_q")(x)
  x = QDense(6, kernel_quantizer=kernel, use_bias=False, name="fc")(x)
  model = randomize(keras.Model(x_in, x))
  layer = model.get_layer("fc")
  x = grid_inputs((12,))
  proto = to_qonnx(model, input_shape=x.shape)
  got, expected = run_qonnx(proto, x), model.predict(x, verbose=0)
  if case == "auto":
    # alpha="auto" scales are not powers of two: the products have up to 24
    # significant bits and the sums round, in each backend's own order
    # (JAX's differs from onnxruntime's by an ulp); the weights are exact.
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
  else:
    np.testing.assert_array_equal(got, expected)
  # The initializer holds the quantized weights; its node follows it.
  initializers = {i.name: onnx.numpy_helper.to_array(i)
                  for i in proto.graph.initializer}
  matmul = next(n for n in proto.graph.node if n.op_type == "MatMul")
  weight_node = next(n for n in proto.graph.node
                     if n.output[0] == matmul.input[1])
  assert weight_node.op_type == node
  np.testing.assert_array_equal(
      initializers[weight_node.input[0]],
      keras.ops.convert_to_numpy(layer.kernel_quantizer_internal(
          layer.kernel)))


UNSUPPORTED = {
    "po2_activation": (lambda: QActivation(qkeras.quantized_po2(4),
                                           name="lay"),
                       r"lay: quantized_po2.*no exact QONNX form"),
    "tanh_activation": (lambda: QActivation(qkeras.quantized_tanh(4),
                                            name="lay"),
                        r"lay: quantized_tanh.*no exact QONNX form"),
    "auto_activation": (lambda: QActivation(
        quantized_bits(4, 0, alpha="auto_po2"), name="lay"),
                        r"lay: .*alpha='auto_po2' computes its scale from "
                        r"the data.*use alpha=1"),
    "ternary_threshold": (lambda: QActivation(ternary(alpha=1), name="lay"),
                          r"lay: .*threshold 0.33 is not a power of two"),
    "leaky_relu": (lambda: QActivation(
        quantized_relu(4, 1, negative_slope=0.25), name="lay"),
                   r"lay: .*negative_slope"),
    "keras_tanh": (lambda: QDense(4, activation="tanh", name="lay"),
                   r"lay: activation 'tanh' has no exact QONNX form"),
    "po2_kernel": (lambda: QDense(4, kernel_quantizer="quantized_po2(4)",
                                  name="lay"),
                   r"lay: kernel_quantizer=quantized_po2.*no exact QONNX "
                   r"form"),
    "qnoise": (lambda: QActivation(quantized_bits(4, 0, alpha=1,
                                                  qnoise_factor=0.5),
                                   name="lay"), r"lay: .*qnoise_factor"),
    "layer": (lambda: qkeras.QConv2DTranspose(2, 2, name="lay"),
              r"lay: to_qonnx has no QONNX form for QConv2DTranspose"),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_unsupported_settings_fail_with_a_message(case):
  make, message = UNSUPPORTED[case]
  shape = (4, 4, 2) if case == "layer" else (8,)
  x = x_in = keras.Input(shape, name="inp")
  model = keras.Model(x_in, make()(x))
  with pytest.raises(ValueError, match=message):
    to_qonnx(model)


def test_input_shape_and_file(tmp_path):
  model = jet_mlp("quantized_bits(6, 0, 1)")
  path = tmp_path / "jet.onnx"
  proto = to_qonnx(model, path)
  dims = [d.dim_value for d in
          proto.graph.input[0].type.tensor_type.shape.dim]
  assert dims == [1, 16]  # FINN's batch of one by default
  assert onnx.load(str(path)) == proto
  with pytest.raises(ValueError, match=r"input_shape must give all 2 "
                     r"dimensions"):
    to_qonnx(model, input_shape=(16,))
  with pytest.raises(ValueError, match=r"agree with it"):
    to_qonnx(model, input_shape=(1, 15))


def test_import_qkeras_does_not_import_onnx():
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  out = subprocess.run(
      [sys.executable, "-c", "import sys, qkeras, qkeras.utils; print("
       "sorted(m for m in ('onnx', 'qonnx', 'onnxruntime', 'qkeras.qonnx') "
       "if m in sys.modules))"],
      env=dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3"),
      capture_output=True, text=True, check=True).stdout
  assert out.strip().splitlines()[-1] == "[]"


def test_sequential_and_nested_models():
  inner = keras.Sequential([
      keras.Input((12,)),
      QDense(8, kernel_quantizer="quantized_bits(4,0,1)",
             bias_quantizer=q(4, 0), activation=quantized_relu(6, 2)),
  ], name="inner")
  model = keras.Sequential([keras.Input((12,)), QActivation(q(8, 2)), inner,
                            QDense(4, kernel_quantizer=q(4, 0),
                                   bias_quantizer=q(4, 0),
                                   activation=q(10, 4))])
  assert_exported_exactly(randomize(model))
