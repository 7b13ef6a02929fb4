"""The Q-layer base (qkeras.qlayers.QLayerMixin): one construction path.

Every Q-layer declares its quantizer layout once; the base builds the layer
and generates get_config/from_config/get_quantization_config from it. These
tests pin the public surface the declaration must reproduce: the explicit
signatures, config round trips, upstream's get_quantization_config keys
(quirks included), get_quantizers() order, set_quantizer, and
QBatchNormalization's quantized inference parameters.
"""

import inspect

import keras
import numpy as np
import pytest

from qkeras import QActivation, QAdaptiveActivation, QDense
from qkeras.qconv2d_batchnorm import QConv2DBatchnorm
from qkeras.qconvolutional import (QConv1D, QConv2D, QConv2DTranspose,
                                   QDepthwiseConv2D, QMobileNetSeparableConv2D,
                                   QSeparableConv1D, QSeparableConv2D)
from qkeras.qdense_batchnorm import QDenseBatchnorm
from qkeras.qdepthwise_conv2d_transpose import QDepthwiseConv2DTranspose
from qkeras.qdepthwiseconv2d_batchnorm import QDepthwiseConv2DBatchnorm
from qkeras.qlayers import QLayerMixin
from qkeras.qmac import QScaleShift
from qkeras.qnormalization import QBatchNormalization
from qkeras.qpooling import QAveragePooling2D, QGlobalAveragePooling2D
from qkeras.qrecurrent import (QBidirectional, QGRU, QGRUCell, QLSTM,
                               QLSTMCell, QSimpleRNN, QSimpleRNNCell)
from qkeras.qseparable_conv2d_transpose import QSeparableConv2DTranspose
from qkeras.quantizers import quantized_bits

Q4 = "quantized_bits(4, 0, 1)"
ACT = "quantized_relu(4)"

# The parameter names of every Q-layer, captured before the base owned
# construction (the public API: they must not change).
# QSeparableConv1D and QSeparableConv2D take the same arguments.
_SEPARABLE_SIGNATURE = """
        filters kernel_size strides padding data_format dilation_rate
        depth_multiplier activation use_bias depthwise_initializer
        pointwise_initializer bias_initializer depthwise_regularizer
        pointwise_regularizer bias_regularizer activity_regularizer
        depthwise_constraint pointwise_constraint bias_constraint
        depthwise_quantizer pointwise_quantizer bias_quantizer
        depthwise_activation kwargs"""

SIGNATURES = {
    "QActivation": """
        activation kwargs""",
    "QAdaptiveActivation": """
        activation total_bits current_step symmetric quantization_delay
        ema_freeze_delay ema_decay per_channel po2_rounding relu_neg_slope
        relu_upper_bound kwargs""",
    "QAveragePooling2D": """
        pool_size strides padding data_format average_quantizer activation
        kwargs""",
    "QBatchNormalization": """
        axis momentum epsilon center scale activation beta_initializer
        gamma_initializer moving_mean_initializer
        moving_variance_initializer beta_regularizer gamma_regularizer
        beta_quantizer gamma_quantizer mean_quantizer variance_quantizer
        inverse_quantizer gamma_constraint beta_constraint beta_range
        gamma_range kwargs""",
    "QBidirectional": """
        layer merge_mode weights backward_layer kwargs""",
    "QConv1D": """
        filters kernel_size strides padding dilation_rate activation
        use_bias kernel_initializer bias_initializer kernel_regularizer
        bias_regularizer activity_regularizer kernel_constraint
        bias_constraint kernel_quantizer bias_quantizer kernel_range
        bias_range kwargs""",
    "QConv2D": """
        filters kernel_size strides padding data_format dilation_rate
        activation use_bias kernel_initializer bias_initializer
        kernel_regularizer bias_regularizer activity_regularizer
        kernel_constraint bias_constraint kernel_range bias_range
        kernel_quantizer bias_quantizer mask kwargs""",
    "QConv2DBatchnorm": """
        filters kernel_size strides padding data_format dilation_rate
        activation use_bias kernel_initializer bias_initializer
        kernel_regularizer bias_regularizer activity_regularizer
        kernel_constraint bias_constraint kernel_quantizer bias_quantizer
        axis momentum epsilon center scale beta_initializer
        gamma_initializer moving_mean_initializer
        moving_variance_initializer beta_regularizer gamma_regularizer
        beta_constraint gamma_constraint renorm renorm_clipping
        renorm_momentum fused trainable virtual_batch_size adjustment
        ema_freeze_delay folding_mode kwargs""",
    "QConv2DTranspose": """
        filters kernel_size strides padding output_padding data_format
        dilation_rate activation use_bias kernel_initializer
        bias_initializer kernel_regularizer bias_regularizer
        activity_regularizer kernel_constraint bias_constraint
        kernel_quantizer bias_quantizer kwargs""",
    "QDense": """
        units activation use_bias kernel_initializer bias_initializer
        kernel_regularizer bias_regularizer activity_regularizer
        kernel_constraint bias_constraint kernel_quantizer bias_quantizer
        kernel_range bias_range kwargs""",
    "QDenseBatchnorm": """
        units activation use_bias kernel_initializer bias_initializer
        kernel_regularizer bias_regularizer activity_regularizer
        kernel_constraint bias_constraint kernel_quantizer bias_quantizer
        kernel_range bias_range axis momentum epsilon center scale
        beta_initializer gamma_initializer moving_mean_initializer
        moving_variance_initializer beta_regularizer gamma_regularizer
        beta_constraint gamma_constraint ema_freeze_delay folding_mode
        kwargs""",
    "QDepthwiseConv2D": """
        kernel_size strides padding depth_multiplier data_format
        activation use_bias depthwise_initializer bias_initializer
        depthwise_regularizer bias_regularizer activity_regularizer
        depthwise_constraint bias_constraint dilation_rate
        depthwise_quantizer bias_quantizer depthwise_range bias_range
        kwargs""",
    "QDepthwiseConv2DBatchnorm": """
        kernel_size strides padding depth_multiplier data_format
        activation use_bias depthwise_initializer bias_initializer
        depthwise_regularizer bias_regularizer activity_regularizer
        depthwise_constraint bias_constraint dilation_rate
        depthwise_quantizer bias_quantizer depthwise_range bias_range axis
        momentum epsilon center scale beta_initializer gamma_initializer
        moving_mean_initializer moving_variance_initializer
        beta_regularizer gamma_regularizer beta_constraint
        gamma_constraint renorm renorm_clipping renorm_momentum fused
        trainable virtual_batch_size adjustment ema_freeze_delay
        folding_mode kwargs""",
    "QDepthwiseConv2DTranspose": """
        filters kernel_size group_size strides padding output_padding
        depth_multiplier depthwise_activation use_bias
        depthwise_kernel_quantizer bias_quantizer kwargs""",
    "QGRU": """
        units activation recurrent_activation use_bias kernel_initializer
        recurrent_initializer bias_initializer kernel_regularizer
        recurrent_regularizer bias_regularizer activity_regularizer
        kernel_constraint recurrent_constraint bias_constraint
        kernel_quantizer recurrent_quantizer bias_quantizer
        state_quantizer dropout recurrent_dropout implementation
        return_sequences return_state go_backwards stateful unroll
        reset_after kwargs""",
    "QGRUCell": """
        units activation recurrent_activation use_bias kernel_initializer
        recurrent_initializer bias_initializer kernel_regularizer
        recurrent_regularizer bias_regularizer kernel_constraint
        recurrent_constraint bias_constraint kernel_quantizer
        recurrent_quantizer bias_quantizer state_quantizer dropout
        recurrent_dropout implementation reset_after kwargs""",
    "QGlobalAveragePooling2D": """
        data_format average_quantizer activation kwargs""",
    "QLSTM": """
        units activation recurrent_activation use_bias kernel_initializer
        recurrent_initializer bias_initializer unit_forget_bias
        kernel_regularizer recurrent_regularizer bias_regularizer
        activity_regularizer kernel_constraint recurrent_constraint
        bias_constraint kernel_quantizer recurrent_quantizer
        bias_quantizer state_quantizer dropout recurrent_dropout
        implementation return_sequences return_state go_backwards stateful
        unroll kwargs""",
    "QLSTMCell": """
        units activation recurrent_activation use_bias kernel_initializer
        recurrent_initializer bias_initializer unit_forget_bias
        kernel_regularizer recurrent_regularizer bias_regularizer
        kernel_constraint recurrent_constraint bias_constraint
        kernel_quantizer recurrent_quantizer bias_quantizer
        state_quantizer dropout recurrent_dropout implementation kwargs""",
    "QMobileNetSeparableConv2D": """
        filters kernel_size strides padding dilation_rate depth_multiplier
        activation use_bias depthwise_initializer pointwise_initializer
        bias_initializer depthwise_regularizer pointwise_regularizer
        bias_regularizer activity_regularizer depthwise_constraint
        pointwise_constraint bias_constraint depthwise_quantizer
        pointwise_quantizer bias_quantizer depthwise_activation
        depthwise_range pointwise_range bias_range depthwise_dropout_rate
        pw_first name""",
    "QScaleShift": """
        weight_quantizer bias_quantizer use_bias activation
        weight_initializer weight_regularizer bias_initializer
        bias_regularizer kwargs""",
    "QSeparableConv1D": _SEPARABLE_SIGNATURE,
    "QSeparableConv2D": _SEPARABLE_SIGNATURE,
    "QSeparableConv2DTranspose": """
        filters kernel_size strides padding output_padding
        depth_multiplier depthwise_activation pointwise_activation
        use_bias depthwise_kernel_quantizer pointwise_kernel_quantizer
        bias_quantizer kwargs""",
    "QSimpleRNN": """
        units activation use_bias kernel_initializer recurrent_initializer
        bias_initializer kernel_regularizer recurrent_regularizer
        bias_regularizer activity_regularizer kernel_constraint
        recurrent_constraint bias_constraint kernel_quantizer
        recurrent_quantizer bias_quantizer state_quantizer dropout
        recurrent_dropout return_sequences return_state go_backwards
        stateful unroll kwargs""",
    "QSimpleRNNCell": """
        units activation use_bias kernel_initializer recurrent_initializer
        bias_initializer kernel_regularizer recurrent_regularizer
        bias_regularizer kernel_constraint recurrent_constraint
        bias_constraint kernel_quantizer recurrent_quantizer
        bias_quantizer state_quantizer dropout recurrent_dropout kwargs""",
}

CLASSES = {cls.__name__: cls for cls in (
    QDense, QConv1D, QConv2D, QConv2DTranspose, QDepthwiseConv2D,
    QSeparableConv1D, QSeparableConv2D, QSimpleRNNCell, QLSTMCell, QGRUCell,
    QSimpleRNN, QLSTM, QGRU, QBidirectional, QConv2DBatchnorm,
    QDepthwiseConv2DBatchnorm, QDenseBatchnorm, QBatchNormalization,
    QAveragePooling2D, QGlobalAveragePooling2D, QActivation,
    QAdaptiveActivation, QScaleShift, QDepthwiseConv2DTranspose,
    QSeparableConv2DTranspose, QMobileNetSeparableConv2D)}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature_unchanged(name):
  parameters = list(inspect.signature(CLASSES[name]).parameters)
  assert parameters == SIGNATURES[name].split()


def _instances():
  """One representative instance of every Q-layer built by the base."""
  return {
      "QDense": lambda: QDense(3, kernel_quantizer=Q4, bias_quantizer=Q4,
                               activation=ACT, kernel_range=1.0),
      "QConv1D": lambda: QConv1D(2, 3, kernel_quantizer=Q4, activation=ACT),
      "QConv2D": lambda: QConv2D(2, 3, kernel_quantizer=Q4, bias_quantizer=Q4,
                                 mask=[[1, 0, 1], [1, 1, 1], [0, 1, 1]]),
      "QConv2DTranspose": lambda: QConv2DTranspose(2, 3, kernel_quantizer=Q4),
      "QDepthwiseConv2D": lambda: QDepthwiseConv2D(
          3, depthwise_quantizer=Q4, bias_quantizer=Q4, activation=ACT),
      "QSeparableConv1D": lambda: QSeparableConv1D(
          2, 3, depthwise_quantizer=Q4, pointwise_quantizer=Q4,
          depthwise_activation=ACT),
      "QSeparableConv2D": lambda: QSeparableConv2D(
          2, 3, depthwise_quantizer=Q4, bias_quantizer=Q4),
      "QSimpleRNNCell": lambda: QSimpleRNNCell(3, kernel_quantizer=Q4,
                                               state_quantizer=Q4),
      "QLSTMCell": lambda: QLSTMCell(3, recurrent_quantizer=Q4,
                                     implementation=2),
      "QGRUCell": lambda: QGRUCell(3, kernel_quantizer=Q4, reset_after=True),
      "QConv2DBatchnorm": lambda: QConv2DBatchnorm(
          2, 3, kernel_quantizer=Q4, ema_freeze_delay=5),
      "QDepthwiseConv2DBatchnorm": lambda: QDepthwiseConv2DBatchnorm(
          3, depthwise_quantizer=Q4, folding_mode="batch_stats_folding"),
      "QDenseBatchnorm": lambda: QDenseBatchnorm(3, kernel_quantizer=Q4,
                                                 momentum=0.9),
      "QBatchNormalization": lambda: QBatchNormalization(activation=ACT),
      "QAveragePooling2D": lambda: QAveragePooling2D(average_quantizer=Q4,
                                                     activation=ACT),
      "QGlobalAveragePooling2D": lambda: QGlobalAveragePooling2D(
          average_quantizer=Q4),
      "QActivation": lambda: QActivation(ACT),
      "QScaleShift": lambda: QScaleShift(weight_quantizer=Q4,
                                         bias_quantizer=Q4, activation=ACT),
      "QDepthwiseConv2DTranspose": lambda: QDepthwiseConv2DTranspose(
          4, 3, group_size=2, depthwise_kernel_quantizer=Q4,
          depthwise_activation=ACT),
      "QSeparableConv2DTranspose": lambda: QSeparableConv2DTranspose(
          4, 3, depthwise_kernel_quantizer=Q4, pointwise_activation=ACT),
  }


@pytest.mark.filterwarnings("ignore:kernel_range is deprecated")
@pytest.mark.parametrize("name", sorted(_instances()))
def test_every_layer_is_built_by_the_base_and_round_trips(name):
  layer = _instances()[name]()
  assert isinstance(layer, QLayerMixin)
  config = layer.get_config()
  clone = type(layer).from_config(config)
  assert clone.get_config() == config
  assert [str(q) for q in clone.get_quantizers()] == [
      str(q) for q in layer.get_quantizers()]
  for quantizer_name in type(layer)._quantizer_names:
    assert config[quantizer_name] == keras.saving.serialize_keras_object(
        getattr(layer, quantizer_name + "_internal"))


def test_get_quantization_config_literals():
  dense = QDense(3, kernel_quantizer=quantized_bits(4, 0, 1),
                 bias_quantizer="quantized_bits(6,2,1)", activation=ACT)
  assert dense.get_quantization_config() == {
      "kernel_quantizer": "quantized_bits(4,0,1,alpha='auto_po2')",
      "bias_quantizer": "quantized_bits(6,2,1)",
      "activation": "quantized_relu(4,0)", "units": "3"}
  depthwise = QDepthwiseConv2D(3, depthwise_quantizer=Q4, bias_quantizer=Q4,
                               activation=ACT)
  # Upstream's quirks: the attribute name as key and filters "None".
  assert depthwise.get_quantization_config() == {
      "depthwise_quantizer_internal": "quantized_bits(4,0,1,alpha='auto_po2')",
      "bias_quantizer": "quantized_bits(4,0,1)",
      "activation": "quantized_relu(4,0)", "filters": "None"}
  folded = QDepthwiseConv2DBatchnorm(3, depthwise_quantizer=Q4,
                                     bias_quantizer=Q4, activation=ACT)
  assert list(folded.get_quantization_config().items()) == [
      ("bias_quantizer", "quantized_bits(4,0,1)"),
      ("activation", "quantized_relu(4,0)"), ("filters", "None"),
      ("depthwise_quantizer", "quantized_bits(4,0,1,alpha='auto_po2')")]
  pooling = QAveragePooling2D(average_quantizer=Q4, activation=ACT)
  assert pooling.get_quantization_config() == {
      "average_quantizer": "quantized_bits(4,0,1)",
      "activation": "quantized_relu(4,0)"}
  scale_shift = QScaleShift(weight_quantizer=Q4, bias_quantizer=Q4,
                            activation=ACT)
  assert scale_shift.get_quantization_config() == {
      "weight_quantizer": "quantized_bits(4,0,1,alpha='auto_po2')",
      "bias_quantizer": "quantized_bits(4,0,1,alpha='auto_po2')",
      "activation": "quantized_relu(4,0)"}
  lstm = QLSTM(3, kernel_quantizer=Q4, bias_quantizer=Q4)
  assert list(lstm.get_quantization_config()) == [
      "kernel_quantizer", "recurrent_quantizer", "bias_quantizer",
      "state_quantizer", "activation", "recurrent_activation"]
  assert QActivation(ACT).get_quantization_config() == ACT


@pytest.mark.parametrize("name", [
    "QSeparableConv2D", "QBatchNormalization", "QSimpleRNNCell",
    "QDepthwiseConv2DTranspose", "QSeparableConv2DTranspose"])
def test_no_quantization_config_where_upstream_has_none(name):
  # autoqkeras lists the layers that have the method (hasattr).
  assert not hasattr(_instances()[name](), "get_quantization_config")


def test_get_quantizers_order():
  layer = QSeparableConv2DTranspose(
      4, 3, depthwise_kernel_quantizer=Q4, pointwise_kernel_quantizer=Q4,
      bias_quantizer=Q4, depthwise_activation=ACT, pointwise_activation=ACT)
  assert layer.get_quantizers() == [
      layer.depthwise_kernel_quantizer_internal,
      layer.pointwise_kernel_quantizer_internal, layer.bias_quantizer_internal,
      layer.depthwise_activation, layer.pointwise_activation]
  bn = QBatchNormalization()
  assert bn.get_quantizers() == [
      getattr(bn, n + "_internal") for n in (
          "gamma_quantizer", "beta_quantizer", "mean_quantizer",
          "variance_quantizer", "inverse_quantizer")]
  cell = QLSTMCell(2, kernel_quantizer=Q4, state_quantizer=Q4)
  assert cell.get_quantizers() == [
      cell.kernel_quantizer_internal, None, None, cell.state_quantizer_internal]


def test_set_quantizer_on_other_layers():
  layer = QDepthwiseConv2DTranspose(4, 3, depthwise_kernel_quantizer=Q4,
                                    depthwise_activation=ACT)
  layer.set_quantizer("bias_quantizer", "quantized_bits(8, 0, 1)")
  assert layer.get_quantizers()[1] is layer.bias_quantizer_internal
  assert layer.get_quantizers()[2] is layer.depthwise_activation
  pooling = QGlobalAveragePooling2D()
  pooling.set_quantizer("average_quantizer", Q4)
  assert pooling.get_config()["average_quantizer"]["class_name"] == (
      "quantized_bits")
  with pytest.raises(ValueError, match="no quantizer 'depthwise_activation'"):
    layer.set_quantizer("depthwise_activation", None)


def test_declaration_errors_name_layer_and_argument():
  with pytest.raises(ValueError, match=r"QScaleShift\(name='s'\): argument "
                     "'weight_quantizer'"):
    QScaleShift(weight_quantizer="quantized_bits(", name="s")
  with pytest.raises(ValueError, match="'pointwise_quantizer'.*not allowed"):
    QConv2DTranspose(2, 3, pointwise_quantizer=Q4)


def test_range_warning_names_the_callers_line():
  with pytest.warns(UserWarning, match="kernel_range is deprecated") as record:
    QDenseBatchnorm(3, kernel_quantizer=Q4, kernel_range=1.0)
  assert record[0].filename == __file__


@pytest.mark.parametrize("kwargs", [
    {}, {"center": False}, {"scale": False, "gamma_quantizer": None},
    {"gamma_quantizer": None, "variance_quantizer": None,
     "inverse_quantizer": "quantized_bits(6, 2, 1)"}])
def test_batchnorm_inference_scale_offset_is_call(kwargs):
  layer = QBatchNormalization(**kwargs)
  rng = np.random.default_rng(3)
  x = rng.normal(size=(4, 5)).astype("float32")
  layer.build(x.shape)
  for weight in layer.weights:
    shape = tuple(weight.shape)
    weight.assign(rng.uniform(0.25, 2.0, size=shape).astype("float32"))
  inv, offset = layer.inference_scale_offset()
  expected = keras.ops.convert_to_numpy(
      keras.ops.convert_to_tensor(x) * inv + offset)
  np.testing.assert_array_equal(
      keras.ops.convert_to_numpy(layer(x, training=False)), expected)
  q_inv, beta, mean = layer.quantized_parameters()
  assert (beta is None) == (not layer.center)
  np.testing.assert_array_equal(keras.ops.convert_to_numpy(q_inv),
                                keras.ops.convert_to_numpy(inv))
  from qkeras import _export  # pylint: disable=g-import-not-at-top
  e_inv, e_beta, e_mean = _export.bn_inverse(layer)
  assert e_inv.dtype == e_beta.dtype == e_mean.dtype == np.float32
  np.testing.assert_array_equal(e_inv, keras.ops.convert_to_numpy(inv))
  np.testing.assert_array_equal(e_mean, keras.ops.convert_to_numpy(mean))
  if beta is None:
    np.testing.assert_array_equal(e_beta, np.zeros(5, np.float32))
