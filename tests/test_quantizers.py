"""Unit tests of qkeras.quantizers: reference values, behaviour, errors.

Expected values come from the QKeras reference (examples it quotes and values
derived from its formulas); the bit-for-bit comparison with outputs recorded
from QKeras 0.9 is in test_quantizers_golden.py.
"""

import json

import keras
from keras import ops
import numpy as np
import pytest

from multibackend import TENSORFLOW
from multibackend import TORCH
from multibackend import compiled
from multibackend import compiled_modes
from multibackend import gradient
from multibackend import np_out
from multibackend import stateful_compiled
from multibackend import tensor
import qkeras
from qkeras import quantizers as Q
from qkeras.quantizers import (bernoulli, binary, get_quantizer, quantized_bits,
                               quantized_hswish, quantized_linear,
                               quantized_po2, quantized_relu,
                               quantized_relu_po2, quantized_sigmoid,
                               quantized_tanh, quantized_ulaw, stochastic_binary,
                               stochastic_ternary, ternary)

F32 = np.float32
MATRIX = np.array([[0.23, 2.76, 0.1, 0.33], [0.53, 0.16, 0.3, 1.43]], F32)


def grad_of(q, x, training=None):
  return gradient(lambda v: q(v, training=training), x)


def fixed_point_reference(x, bits, integer, symmetric, keep_negative=True):
  """quantized_bits' fixed path in NumPy (round half to even)."""
  m = 2.0**(bits - keep_negative)
  m_i = 2.0**integer
  lo = keep_negative * (-m + symmetric)
  return (m_i * np.clip(np.round(x * m / m_i), lo, m - 1) / m).astype(F32)


# ----------------------------------------------------------------------------
# quantized_bits
# ----------------------------------------------------------------------------
class TestQuantizedBits:

  def test_saturation_and_symmetry(self):
    x = np.linspace(-2, 2, 33, dtype=F32)
    y = np_out(quantized_bits(4, 0, 1)(x))
    assert y.max() == 0.875 and y.min() == -0.875
    assert np_out(quantized_bits(4, 0, 0)(x)).min() == -1.0
    assert set(np_out(quantized_bits(2, 0, 1)(x)).tolist()) == {-0.5, 0, 0.5}
    assert np_out(quantized_bits(4, 6, 1)(F32(100.0))) == 56.0

  @pytest.mark.parametrize("bits,integer,symmetric,keep_negative",
                           [(4, 0, 1, True), (6, 2, 0, True), (8, 3, 1, True),
                            (5, 1, 0, False), (3, 0, 0, True),
                            (16, 4, 1, True)])
  def test_matches_formula_including_half_steps(self, bits, integer, symmetric,
                                                keep_negative):
    step = 2.0**(integer - bits + keep_negative)
    k = np.arange(-300, 300)
    x = np.concatenate([k * step, (k + 0.5) * step, k * step * 0.37]).astype(F32)
    y = np_out(quantized_bits(bits, integer, symmetric, keep_negative)(x))
    np.testing.assert_array_equal(
        y, fixed_point_reference(x, bits, integer, symmetric, keep_negative))

  def test_half_steps_round_to_even(self):
    q = quantized_bits(4, 0, 1)  # step 1/8
    x = np.array([1, 3, 5, -1, -3], F32) / 16  # exact half steps
    np.testing.assert_array_equal(np_out(q(x)),
                                  np.array([0, 2, 2, 0, -2], F32) / 8)

  def test_one_bit_is_sign_and_ignores_integer(self):
    x = np.array([-2.0, -0.1, 0.0, 0.3, 5.0], F32)
    np.testing.assert_array_equal(np_out(quantized_bits(1, 0)(x)),
                                  [-1, -1, 1, 1, 1])
    np.testing.assert_array_equal(np_out(quantized_bits(1, 3)(x)),
                                  [-1, -1, 1, 1, 1])

  def test_numeric_alpha_scales_output(self):
    x = np.array([0.3, -0.6, 0.9], F32)
    q = quantized_bits(4, 0, 1, alpha=0.5)
    np.testing.assert_array_equal(
        np_out(q(x)), F32(0.5) * fixed_point_reference(x, 4, 0, 1))
    assert q.scale == 0.5

  def test_array_alpha_is_a_per_channel_scale(self):
    # QKeras crashed on an ndarray alpha; here it scales per channel.
    x = np.array([[0.3, 0.3], [-0.6, -0.6]], F32)
    q = quantized_bits(4, 0, 1, alpha=[1.0, 2.0])
    np.testing.assert_array_equal(np_out(q(x)),
                                  [[0.25, 0.5], [-0.625, -1.25]])
    assert str(q) == "quantized_bits(4,0,1,alpha=[1. 2.])"
    assert str(get_quantizer(str(q))) == str(q)

  def test_auto_po2_reference_example(self):
    q = quantized_bits(4, 2, alpha="auto_po2")
    np.testing.assert_array_equal(
        np_out(q(MATRIX)),
        [[0.25, 3, 0.09375, 0.25], [0.4375, 0, 0.21875, 1.5]])
    np.testing.assert_array_equal(np_out(q.scale), [[0.125, 1, 0.0625, 0.5]])
    q0 = quantized_bits(4, 0, alpha="auto_po2")
    q0(MATRIX)
    np.testing.assert_array_equal(np_out(q0.scale), [[0.5, 4, 0.25, 2]])

  def test_auto_scale_is_max_based_with_half_away_rounding(self):
    q = quantized_bits(4, 0, alpha="auto")
    x = np.array([[0.7, -0.2], [-0.35, 0.1]], F32)
    y = np_out(q(x))
    levels = 2 * (2**3 - 1)
    s = np.max(np.abs(x), axis=0, keepdims=True) * 2 / levels
    z = np.sign(x) * np.minimum(np.floor(np.abs(x) / s + 0.5), levels / 2)
    np.testing.assert_allclose(y, (s * z).astype(F32), rtol=1e-6)
    np.testing.assert_allclose(np_out(q.scale), s * 8, rtol=1e-6)
    assert q.symmetric  # string alpha forces symmetric

  @pytest.mark.parametrize("alpha", ["auto", "auto_po2"])
  @pytest.mark.parametrize("cls", ["quantized_bits", "quantized_linear"])
  def test_all_zero_channel_gives_zeros_not_nan(self, cls, alpha):
    # A pruned (all-zero) kernel column: QKeras 0.9 returns 0 there.
    w = np.random.RandomState(0).randn(8, 4).astype(F32)
    w[:, 1] = 0
    q = quantized_bits(4, 0, 1, alpha=alpha) if cls == "quantized_bits" else (
        quantized_linear(4, 0, alpha=alpha))
    y = np_out(q(w))
    assert not np.isnan(y).any()
    np.testing.assert_array_equal(y[:, 1], np.zeros(8, F32))
    other = np.delete(np.arange(4), 1)
    np.testing.assert_array_equal(y[:, other], np_out(q(w[:, other])))

  def test_post_training_scale_freezes_the_auto_scale(self):
    x = np.random.RandomState(0).normal(size=(6, 5)).astype(F32)
    q = quantized_bits(6, 1, alpha="auto_po2")
    y = np_out(q(x))
    frozen = quantized_bits(6, 1, alpha="auto_po2",
                            post_training_scale=np_out(q.scale))
    np.testing.assert_array_equal(np_out(frozen(x)), y)
    np.testing.assert_array_equal(frozen.scale, np_out(q.scale))
    # Frozen means frozen: another input keeps the same scale.
    frozen(x * 10)
    np.testing.assert_array_equal(frozen.scale, np_out(q.scale))
    config = frozen.get_config()
    assert config["post_training_scale"] == np_out(q.scale).tolist()
    np.testing.assert_array_equal(
        np_out(quantized_bits.from_config(config)(x)), y)

  def test_elements_per_scale_groups_channels(self):
    x = np.random.RandomState(1).normal(size=(2, 4, 8)).astype(F32)
    q = quantized_bits(4, 0, alpha="auto_po2", scale_axis=[0, 1],
                       elements_per_scale=[2, 2])
    q(x)
    scale = np_out(q.scale)
    assert scale.shape == (2, 4, 1)
    assert len(np.unique(scale)) <= 2
    np.testing.assert_array_equal(scale[:, :2], np.broadcast_to(
        scale[:1, :1], (2, 2, 1)))
    np.testing.assert_array_equal(scale[:, 2:], np.broadcast_to(
        scale[:1, 2:3], (2, 2, 1)))
    with pytest.raises(ValueError, match="divide"):
      quantized_bits(4, 0, alpha="auto_po2", elements_per_scale=3)(x)

  def test_po2_exponent_bounds_clip_the_scale(self):
    x = np.random.RandomState(2).normal(size=(10, 6)).astype(F32)
    x[:, 0] *= 100
    x[:, 1] *= 1e-3
    q = quantized_bits(4, 0, alpha="auto_po2", min_po2_exponent=-3,
                       max_po2_exponent=1)
    q(x)
    scale = np_out(q.scale) / 2**3
    assert scale.min() >= 2.0**-3 and scale.max() <= 2.0**1

  def test_scale_axis_selects_the_scale_axis(self):
    x = np.random.RandomState(3).normal(size=(3, 5)).astype(F32)
    q = quantized_bits(4, 0, alpha="auto_po2", scale_axis=0)
    q(x)
    assert np_out(q.scale).shape == (3, 1)
    keras.config.set_image_data_format("channels_first")
    q = quantized_bits(4, 0, alpha="auto_po2")
    q(x)
    assert np_out(q.scale).shape == (3, 1)

  def test_qnoise_factor_reference_values(self):
    x = np.array([0.0, 0.5, -0.5, 0.6, -0.6, 2.0, -2.0], F32)
    xq = np.array([0, .5, -.5, .5, -.5, 1.75, -1.75], F32)
    for qn, expected in [(0.0, x), (1.0, xq), (0.5, x + F32(0.5) * (xq - x))]:
      q = quantized_bits(4, 1, 1, alpha=1, qnoise_factor=qn)
      np.testing.assert_array_equal(np_out(q(x)), expected)
      np.testing.assert_array_equal(
          np_out(quantized_bits(4, 1, 1, alpha=1, qnoise_factor=qn,
                                use_ste=False)(x)), expected)

  def test_gradients(self):
    x = np.array([-5.0, -0.3, 0.0, 0.4, 7.0], F32)
    np.testing.assert_array_equal(grad_of(quantized_bits(4, 0, 1), x),
                                  np.ones(5))
    np.testing.assert_array_equal(
        grad_of(quantized_bits(4, 0, 1, alpha="auto_po2"), x), np.ones(5))
    np.testing.assert_array_equal(
        grad_of(quantized_bits(4, 0, 1, use_ste=False, qnoise_factor=0.25), x),
        np.full(5, 0.75))
    np.testing.assert_array_equal(
        grad_of(quantized_bits(4, 0, 1, use_ste=False), x), np.zeros(5))

  def test_str_max_min_range(self):
    assert str(quantized_bits(4)) == "quantized_bits(4,0,0)"
    assert str(quantized_bits(4, 0, 1, alpha="auto")) == (
        "quantized_bits(4,0,1,alpha='auto')")
    assert str(quantized_bits(8, 3, 1, alpha=1.0)) == (
        "quantized_bits(8,3,1,alpha=1.0)")
    assert str(quantized_bits(4, 0, keep_negative=False,
                              use_stochastic_rounding=True)) == (
                                  "quantized_bits(4,0,0,keep_negative=False,"
                                  "use_stochastic_rounding=1)")
    for (bits, integer), bound in {(4, 0): 1, (4, 1): 2, (8, 2): 4,
                                   (1, 0): 1}.items():
      q = quantized_bits(bits, integer, 1)
      assert q.max() == bound and q.min() == -bound
    assert quantized_bits(4, 2, keep_negative=False).min() == 0.0
    np.testing.assert_array_equal(
        quantized_bits(3, 0).range(),
        [0, .25, .5, .75, -1, -.75, -.5, -.25])
    np.testing.assert_array_equal(
        quantized_bits(3, 1).range(), [0, .5, 1, 1.5, -2, -1.5, -1, -.5])
    with pytest.raises(ValueError, match="range"):
      quantized_bits(4, 0, 1).range()

  def test_set_trainable_parameter_switches_to_auto_po2(self):
    q = quantized_bits(4, 0, 0)
    q._set_trainable_parameter()  # pylint: disable=protected-access
    assert q.alpha == "auto_po2" and q.symmetric
    assert str(q) == "quantized_bits(4,0,1,alpha='auto_po2')"
    q = quantized_bits(4, 0, 1, alpha=1)
    q._set_trainable_parameter()  # pylint: disable=protected-access
    assert q.alpha == 1
    q = quantized_bits(1, 0)  # no levels to scale: stays a plain sign
    q._set_trainable_parameter()  # pylint: disable=protected-access
    assert q.alpha is None

  def test_integer_variable(self):
    q = quantized_bits(4, 1, 1, use_variables=True, var_name="myq")
    x = np.array([0.3, 1.9, -5.0], F32)
    y = np_out(q(x))
    assert isinstance(q.integer, keras.Variable)
    assert q.integer.path == "myq/integer"
    assert q.qnoise_factor.path == "myq/qnoise_factor"
    np.testing.assert_array_equal(y, fixed_point_reference(x, 4, 1, 1))
    assert str(q) == "quantized_bits(4,1,1)"
    q.integer.assign(2)
    np.testing.assert_array_equal(np_out(q(x)),
                                  fixed_point_reference(x, 4, 2, 1))
    assert q.get_config()["integer"] == 2


# ----------------------------------------------------------------------------
# quantized_linear (newer than the QKeras 0.9 wheel: reference values only)
# ----------------------------------------------------------------------------
class TestQuantizedLinear:

  def test_docstring_example(self):
    q = quantized_linear(2, alpha="auto")
    np.testing.assert_array_equal(
        np_out(q(np.array([0, .5, 1, 1.5, 2], F32))), [0, 0, 0, 2, 2])
    np.testing.assert_array_equal(np_out(q.scale), [4.0])
    np.testing.assert_array_equal(np_out(q.quantization_scale), [2.0])

  def test_fixed_matches_formula(self):
    x = np.linspace(-3, 3, 97, dtype=F32)
    q = quantized_linear(4, 1)  # symmetric=1 by default
    y = np_out(q(x))
    qs = 2.0**(1 - 4 + 1)
    np.testing.assert_array_equal(
        y, (qs * np.round(np.clip(x / qs, -7, 7))).astype(F32))
    assert q.data_type_scale == 0.25 and q.scale == 1.0
    assert (q.clip_min, q.clip_max) == (-7.0, 7.0)
    assert q.max() == 1.75 and q.min() == -1.75

  def test_unsigned_and_alpha(self):
    q = quantized_linear(3, 0, keep_negative=False, alpha=2.0)
    x = np.array([-1.0, 0.3, 0.6, 5.0], F32)
    qs = 2.0 * 2.0**(0 - 3)
    np.testing.assert_array_equal(
        np_out(q(x)), (qs * np.round(np.clip(x / qs, 0, 7))).astype(F32))
    assert q.scale == 2.0

  def test_sign_function(self):
    q = quantized_linear(1, 0)
    y = np_out(q(np.array([-0.3, 0.0, 0.2], F32)))
    np.testing.assert_array_equal(y, [-0.5, 0.5, 0.5])
    np.testing.assert_array_equal(q.range(), [0.5, -0.5])

  def test_range(self):
    np.testing.assert_array_equal(
        quantized_linear(3, 1).range(), [0, 0.5, 1, 1.5, -1.5, -1, -0.5])

  def test_one_bit_sign_function_with_auto_scales(self):
    # Reference 2.4: 1-bit signed output is +-qs/2; "auto" takes
    # qs = max|x| * 2 / (0.5 - -0.5), "auto_po2" refines it once.
    x = np.array([[-1.0, 0.3], [0.2, -0.1], [0.0, 0.5]], F32)
    q = quantized_linear(1, 0, alpha="auto")
    np.testing.assert_array_equal(np_out(q(x)), [[-1, .5], [1, -.5], [1, .5]])
    np.testing.assert_array_equal(np_out(q.quantization_scale), [[2, 1]])
    q = quantized_linear(1, 0, alpha="auto_po2")
    np.testing.assert_array_equal(
        np_out(q(x)), [[-.5, .25], [.5, -.25], [.5, .25]])
    q = quantized_linear(1, 0)
    q._set_trainable_parameter()  # pylint: disable=protected-access
    assert q.alpha == "auto_po2"  # as upstream: every quantized_linear

  def test_auto_po2_is_least_squares_refined(self):
    x = np.random.RandomState(4).normal(size=(20, 3)).astype(F32)
    q = quantized_linear(4, 0, alpha="auto_po2")
    y = np_out(q(x))
    qs = np_out(q.quantization_scale)
    assert qs.shape == (1, 3)
    assert np.all(np.log2(qs) == np.round(np.log2(qs)))
    codes = np.round(np.clip(x / qs, -7, 7))
    np.testing.assert_array_equal(y, (codes * qs).astype(F32))
    # The scale is a fixed point of the least-squares refinement.
    ls = np.mean(x * codes, 0) / (np.mean(codes * codes, 0) + 1e-7)
    np.testing.assert_array_equal(2.0**np.round(np.log2(ls + 1e-7)), qs[0])

  def test_gradient_is_zero_outside_range(self):
    g = grad_of(quantized_linear(3, 0), np.array([-3.0, 0.1, 0.5, 3.0], F32))
    np.testing.assert_array_equal(g, [0, 1, 1, 0])

  def test_read_only_properties_and_str(self):
    q = quantized_linear(4, 1, alpha="auto_po2")
    with pytest.raises(AttributeError):
      q.bits = 3
    assert str(q) == "quantized_linear(4,1,1,alpha='auto_po2')"
    q2 = quantized_linear(5)
    q2._set_trainable_parameter()  # pylint: disable=protected-access
    assert q2.alpha == "auto_po2"

  def test_bad_bits(self):
    with pytest.raises(ValueError, match="Bit count 0 must be positive"):
      quantized_linear(0)
    with pytest.raises(ValueError, match="'alpha'"):
      quantized_linear(4, alpha="best")


# ----------------------------------------------------------------------------
# quantized_relu / hswish / ulaw / tanh / sigmoid
# ----------------------------------------------------------------------------
class TestActivationQuantizers:

  def test_relu_reference_values(self):
    q = quantized_relu(4, 0)
    assert np_out(q(F32(0.3))) == 0.3125
    assert np_out(q(F32(5.0))) == 0.9375
    assert np_out(q(F32(-1.0))) == 0.0
    x = np.linspace(-1, 3, 65, dtype=F32)
    m, m_i = 16.0, 2.0
    np.testing.assert_array_equal(
        np_out(quantized_relu(4, 1)(x)),
        (m_i * np.clip(np.round(x * m / m_i) / m, 0, 1 - 1 / m)).astype(F32))

  def test_relu_qnoise_and_upper_bound_reference_values(self):
    x = np.array([0.0, 0.5, -0.5, 0.6, 2.0, 3.0], F32)
    xq = np.array([0, .5, 0, .625, 1.875, 1.875], F32)
    np.testing.assert_array_equal(np_out(quantized_relu(4, 1)(x)), xq)
    q0 = quantized_relu(4, 1, qnoise_factor=0.0)
    np.testing.assert_array_equal(np_out(q0(x)),
                                  np.array([0, .5, 0, .6, 1.875, 1.875], F32))
    q0 = quantized_relu(4, 1, qnoise_factor=0.0, is_quantized_clip=False,
                        relu_upper_bound=1.5)
    np.testing.assert_array_equal(np_out(q0(x)),
                                  np.array([0, .5, 0, .6, 1.5, 1.5], F32))
    q1 = quantized_relu(4, 1, is_quantized_clip=False, relu_upper_bound=1.5)
    np.testing.assert_array_equal(np_out(q1(x)), [0, .5, 0, .625, 1.5, 1.5])

  def test_relu_negative_slope(self):
    q = quantized_relu(4, 0, negative_slope=0.25)
    x = np.array([-1.0, -0.5, -0.1, 0.3, 1.0], F32)
    y = np_out(q(x))
    m = 8.0  # one bit goes to the sign
    pos = np.clip(np.round(x * m) / m, 0, 1 - 1 / m)
    neg = 0.25 * np.clip(np.round(x * m * 0.25) / (0.25 * m), -1, 0)
    np.testing.assert_array_equal(y, (pos + neg).astype(F32))
    assert q.min() == -0.25
    g = grad_of(q, x)
    np.testing.assert_array_equal(g, [0.25, 0.25, 0.25, 1, 0])

  def test_relu_gradient_is_clipped_relu(self):
    g = grad_of(quantized_relu(4, 0), np.array([-1, 0.2, 0.9, 2.0], F32))
    np.testing.assert_array_equal(g, [0, 1, 1, 0])

  def test_relu_fast_inference_equals_normal_path(self):
    x = np.random.RandomState(5).uniform(-2, 5, 1000).astype(F32)
    for bits, integer in [(4, 0), (6, 2), (8, 1)]:
      fast = quantized_relu(bits, integer, enable_fast_inference=True)
      np.testing.assert_array_equal(np_out(fast(x)),
                                    np_out(quantized_relu(bits, integer)(x)))

  def test_relu_str_max_min_range(self):
    assert str(quantized_relu(4)) == "quantized_relu(4,0)"
    assert str(quantized_relu(4, 0, 1)) == "quantized_relu(4,0,1)"
    assert str(quantized_relu(4, 2, use_stochastic_rounding=True)) == (
        "quantized_relu(4,2,0,1)")
    # QKeras printed "quantized_relu(6,2,0.25)", which reads back as
    # use_sigmoid=0.25; we keep the use_sigmoid slot.
    assert str(quantized_relu(6, 2, negative_slope=0.25)) == (
        "quantized_relu(6,2,0,0.25)")
    assert quantized_relu(4, 2).max() == 4.0
    assert quantized_relu(4, 0).min() == 0.0
    np.testing.assert_array_equal(quantized_relu(3, 0).range(),
                                  np.arange(8) / 8)
    np.testing.assert_array_equal(quantized_relu(3, 1).range(),
                                  np.arange(8) / 4)

  def test_hswish(self):
    q = quantized_hswish(8, 2)
    x = np.linspace(-5, 5, 41, dtype=F32)
    h = x * np.minimum(np.maximum(x + 3, 0), 6) / 6
    np.testing.assert_array_equal(np_out(q(x)),
                                  fixed_point_reference(h.astype(F32), 8, 2, 0))
    # QKeras's __str__ and min() crashed; ours work.
    assert str(q) == "quantized_hswish(8,2,0,relu_shift=3,relu_upper_bound=6)"
    assert q.min() == -0.375
    assert str(get_quantizer(str(q))) == str(q)
    assert quantized_hswish.from_config(q.get_config()).get_config() == (
        q.get_config())

  def test_tanh_and_sigmoid(self):
    x = np.linspace(-4, 4, 129, dtype=F32)
    m = 8.0
    hard = np.clip(0.5 * x + 0.5, 0, 1)
    np.testing.assert_array_equal(
        np_out(quantized_tanh(4)(x)),
        np.clip(np.round((2 * hard - 1) * m) / m, -1, 1 - 1 / m))
    np.testing.assert_array_equal(
        np_out(quantized_tanh(4, symmetric=True)(x)).min(), -7 / 8)
    m = 16.0
    np.testing.assert_array_equal(
        np_out(quantized_sigmoid(4)(x)),
        np.clip(np.round(hard * m) / m, 0, 1 - 1 / m))
    assert quantized_tanh(4).max() == 0.875
    assert quantized_tanh(4, symmetric=1).min() == -0.875
    assert quantized_sigmoid(4, symmetric=1).min() == 1 / 16
    assert str(quantized_tanh(4, symmetric=True)) == "quantized_tanh(4,0,1)"
    assert str(quantized_sigmoid(4, use_real_sigmoid=True)) == (
        "quantized_sigmoid(4,0,1)")
    assert str(quantized_tanh(6, 1, 1)) == "quantized_tanh(6,1,1)"

  def test_internal_sigmoid_modes(self):
    x = np.linspace(-4, 4, 17, dtype=F32)
    q = quantized_sigmoid(6)
    hard = np_out(q(x))
    Q.set_internal_sigmoid("smooth")
    smooth = np_out(q(x))
    np.testing.assert_array_equal(
        smooth, np.clip(np.round(np.clip(0.1875 * x + 0.5, 0, 1) * 64) / 64,
                        0, 63 / 64))
    Q.set_internal_sigmoid("real")
    assert not np.array_equal(np_out(q(x)), smooth)
    Q.set_internal_sigmoid("hard")
    np.testing.assert_array_equal(np_out(q(x)), hard)
    with pytest.raises(ValueError, match="'real', 'hard' or 'smooth'"):
      Q.set_internal_sigmoid("soft")

  def test_sigmoid_functions(self):
    x = np.array([-3, -1, -0.5, 0, 0.4, 1, 3], F32)
    np.testing.assert_array_equal(np_out(Q.hard_sigmoid(x)),
                                  np.clip(0.5 * x + 0.5, 0, 1))
    np.testing.assert_array_equal(np_out(Q.smooth_sigmoid(x)),
                                  np.clip(F32(0.1875) * x + F32(0.5), 0, 1))
    np.testing.assert_array_equal(np_out(Q.binary_sigmoid(x)),
                                  [0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(np_out(Q.binary_tanh(x)),
                                  [-1, -1, -1, -1, 1, 1, 1])
    np.testing.assert_array_equal(
      np_out(Q.hard_tanh(x)), 2 * np.clip(F32(0.5) * x + F32(0.5), 0, 1) - 1)

  def test_ulaw(self):
    q = quantized_ulaw(8, 0)
    x = np.linspace(-3, 3, 25, dtype=F32)
    y = np_out(q(x))
    assert np.all(np.diff(y) >= 0)
    assert y.max() <= 1 - 1 / 128 and y.min() >= -1
    assert str(quantized_ulaw(8, 1, 0, 100.0)) == "quantized_ulaw(8,1,0,100.0)"
    assert (q.max(), q.min()) == (1.0, -1.0)


# ----------------------------------------------------------------------------
# Power of two
# ----------------------------------------------------------------------------
class TestPowerOfTwo:

  def test_zero_maps_to_smallest_power(self):
    assert np_out(quantized_po2(4)(F32(0.0))) == 0.0625
    assert np_out(quantized_po2(4, 1)(F32(0.0))) == 2.0**-8
    assert np_out(quantized_relu_po2(4)(F32(-3.0))) == 2.0**-8

  def test_rounds_the_log_half_to_even(self):
    q = quantized_po2(5)
    x = np.array([3.0, 6.0, -0.3, 0.7, 100.0, 1e-3], F32)
    y = np_out(q(x))
    e = np.clip(np.round(np.log(np.abs(x)) / np.log(2.0)), -8, 7)
    np.testing.assert_array_equal(y, np.sign(x) * 2.0**e)

  def test_max_value_and_quadratic(self):
    q = quantized_po2(4, max_value=0.5)
    assert np_out(q(F32(3.0))) == 0.5
    qq = quantized_po2(5, quadratic_approximation=True)
    y = np_out(qq(np.array([3.0, 5.0, 0.2], F32)))
    assert np.all(np.log2(np.abs(y)) % 2 == 0)

  def test_floor_rounding(self):
    y = np_out(quantized_po2(5, log2_rounding="floor")(
        np.array([3.9, 0.3], F32)))
    np.testing.assert_array_equal(y, [2.0, 0.25])

  def test_min_max_tables(self):
    for bits, bound in {3: 2, 4: 8, 5: 128, 6: 32768}.items():
      q = quantized_po2(bits)
      assert (q.max(), q.min()) == (bound, -bound)
    for bits, bound in {4: 4, 5: 64, 6: 16384}.items():
      q = quantized_po2(bits, quadratic_approximation=True)
      assert q.max() == bound
    for bits, (lo, hi) in {4: (2.0**-8, 64), 5: (2.0**-16, 16384),
                           6: (2.0**-32, 2**30)}.items():
      q = quantized_relu_po2(bits, quadratic_approximation=True)
      assert (q.min(), q.max()) == (lo, hi)
    assert quantized_po2(4, max_value=4).max() == 4

  def test_relu_po2_negative_slope(self):
    q = quantized_relu_po2(4, negative_slope=0.25)
    y = np_out(q(np.array([-2.0, -0.5, 1.0, 0.3], F32)))
    np.testing.assert_array_equal(y, [-0.5, -0.125, 1.0, 0.25])
    assert q.min() == min(2.0**-8, -0.25 * 8)

  def test_gradients(self):
    x = np.array([-3.0, -0.4, 0.5, 2.0], F32)
    np.testing.assert_array_equal(grad_of(quantized_po2(4), x), np.ones(4))
    np.testing.assert_array_equal(grad_of(quantized_relu_po2(4), x),
                                  [0, 0, 1, 1])
    np.testing.assert_array_equal(
        grad_of(quantized_relu_po2(4, max_value=1.0), x), [0, 0, 1, 0])

  def test_str(self):
    assert str(quantized_po2(4)) == "quantized_po2(4)"
    assert str(quantized_po2(4, 2)) == "quantized_po2(4,2)"
    # QKeras printed int(max_value) ("quantized_po2(4,0)") and crashed with
    # stochastic rounding but no max_value.
    assert str(quantized_po2(4, 0.5)) == "quantized_po2(4,0.5)"
    assert str(quantized_po2(4, use_stochastic_rounding=True)) == (
        "quantized_po2(4,None,1)")
    assert str(quantized_po2(4, quadratic_approximation=True)) == (
        "quantized_po2(4,quadratic_approximation=1)")
    assert str(quantized_relu_po2(4, 2, 0.25)) == "quantized_relu_po2(4,2,0.25)"
    assert str(quantized_relu_po2(4, negative_slope=0.25)) == (
        "quantized_relu_po2(4,None,0.25)")
    for q in (quantized_po2(4, 0.5, True), quantized_relu_po2(4, None, 0.25),
              quantized_po2(5, log2_rounding="floor")):
      assert get_quantizer(str(q)).get_config() == q.get_config()


# ----------------------------------------------------------------------------
# Binary / ternary / bernoulli
# ----------------------------------------------------------------------------
class TestBinaryTernary:

  def test_binary(self):
    x = np.array([-2.0, -0.1, 0.0, 0.3], F32)
    np.testing.assert_array_equal(np_out(binary()(x)), [-1, -1, 1, 1])
    np.testing.assert_array_equal(np_out(binary(use_01=True)(x)), [0, 0, 1, 1])
    np.testing.assert_array_equal(np_out(binary(alpha=2.0)(x)), [-2, -2, 2, 2])
    assert binary(use_01=True).min() == 0.0
    assert (binary(alpha=3.0).max(), binary(alpha=3.0).min()) == (3.0, -3.0)
    assert str(binary()) == "binary()"
    assert str(binary(use_01=True, alpha="auto")) == "binary(use_01=1,alpha='auto')"
    assert str(binary(use_stochastic_rounding=True)) == (
        "binary(use_stochastic_rounding=True)")

  def test_binary_auto_scales_reference_example(self):
    q = binary(alpha="auto")
    q(MATRIX)
    np.testing.assert_allclose(np_out(q.scale), [[0.38, 1.46, 0.2, 0.88]],
                               rtol=1e-6)
    q = binary(alpha="auto_po2")
    np.testing.assert_array_equal(np_out(q(MATRIX)),
                                  [[0.5, 2, 0.25, 1], [0.5, 2, 0.25, 1]])
    np.testing.assert_array_equal(np_out(q.scale), [[0.5, 2, 0.25, 1]])

  def test_binary_gradient_is_tanh_without_alpha(self):
    x = np.array([-1.0, 0.5], F32)
    np.testing.assert_allclose(grad_of(binary(), x), 1 - np.tanh(x)**2,
                               rtol=1e-6)
    np.testing.assert_array_equal(grad_of(binary(alpha=1.0), x), [1, 1])

  def test_ternary_reference_example(self):
    x = np.array([-11, -7, -4, -1, 0, 1, 4, 7, 10], F32)
    np.testing.assert_array_equal(np_out(ternary(10.0, 5.0)(x)),
                                  [-10, -10, 0, 0, 0, 0, 0, 10, 10])
    np.testing.assert_array_equal(
        np_out(ternary()(np.array([-1, -0.34, -0.3, 0.2, 0.33], F32))),
        [-1, -1, 0, 0, 1])
    assert str(ternary(alpha="auto_po2", number_of_unrolls=3)) == (
        "ternary(alpha='auto_po2',number_of_unrolls=3)")
    assert (ternary(alpha=4.0).max(), ternary().min()) == (4.0, -1.0)

  def test_ternary_auto_po2_scale(self):
    rng = np.random.RandomState(6)
    x = rng.uniform(-1, 1, size=(2000, 2)).astype(F32)
    x[:, 1] *= 4
    q = ternary(alpha="auto_po2")
    y = np_out(q(x))
    np.testing.assert_array_equal(np_out(q.scale), [[0.5, 2.0]])
    assert set(np.unique(y[:, 1])) == {-2.0, 0.0, 2.0}

  def test_ternary_threshold_with_auto_alpha_is_rejected(self):
    with pytest.raises(ValueError, match="threshold"):
      ternary(alpha="auto", threshold=0.3)
    q = ternary(threshold=0.5)
    q._set_trainable_parameter()  # pylint: disable=protected-access
    assert q.alpha is None  # keeps its explicit threshold

  def test_bernoulli_is_deterministic_in_inference(self):
    x = np.array([-1.0, -0.01, 0.0, 0.2], F32)
    q = bernoulli()
    np.testing.assert_array_equal(np_out(q(x)), [0, 0, 1, 1])
    assert (q.max(), q.min()) == (1.0, 0.0)
    assert str(bernoulli(alpha="auto", temperature=3.0,
                         use_real_sigmoid=False)) == (
                             "bernoulli(alpha='auto',temperature=3.0,"
                             "use_real_sigmoid=0)")


# ----------------------------------------------------------------------------
# Stochastic behaviour
# ----------------------------------------------------------------------------
class TestStochastic:

  @pytest.mark.parametrize("make,deterministic", [
      (lambda: stochastic_binary(), lambda: binary()),
      (lambda: stochastic_ternary(), lambda: ternary()),
      (lambda: stochastic_ternary(alpha="auto_po2"),
       lambda: ternary(alpha="auto_po2")),
      (lambda: quantized_relu(4, 0, use_stochastic_rounding=True),
       lambda: quantized_relu(4, 0)),
      (lambda: quantized_bits(4, 0, 1, use_stochastic_rounding=True),
       lambda: quantized_bits(4, 0, 1)),
      (lambda: quantized_po2(4, use_stochastic_rounding=True),
       lambda: quantized_po2(4)),
  ])
  def test_inference_is_deterministic(self, make, deterministic):
    x = np.random.RandomState(7).normal(size=(50, 4)).astype(F32)
    q = make()
    ref = np_out(deterministic()(x))
    for training in (None, False):
      np.testing.assert_array_equal(np_out(q(x, training=training)), ref)

  def test_training_is_random_and_unbiased(self):
    x = np.full((20000,), 0.3, F32)
    q = quantized_bits(4, 0, 1, use_stochastic_rounding=True)  # step 1/8
    a = np_out(q(x, training=True))
    b = np_out(q(x, training=True))
    assert set(np.unique(a)) == {0.25, 0.375}
    assert not np.array_equal(a, b)
    assert abs(a.mean() - 0.3) < 0.005

  def test_stochastic_po2_is_unbiased(self):
    x = np.full((20000,), 3.0, F32)
    y = np_out(quantized_po2(6, use_stochastic_rounding=True)(x, training=True))
    assert set(np.unique(y)) == {2.0, 4.0}
    assert abs(y.mean() - 3.0) < 0.05

  def test_stochastic_binary_in_training(self):
    x = np.full((20000,), 0.1, F32)
    y = np_out(stochastic_binary(temperature=6.0)(x, training=True))
    assert set(np.unique(y)) == {-1.0, 1.0}
    p = 1 / (1 + np.exp(-0.6))
    assert abs((y > 0).mean() - p) < 0.02

  def test_stochastic_ternary_and_bernoulli_in_training(self):
    x = np.random.RandomState(8).normal(size=(4000, 3)).astype(F32)
    y = np_out(stochastic_ternary(alpha="auto_po2")(x, training=True))
    assert len(np.unique(np.abs(y[:, 0]))) == 2  # {0, s}
    # QKeras asserted a string alpha here; alpha=None now means scale 1.
    y = np_out(stochastic_ternary()(x, training=True))
    assert set(np.unique(y)) <= {-1.0, 0.0, 1.0}
    y = np_out(bernoulli()(np.zeros(4000, F32), training=True))
    assert 0.4 < y.mean() < 0.6

  def test_seeded_reproducibility(self):
    x = np.full((1000,), 0.3, F32)
    keras.utils.set_random_seed(123)
    a = np_out(quantized_relu(4, 0, use_stochastic_rounding=True)(
        x, training=True))
    keras.utils.set_random_seed(123)
    b = np_out(quantized_relu(4, 0, use_stochastic_rounding=True)(
        x, training=True))
    np.testing.assert_array_equal(a, b)

  def test_tensor_training_flag(self):
    q = quantized_bits(4, 0, 1, use_stochastic_rounding=True)
    x = np.full((5000,), 0.3, F32)
    f = stateful_compiled(lambda v, flag: q(v, training=flag),
                          q.state_variables())
    assert set(np.unique(np_out(f(x, tensor(False, "bool"))))) == {0.25}
    assert len(np.unique(np_out(f(x, tensor(True, "bool"))))) == 2

  def test_stochastic_rounding_in_training_under_jit(self):
    q = quantized_relu(4, 0, use_stochastic_rounding=True)
    f = stateful_compiled(lambda v: q(v, training=True), q.state_variables())
    x = tensor(np.full((5000,), 0.3))
    a, b = np_out(f(x)), np_out(f(x))
    assert not np.array_equal(a, b)  # the seed advances between calls


# ----------------------------------------------------------------------------
# Inputs, graph modes, edge values
# ----------------------------------------------------------------------------
ALL_DETERMINISTIC = [
    lambda: quantized_bits(4, 0, 1), lambda: quantized_bits(6, 2, 0),
    lambda: quantized_bits(4, 0, alpha="auto_po2"),
    lambda: quantized_bits(4, 0, alpha="auto"),
    lambda: quantized_linear(4, 1), lambda: quantized_linear(4, 0, alpha="auto_po2"),
    lambda: quantized_relu(4, 0), lambda: quantized_relu(6, 2, 1),
    lambda: quantized_relu(4, 0, negative_slope=0.5),
    lambda: quantized_ulaw(8, 0), lambda: quantized_tanh(4),
    lambda: quantized_tanh(4, use_real_tanh=True), lambda: quantized_sigmoid(4),
    lambda: quantized_po2(4), lambda: quantized_po2(5, 2),
    lambda: quantized_relu_po2(4), lambda: quantized_relu_po2(5, 4, 0.25),
    lambda: quantized_hswish(8, 2), lambda: binary(), lambda: binary(alpha="auto"),
    lambda: ternary(), lambda: ternary(alpha="auto_po2"),
    lambda: stochastic_binary(), lambda: stochastic_ternary(),
    lambda: bernoulli(),
]

# Quantizers whose compiled result (tf.function, XLA, jax.jit) equals the
# eager one bit for bit: all but u-law (XLA's log) and binary(alpha="auto")
# (a mean: XLA and TensorFlow's graphs sum in another order). Divisions by
# non-power-of-two scales are exact in every mode (_qmath.divide).
EXACT_IN_GRAPHS = set(range(len(ALL_DETERMINISTIC))) - {9, 19}


@pytest.mark.parametrize("index", range(len(ALL_DETERMINISTIC)))
def test_numpy_tensor_graph_and_xla_inputs(index):
  x = np.random.RandomState(index).normal(size=(8, 6)).astype(F32) * 2
  eager = np_out(ALL_DETERMINISTIC[index]()(x))
  np.testing.assert_array_equal(
      np_out(ALL_DETERMINISTIC[index]()(tensor(x))), eager)
  np.testing.assert_array_equal(
      np_out(ALL_DETERMINISTIC[index]()(x.astype(np.float64))), eager)
  for mode in compiled_modes():
    q = ALL_DETERMINISTIC[index]()
    result = np_out(compiled(q, **mode)(tensor(x)))
    if index in EXACT_IN_GRAPHS:
      np.testing.assert_array_equal(result, eager)
    else:
      np.testing.assert_allclose(result, eager, rtol=1e-5, atol=1e-6)


def test_symbolic_keras_tensor():
  inp = keras.Input((4,))
  out = keras.layers.Lambda(lambda t: quantized_bits(4, 0, 1)(t))(inp)
  model = keras.Model(inp, out)
  x = np.array([[0.3, -2, 0.06, 0.9]], F32)
  np.testing.assert_array_equal(model.predict(x, verbose=0),
                                np_out(quantized_bits(4, 0, 1)(x)))


def test_integer_input_is_cast():
  y = quantized_bits(4, 2, 1)(np.array([1, 2, 3], np.int32))
  assert keras.backend.standardize_dtype(y.dtype) == "float32"
  np.testing.assert_array_equal(np_out(y), [1, 2, 3])


@pytest.mark.parametrize("make,hi,lo", [
    (lambda: quantized_bits(4, 0, 1), 0.875, -0.875),
    (lambda: quantized_bits(8, 3, 1, alpha=1.0), 7.9375, -7.9375),
    (lambda: quantized_bits(16, 0, 0), 1 - 2.0**-15, -1.0),
    (lambda: quantized_relu(4, 0), 0.9375, 0.0),
    (lambda: quantized_po2(4), 8.0, -8.0),
    (lambda: quantized_relu_po2(4), 128.0, 2.0**-8),
    (lambda: quantized_tanh(4), 0.875, -1.0),
    (lambda: quantized_sigmoid(4), 0.9375, 0.0),
    (lambda: binary(), 1.0, -1.0),
    (lambda: ternary(), 1.0, -1.0),
    (lambda: quantized_linear(4, 0), 0.875, -0.875),
    (lambda: quantized_hswish(8, 2), 3.96875, -0.375),
])
def test_edge_inputs_saturate(make, hi, lo):
  """+-inf and huge values saturate (QKeras: NaN or 0); NaN stays NaN."""
  x = np.array([np.inf, 1e10, 3e38, 1e6, -np.inf, -1e10, -3e38, -1e6], F32)
  y = np_out(make()(x))
  np.testing.assert_array_equal(y[:4], hi)
  if not isinstance(make(), quantized_hswish):
    np.testing.assert_array_equal(y[4:], lo)
  assert np.isnan(np_out(make()(np.array([np.nan], F32)))).all()
  zeros = np_out(make()(np.array([0.0, -0.0], F32)))
  assert np.all(np.isfinite(zeros))


_ALL_WITH_STOCHASTIC = ALL_DETERMINISTIC + [
    lambda: quantized_bits(4, 0, 1, use_stochastic_rounding=True),
    lambda: quantized_relu(4, 0, use_stochastic_rounding=True),
    lambda: quantized_po2(4, 2, use_stochastic_rounding=True),
    lambda: quantized_relu_po2(4, 2, use_stochastic_rounding=True),
    lambda: binary(use_stochastic_rounding=True),
    lambda: ternary(alpha="auto", use_stochastic_rounding=True),
]


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("index", range(len(_ALL_WITH_STOCHASTIC)))
def test_nan_stays_nan(index, training):
  """On every backend (PyTorch's sign maps NaN to 0), also when random."""
  x = np.tile(np.array([[np.nan, 0.5, -1.5, 0.25]], F32), (3, 1)).T
  y = np_out(_ALL_WITH_STOCHASTIC[index]()(x, training=training))
  assert np.isnan(y[0]).all(), y


def test_negative_zero_becomes_positive_zero_as_in_qkeras():
  y = np_out(quantized_bits(4, 0, 1)(np.array([-0.01, -0.0], F32)))
  assert not np.signbit(y).any()


# ----------------------------------------------------------------------------
# Configs, serialization, registry
# ----------------------------------------------------------------------------
CONFIG_ROUND_TRIP = [
    quantized_bits(4, 0, 1), quantized_bits(6, 2, alpha="auto_po2",
                                            scale_axis=0),
    quantized_bits(4, 0, 1, alpha=[1.0, 0.5]),
    quantized_bits(4, 1, alpha="auto_po2", post_training_scale=[2.0, 4.0]),
    quantized_bits(8, 0, alpha="auto_po2", min_po2_exponent=-4,
                   max_po2_exponent=2, elements_per_scale=2,
                   scale_axis=[1]),
    quantized_linear(5, 1, alpha="auto"), quantized_relu(4, 1, 1, 0.25),
    quantized_relu(4, 0, relu_upper_bound=1.5, is_quantized_clip=False,
                   use_ste=False, qnoise_factor=0.5),
    quantized_ulaw(6, 1, 1, 100.0), quantized_tanh(5, 0, 1, 1),
    quantized_sigmoid(5, 1, 1), quantized_po2(5, 2.0, False, True, "floor"),
    quantized_relu_po2(5, 4, 0.5), quantized_hswish(6, 1, relu_shift=2,
                                                     relu_upper_bound=4),
    binary(1, "auto_po2", scale_axis=0), stochastic_binary("auto", 3.0, False),
    ternary("auto", None, False, 7), stochastic_ternary(2.0, 0.4, 5.0, False),
    bernoulli("auto_po2", 4.0, False),
]


@pytest.mark.parametrize("q", CONFIG_ROUND_TRIP, ids=str)
def test_config_and_keras_serialization_round_trip(q):
  x = np.random.RandomState(9).normal(size=(6, 2)).astype(F32) * 2
  expected = np_out(q(x))
  config = q.get_config()
  json.dumps(config)  # JSON-able
  clone = type(q).from_config(config)
  assert clone.get_config() == config
  np.testing.assert_array_equal(np_out(clone(x)), expected)
  serialized = keras.saving.serialize_keras_object(q)
  assert serialized["registered_name"] == "qkeras>" + type(q).__name__
  restored = keras.saving.deserialize_keras_object(
      json.loads(json.dumps(serialized)))
  assert type(restored) is type(q)
  np.testing.assert_array_equal(np_out(restored(x)), expected)
  np.testing.assert_array_equal(np_out(get_quantizer(serialized)(x)), expected)
  assert str(restored) == str(q)


def test_config_keys_keep_qkeras_names():
  assert list(quantized_bits().get_config())[:8] == [
      "bits", "integer", "symmetric", "alpha", "keep_negative",
      "use_stochastic_rounding", "qnoise_factor", "post_training_scale"]
  assert list(quantized_relu().get_config())[:7] == [
      "bits", "integer", "use_sigmoid", "negative_slope",
      "use_stochastic_rounding", "relu_upper_bound", "qnoise_factor"]
  assert set(quantized_tanh().get_config()) == {
      "bits", "symmetric", "use_stochastic_rounding", "use_real_tanh"}
  assert set(quantized_sigmoid().get_config()) == {
      "bits", "symmetric", "use_real_sigmoid", "use_stochastic_rounding"}
  assert {"bits", "max_value", "use_stochastic_rounding",
          "quadratic_approximation", "qnoise_factor"} <= set(
              quantized_po2().get_config())
  assert "negative_slope" in quantized_relu_po2().get_config()
  assert {"alpha", "use_stochastic_rounding"} <= set(binary().get_config())
  assert set(ternary().get_config()) == {
      "alpha", "threshold", "use_stochastic_rounding", "number_of_unrolls"}


def test_keras2_style_config_dict():
  q = get_quantizer({"class_name": "quantized_bits", "config": {
      "bits": 4, "integer": 0, "symmetric": 1, "alpha": 1,
      "keep_negative": True, "use_stochastic_rounding": False,
      "qnoise_factor": 1.0}})
  assert str(q) == "quantized_bits(4,0,1,alpha=1)"
  assert isinstance(get_quantizer({"class_name": "quantized_relu",
                                   "config": {"bits": 3}}), quantized_relu)


def test_from_config_unknown_key_is_a_clear_error():
  with pytest.raises(ValueError, match="unknown config key.*'bitz'"):
    quantized_bits.from_config({"bitz": 4})
  with pytest.raises(ValueError, match="unknown quantizer class 'quantized_foo'"):
    get_quantizer({"class_name": "quantized_foo", "config": {}})
  with pytest.raises(ValueError, match="class_name"):
    get_quantizer({"config": {}})


def test_every_registered_quantizer_is_keras_serializable():
  names = list(qkeras.quantizer_registry.registered_quantizers())
  assert len(names) == 14
  for name in names:
    assert keras.saving.get_registered_object("qkeras>" + name) is getattr(
        Q, name)


# ----------------------------------------------------------------------------
# get_quantizer
# ----------------------------------------------------------------------------
class TestGetQuantizer:

  def test_strings(self):
    q = get_quantizer("quantized_bits(4,0,1,alpha='auto_po2')")
    assert isinstance(q, quantized_bits) and q.alpha == "auto_po2"
    q = get_quantizer("quantized_relu(4, use_stochastic_rounding=True)")
    assert q.use_stochastic_rounding is True and q.bits == 4
    assert isinstance(get_quantizer("binary"), binary)
    assert isinstance(get_quantizer(" ternary() "), ternary)
    assert get_quantizer("quantized_bits(4,0,1,alpha=auto_po2)").alpha == (
        "auto_po2")  # QKeras turned this into 'ut'
    q = get_quantizer("quantized_bits(4,0,1,alpha=[1 2 0.5])")
    np.testing.assert_array_equal(q.alpha, [1, 2, 0.5])
    assert get_quantizer("quantized_po2(4, 1e0)").max_value == 1.0
    # The seed README's quantized_tanh(6, 2, 1): 2 is use_stochastic_rounding.
    q = get_quantizer("quantized_tanh(6, 2, 1)")
    assert q.symmetric == 1 and q.use_stochastic_rounding == 2
    assert str(q) == "quantized_tanh(6,2,1)"

  def test_functions_and_activations(self):
    assert get_quantizer("hard_sigmoid") is Q.hard_sigmoid  # QKeras's slope
    assert get_quantizer("relu") is keras.activations.relu
    assert get_quantizer("linear") is keras.activations.linear
    assert get_quantizer(None) is None
    q = quantized_bits()
    assert get_quantizer(q) is q
    assert get_quantizer(np.tanh) is np.tanh

  @pytest.mark.parametrize("text,match", [
      ("quantized_bits(4,0,1,alpha=max(1,2))", "position 30"),
      ("quantized_bits(4) trailing", "'trailing'"),
      ("quantized_bits(4", "end of string"),
      ("quantized_bits(4,0,1", "end of string"),
      ("quantized_bits(bits=4, 0)", "positional"),
      ("set_internal_sigmoid('real')", "unknown quantizer or activation"),
      ("get_quantizer('binary')", "unknown"),
      ("np", "unknown"),
      ("os.system('ls')", r"'\.'"),
      ("relu(3)", "does not take arguments"),
      ("quantized_bits(4, bogus=1)", "bogus"),
      ("quantized_bits(1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17)",
       "positional"),
      ("quantized_bits(99999)", "'bits' must be an integer in"),
      ("quantized_bits(" + "1" * 200 + ")", "number"),
      ("quantized_bits(" + " " * 200000 + "4)", "too long"),
      ("", "end of string"),
  ])
  def test_rejected_strings(self, text, match):
    with pytest.raises(ValueError, match=match):
      get_quantizer(text)

  def test_rejected_types(self):
    with pytest.raises(ValueError, match="Could not interpret"):
      get_quantizer(42)


# ----------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("make,match", [
    (lambda: quantized_bits(0), "'bits' must be an integer in \\[1, 64\\], got 0"),
    (lambda: quantized_bits(-3), "'bits'"),
    (lambda: quantized_bits(4.5), "'bits'.*got 4.5"),
    (lambda: quantized_bits("4"), "'bits'"),
    (lambda: quantized_bits(True), "'bits'"),
    (lambda: quantized_bits(4, 1000), "'integer'"),
    (lambda: quantized_bits(4, 0.5), "'integer'"),
    (lambda: quantized_bits(4, alpha="auto_p02"),
     "'alpha' must be None, a positive number, 'auto' or 'auto_po2'"),
    (lambda: quantized_bits(4, alpha=-1.0), "'alpha'"),
    (lambda: quantized_bits(4, alpha=[1.0, np.nan]), "'alpha'"),
    (lambda: quantized_bits(1, alpha="auto"), "needs bits >= 2"),
    (lambda: quantized_bits(1, alpha="auto_po2"),
     "returned NaN for alpha='auto' and all zeros for alpha='auto_po2'"),
    (lambda: quantized_bits(4, post_training_scale=[1.0]),
     "'post_training_scale' must be None unless alpha"),
    (lambda: quantized_bits(4, alpha="auto", post_training_scale=[-1.0]),
     "'post_training_scale'"),
    (lambda: quantized_bits(4, elements_per_scale=2),
     "'elements_per_scale' must be None unless alpha='auto_po2'"),
    (lambda: quantized_bits(4, alpha="auto", min_po2_exponent=-3),
     "'min_po2_exponent'"),
    (lambda: quantized_bits(4, alpha="auto_po2", min_po2_exponent=3,
                            max_po2_exponent=1), "'min_po2_exponent'"),
    (lambda: quantized_bits(4, symmetric=0.5), "'symmetric'"),
    (lambda: quantized_bits(4, qnoise_factor=1.5), "'qnoise_factor'"),
    (lambda: quantized_bits(4, scale_axis="last"), "'scale_axis'"),
    (lambda: quantized_relu(4, negative_slope=0.3), "power of two"),
    (lambda: quantized_relu(4, negative_slope=-0.25), "'negative_slope'"),
    (lambda: quantized_relu(4, relu_upper_bound=-1.0), "'relu_upper_bound'"),
    (lambda: quantized_relu(1, negative_slope=0.5), "'bits'"),
    (lambda: quantized_po2(4, max_value=-1.0), "'max_value'"),
    (lambda: quantized_po2(4, log2_rounding="ceil"),
     "'log2_rounding' must be one of 'rnd', 'floor'"),
    (lambda: quantized_po2(1), "'bits'"),
    (lambda: quantized_po2(40), "'bits'"),
    (lambda: quantized_relu_po2(4, negative_slope=0.2), "power of two"),
    (lambda: quantized_hswish(relu_shift=0), "'relu_shift'"),
    (lambda: quantized_hswish(relu_upper_bound=-6), "'relu_upper_bound'"),
    (lambda: quantized_hswish(keep_negative=False), "'keep_negative'"),
    (lambda: quantized_ulaw(4, u=0), "'u'"),
    (lambda: quantized_tanh(0), "'bits'"),
    (lambda: quantized_sigmoid(4, symmetric="yes"), "'symmetric'"),
    (lambda: binary(alpha="max"), "'alpha'"),
    (lambda: binary(elements_per_scale=2), "'elements_per_scale'"),
    (lambda: ternary(threshold="auto"), "'threshold'"),
    (lambda: ternary(threshold=-0.1), "'threshold'"),
    (lambda: ternary(number_of_unrolls=0), "'number_of_unrolls'"),
    (lambda: stochastic_ternary(threshold=1.0), "'threshold'"),
    (lambda: bernoulli(temperature=float("inf")), "'temperature'"),
])
def test_bad_arguments_raise_value_error(make, match):
  with pytest.raises(ValueError, match=match):
    make()


def test_ternary_stochastic_rounding_without_auto_alpha():
  with pytest.raises(ValueError, match="use_stochastic_rounding"):
    ternary(use_stochastic_rounding=True)(np.ones(3, F32))


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------
def test_round_through_and_friends():
  x = np.array([0.5, 1.5, 2.5, -0.5, 0.4], F32)
  np.testing.assert_array_equal(np_out(Q._round_through(x)),  # pylint: disable=protected-access
                                [0, 2, 2, 0, 0])
  np.testing.assert_array_equal(np_out(Q._floor_through(x)),  # pylint: disable=protected-access
                                np.floor(x))
  np.testing.assert_array_equal(np_out(Q._ceil_through(x)),  # pylint: disable=protected-access
                                np.ceil(x))
  np.testing.assert_array_equal(np_out(Q._sign_through(x)), np.sign(x))  # pylint: disable=protected-access
  np.testing.assert_array_equal(grad_of(Q._round_through, x), np.ones(5))  # pylint: disable=protected-access
  y = np_out(Q._round_through(np.full(20000, 0.3, F32), True, 0.5, True))  # pylint: disable=protected-access
  assert set(np.unique(y)) == {0.0, 0.5} and abs(y.mean() - 0.3) < 0.01


def test_stochastic_round_helpers():
  y = np_out(Q.stochastic_round(np.full(20000, 0.3, F32), precision=0.25))
  assert set(np.unique(y)) == {0.25, 0.5} and abs(y.mean() - 0.3) < 0.01
  e = np_out(Q.stochastic_round_po2(np.full(20000, 3.0, F32)))
  assert set(np.unique(e)) == {1.0, 2.0}
  assert abs(np.mean(2.0**e) - 3.0) < 0.05


def test_get_scale():
  x = MATRIX
  q = np.sign(x)
  np.testing.assert_allclose(np_out(Q._get_scale("auto", x, q)),  # pylint: disable=protected-access
                             [[0.38, 1.46, 0.2, 0.88]], rtol=1e-6)
  assert Q._get_scale(None, x, q) == 1.0  # pylint: disable=protected-access
  assert Q._get_scale(2, x, q) == 2.0  # pylint: disable=protected-access
  arr = np.array([1.0, 2.0])
  assert Q._get_scale(arr, x, q) is arr  # pylint: disable=protected-access
  np.testing.assert_array_equal(
      np_out(Q._get_scale("auto_po2", x, q, per_channel_scale=False)),  # pylint: disable=protected-access
      [[1.0]])
  v = np.array([0.3, -3.0], F32)
  np.testing.assert_array_equal(  # rank 1: one scale per element
      np_out(Q._get_scale("auto_po2", v, np.sign(v))), [0.25, 4.0])  # pylint: disable=protected-access
  assert Q._get_scaling_axis(None, 4) == [0, 1, 2]  # pylint: disable=protected-access
  assert Q._get_scaling_axis(1, 3) == [0, 2]  # pylint: disable=protected-access
  assert Q._get_scaling_axis([0, 2], 4) == [1, 3]  # pylint: disable=protected-access
  with pytest.raises(ValueError, match="'alpha'"):
    Q._get_scale("automatic", x, q)  # pylint: disable=protected-access


def test_get_weight_scale():
  q = binary(alpha="auto_po2")
  assert Q.get_weight_scale(q) == 1.0
  q(MATRIX)
  np.testing.assert_array_equal(Q.get_weight_scale(q), [[0.5, 2, 0.25, 1]])


def test_get_quantized_initializer():
  init = Q.get_quantized_initializer("he_normal", 2.0)
  assert isinstance(init, keras.initializers.VarianceScaling)
  assert init.scale == 4.0 and init.mode == "fan_in"
  init = Q.get_quantized_initializer("glorot_uniform", 0.5)
  assert init.scale == 0.5 and init.distribution == "uniform"
  init = Q.get_quantized_initializer("random_uniform", 3.0)
  assert (init.minval, init.maxval) == (-3.0, 3.0)
  assert Q.get_quantized_initializer("zeros", 3.0) == "zeros"


def test_qnoise_variable_and_update():
  x = np.array([0.0, 0.5, -0.5, 0.6, -0.6, 2.0, -2.0], F32)
  q = quantized_bits(4, 1, 1, alpha=1, use_variables=True)
  y1 = np_out(q(x))
  assert isinstance(q.qnoise_factor, keras.Variable)
  assert q.qnoise_factor.path.startswith("qnoise_factor_")
  assert q.variables == () and q.trainable_variables == ()
  q.update_qnoise_factor(0.5)
  plain = quantized_bits(4, 1, 1, alpha=1, qnoise_factor=0.5)
  np.testing.assert_array_equal(np_out(q(x)), np_out(plain(x)))
  q.update_qnoise_factor(1.0)
  np.testing.assert_array_equal(np_out(q(x)), y1)
  assert q.get_config()["qnoise_factor"] == 1.0
  p = quantized_relu(4)
  p.update_qnoise_factor(0.25)
  assert p.qnoise_factor == 0.25


# ----------------------------------------------------------------------------
# Power-of-two exponents without log/pow (qkeras._qmath.log2_code, pow2_exact)
# ----------------------------------------------------------------------------
_CODE_VARIANTS = [(mode, quadratic) for quadratic in (False, True)
                  for mode in ("rnd", "floor", "ceil")]


def _table_code(v, mode, quadratic):
  """The code qkeras/_po2_table.py defines for float32 ``v`` (NumPy)."""
  from qkeras import _po2_table  # pylint: disable=g-import-not-at-top
  k_low, cuts = _po2_table.CUTOFFS[(mode, quadratic)]
  bits = np.asarray(v, F32).view(np.int32).astype(np.int64)
  code = k_low + np.searchsorted(np.asarray(cuts, np.int64), bits, "right")
  code = np.where(bits < 0x00800000, -2**31, code)  # 0, subnormal, negative
  return np.where(bits >= 0x7F800000, 2**31 - 1, code)  # +inf


def _probe_values(mode, quadratic, seed=0):
  """Random magnitudes, every cut-off +-3 ulps, and special values."""
  from qkeras import _po2_table  # pylint: disable=g-import-not-at-top
  _, cuts = _po2_table.CUTOFFS[(mode, quadratic)]
  near = (np.asarray(cuts, np.int64)[:, None] + np.arange(-3, 4)[None])
  rng = np.random.RandomState(seed)
  return np.concatenate(
      [np.abs(rng.normal(size=2000)).astype(F32) * s
       for s in (1e-30, 1e-6, 1, 1e3, 1e20)] +
      [near.ravel().astype(np.uint32).view(F32),
       np.ldexp(F32(1), np.arange(-130, 128)).astype(F32),
       np.array([0, -0.0, 1e-40, 1e-45, 3e38, np.inf, -1.0], F32)])


@pytest.mark.parametrize("mode,quadratic", _CODE_VARIANTS)
def test_log2_code_is_the_table_on_every_backend(mode, quadratic):
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top
  v = _probe_values(mode, quadratic)
  expected = _table_code(v, mode, quadratic)
  fn = lambda t: _qmath.log2_code(t, mode, quadratic)
  np.testing.assert_array_equal(np_out(fn(v)), expected)
  for kwargs in compiled_modes():
    np.testing.assert_array_equal(np_out(compiled(fn, **kwargs)(tensor(v))),
                                  expected)


@pytest.mark.tensorflow_only("the table is TensorFlow's float32 log")
@pytest.mark.parametrize("mode,quadratic", _CODE_VARIANTS)
def test_log2_code_table_is_tensorflows_log(mode, quadratic):
  """The shipped cut-offs are what TensorFlow's own kernels give today
  (tools/make_po2_table.py checked them on every float32)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  v = _probe_values(mode, quadratic, seed=1)
  v = v[v >= 0]
  # Tiled so that every value takes the kernels' vectorized path.
  t = tf.constant(np.repeat(v, 64))
  if quadratic:
    t = tf.math.sqrt(t)
  rounding = {"rnd": tf.math.round, "floor": tf.math.floor,
              "ceil": tf.math.ceil}[mode]
  code = np_out(rounding(tf.math.log(t) / float(np.log(2.0))))[::64]
  code = np.clip(np.nan_to_num(code.astype(np.float64), posinf=2**31 - 1,
                               neginf=-2**31),
                 -2**31, 2**31 - 1).astype(np.int64)
  np.testing.assert_array_equal(_table_code(v, mode, quadratic), code)


def _log_path_po2(q, x):
  """QKeras's formula: sign(x) * 2**clip(round(log(|x|)/log 2)), on TF."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top
  x = tf.constant(x)
  v = tf.abs(x)
  v_filter = tf.where(v < 1e-7, 1e-7, v)
  if q.max_value is not None:
    v_filter = tf.where(v_filter >= q.max_value, q.max_value, v_filter)
  factor = 2.0 if q.quadratic_approximation else 1.0
  if q.quadratic_approximation:
    v_filter = tf.sqrt(v_filter)
  rounding = tf.math.floor if q.log2_rounding == "floor" else tf.math.round
  e = rounding(tf.math.log(v_filter) / float(np.log(2.0)))
  e = factor * tf.clip_by_value(e, q._min_exp, q._max_exp)  # pylint: disable=protected-access
  e = tf.where(v < 1e-7, float(q._min_exp), e)  # pylint: disable=protected-access
  # Issue 19: the exponent is capped at 127 (QKeras: 2**128 = inf for finite
  # inputs from about 2**127.5 on).
  e = tf.minimum(e, 127.0)
  return np_out(_qmath.sign_nonzero(x) * tf.pow(2.0, e))


_PO2_CASES = [
    (2, None, False, "rnd"), (4, None, False, "rnd"), (4, 1.0, False, "rnd"),
    (5, None, True, "rnd"), (5, 4.0, False, "floor"), (6, 0.5, True, "floor"),
    (8, None, False, "rnd"), (8, None, True, "floor"), (16, None, False, "rnd"),
]


def _po2_inputs(bits):
  rng = np.random.RandomState(bits)
  x = np.concatenate(
      [rng.normal(size=4000).astype(F32) * s for s in (1e-6, 1, 1e3, 1e20)] +
      [_probe_values("rnd", False)[-900:]])
  return np.concatenate([x, -x, np.array([0, -0.0, 1e-8, 3e38], F32)])


@pytest.mark.tensorflow_only("compares with TensorFlow's log")
@pytest.mark.parametrize("bits,max_value,quadratic,rounding", _PO2_CASES)
def test_po2_quantizers_reproduce_the_log_formula(bits, max_value, quadratic,
                                                  rounding):
  q = quantized_po2(bits, max_value, quadratic_approximation=quadratic,
                    log2_rounding=rounding)
  x = np.repeat(_po2_inputs(bits), 64)  # every value on the vectorized path
  np.testing.assert_array_equal(np_out(q(x))[::64], _log_path_po2(q, x)[::64])


@pytest.mark.parametrize("bits,max_value,quadratic,rounding", _PO2_CASES)
def test_po2_compiled_equals_eager(bits, max_value, quadratic, rounding):
  q = quantized_po2(bits, max_value, quadratic_approximation=quadratic,
                    log2_rounding=rounding)
  x = _po2_inputs(bits)
  eager = np_out(q(x))
  for kwargs in compiled_modes():
    np.testing.assert_array_equal(np_out(compiled(q, **kwargs)(tensor(x))),
                                  eager)


def test_po2_rounding_ties_are_qkeras_values_on_every_backend():
  # log(x)/log(2) of these lands within an ulp of a rounding tie; QKeras
  # (TensorFlow's log) decides them as below. JAX's and PyTorch's own log
  # round some of them the other way (quadratic 0.5: 0.25 instead of 1).
  x = np.array([0.35355341, 0.70710677, 5.6568546, -0.35355341, -5.6568546,
                0.35355338, 0.7071068], F32)
  expected = np.array([0.5, 1.0, 8.0, -0.5, -8.0, 0.25, 1.0], F32)
  quadratic = quantized_po2(5, quadratic_approximation=True)
  x2 = np.array([0.5, -0.5, 0.25, 2.0], F32)
  expected2 = np.array([1.0, -1.0, 0.25, 1.0], F32)
  for q, v, want in ((quantized_po2(4), x, expected), (quadratic, x2,
                                                        expected2)):
    np.testing.assert_array_equal(np_out(q(v)), want)
    for kwargs in compiled_modes():
      np.testing.assert_array_equal(np_out(compiled(q, **kwargs)(tensor(v))),
                                    want)


def _straight_through_pairs(high):
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top
  return [(_qmath.ste, _qmath.ste_portable),
          (lambda v, q: _qmath.ste_window(v, q, 0.0, high),
           lambda v, q: _qmath.ste_window_portable(v, q, 0.0, high))]


@pytest.mark.parametrize("high", [1.5, 0.9375, 2.0**-100, float("inf")])
def test_straight_through_fast_paths_equal_the_portable_path(high):
  """qkeras._qmath.ste / ste_window use their own backward kernels on
  TensorFlow (two ReluGrads) and plain torch.autograd.Functions on PyTorch;
  values (signed zeros, NaN, inf) and gradients, also for NaN, infinite and
  negative upstream gradients and at the window's ends, are bit for bit
  those of the keras.ops versions, eagerly and compiled (without XLA: XLA
  compiles TensorFlow's ReluGrad into a select)."""
  above = float(np.nextafter(F32(high), F32(np.inf)))
  x = np.array([-2.0, -0.0, 0.0, 1e-45, 0.5, 1.0, 1.5, high, above, 3e38,
                np.inf, -np.inf, np.nan] * 3, F32)
  xq = tensor(np.array([-1.5, -0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 1.5, 1.75, 1.75,
                        1.75, -2.0, np.nan] * 3, F32))
  upstream = np.concatenate([np.ones(13), -np.ones(13),
                             [np.nan, np.inf, -np.inf, -0.0, 2.0, -3.0,
                              np.nan, -np.inf, np.inf, np.nan, np.inf, -1.0,
                              np.nan]]).astype(F32)
  for fast, portable in _straight_through_pairs(high):
    a = np_out(fast(tensor(x), xq))
    b = np_out(portable(tensor(x), xq))
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
    for up in (None, upstream):
      want = gradient(lambda v, p=portable: p(v, xq), x, up)
      got = gradient(lambda v, f=fast: f(v, xq), x, up)
      np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
      if keras.backend.backend() == "tensorflow":  # a graph without XLA
        graph = np_out(compiled(lambda v, u, f=fast: _grad_in(f, v, xq, u))(
            tensor(x), tensor(np.ones(x.shape, F32) if up is None else up)))
        np.testing.assert_array_equal(graph.view(np.uint32),
                                      want.view(np.uint32))
      for kwargs in compiled_modes():
        # XLA (JAX's jit, TensorFlow's jit_compile) turns the product with
        # the mask into a select: 0 (not -0.0 or NaN) outside the window.
        kwargs = dict(kwargs, xla=True) if "xla" in kwargs else kwargs
        ups = np.ones(x.shape, F32) if up is None else up
        xla = np_out(compiled(lambda v, u, f=fast: _grad_in(f, v, xq, u),
                              **kwargs)(tensor(x), tensor(ups)))
        finite = np.isfinite(ups)
        np.testing.assert_array_equal(xla[finite], want[finite])


def _grad_in(fn, v, xq, upstream):
  """The gradient of ``sum(fn(v, xq) * upstream)`` inside a compiled
  function (TensorFlow: a tape; JAX: jax.grad)."""
  if keras.backend.backend() == "tensorflow":
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    with tf.GradientTape() as tape:
      tape.watch(v)
      loss = ops.sum(fn(v, xq) * upstream)
    return tape.gradient(loss, v)
  import jax  # pylint: disable=g-import-not-at-top
  return jax.grad(lambda w: ops.sum(fn(w, xq) * upstream))(v)


def test_ste_window_gradient_is_upstream_times_the_window():
  """Inside the window (0, high] the upstream gradient passes unchanged;
  outside it is multiplied by 0 (NaN stays NaN, as Keras's relu gives)."""
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top
  x = np.array([-1.0, 0.0, 0.25, 1.5, 1.5000001, np.nan, 0.5], F32)
  up = np.array([2.0, 3.0, -4.0, 5.0, 6.0, 7.0, np.nan], F32)
  g = gradient(lambda v: _qmath.ste_window(v, v, 0.0, 1.5), x, up)
  np.testing.assert_array_equal(g, [0.0, 0.0, -4.0, 5.0, 0.0, 0.0, np.nan])


def test_po2_tables_first_used_in_a_symbolic_build():
  """Lookup tables first needed while Keras builds a model symbolically
  (PyTorch: under Keras's scratch device scope) stay right after training.

  (PyTorch tables made with keras.ops there read back as zeros after fit.)
  """
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top
  from qkeras.qconvolutional import QConv1D  # pylint: disable=g-import-not-at-top
  _qmath._torch_table_tensors.cache_clear()  # pylint: disable=protected-access
  inp = keras.Input((5, 3))
  model = keras.Model(inp, QConv1D(4, 2, kernel_quantizer=quantized_bits(
      4, 0, 1))(inp))
  model.compile(keras.optimizers.Adam(0.01), "mse")
  x = np.random.RandomState(2).uniform(-1, 1, (16, 5, 3)).astype(F32)
  model.fit(x, np.zeros((16, 4, 4), F32), epochs=2, batch_size=8, verbose=0)
  v = tensor(np.array([[0.14, 0.13, 0.35355341, 3.0]], F32))
  for _ in range(20):
    np.testing.assert_array_equal(np_out(_qmath.round_to_po2(v)),
                                  [[0.125, 0.125, 0.5, 4.0]])
  first = model.predict(x, verbose=0)
  for _ in range(5):
    np.testing.assert_array_equal(model.predict(x, verbose=0), first)


def test_pow2_exact():
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top
  e = np.arange(-160, 140, dtype=np.int32)
  with np.errstate(over="ignore"):
    expected = np.ldexp(F32(1), e).astype(F32)
  expected[e < -126] = 0.0  # TensorFlow (QKeras) flushes subnormals
  np.testing.assert_array_equal(np_out(_qmath.pow2_exact(e)), expected)
  for kwargs in compiled_modes():
    result = compiled(_qmath.pow2_exact, **kwargs)(tensor(e, "int32"))
    np.testing.assert_array_equal(np_out(result), expected)
  y = np_out(_qmath.pow2_exact(np.array([3.0, np.nan, 1e9, -1e9], F32)))
  np.testing.assert_array_equal(y[[0, 2, 3]], [8.0, np.inf, 0.0])
  assert np.isnan(y[1])


# --------------------------------------------------------------------------
# Issue 19: hardening (each test failed before its fix).
# --------------------------------------------------------------------------
_DATA_SCALED = [
    lambda: quantized_bits(4, 0, 1, alpha="auto_po2"),
    lambda: quantized_bits(4, 0, 1, alpha="auto"),
    lambda: Q.quantized_linear(4, 0, alpha="auto_po2"),
    lambda: Q.quantized_hswish(8, 2, alpha="auto"),
    lambda: binary(alpha="auto"),
    lambda: ternary(alpha="auto_po2"),
    lambda: Q.stochastic_ternary(alpha="auto"),
    lambda: binary(use_stochastic_rounding=True),
]


@pytest.mark.parametrize("make", _DATA_SCALED)
@pytest.mark.parametrize("training", [False, True])
def test_empty_inputs_give_empty_outputs(make, training):
  for shape in [(0, 3), (2, 0), (0,)]:
    y = np_out(make()(np.zeros(shape, "float32"), training=training))
    assert y.shape == shape and y.dtype == np.float32


def test_empty_inputs_through_qactivation():
  from qkeras.qlayers import QActivation  # pylint: disable=g-import-not-at-top
  layer = QActivation("quantized_bits(4,0,1,alpha='auto_po2')")
  assert np_out(layer(np.zeros((0, 3), "float32"))).shape == (0, 3)


@pytest.mark.parametrize("make, name", [
    (lambda: quantized_bits(4, 0, 1, alpha=1e308), "'alpha'"),
    (lambda: quantized_bits(4, 0, 1, alpha=[1.0, 1e39]), "'alpha'"),
    (lambda: quantized_bits(4, 10, 1, alpha=1e36), "'alpha'"),
    (lambda: Q.quantized_linear(4, 10, alpha=1e36), "'alpha'"),
    (lambda: Q.quantized_ulaw(8, 0, 1, u=1e308), "'u'"),
    (lambda: Q.quantized_ulaw(8, 0, 1, u=1e-30), "'u'"),
    (lambda: Q.stochastic_binary(1e39), "'alpha'"),
    (lambda: bernoulli(0.5, temperature=1e39, use_real_sigmoid=False),
     "'temperature'"),
    (lambda: quantized_bits(4, -127), "'integer'"),
    (lambda: quantized_bits(4, -124), "'integer'"),
    (lambda: Q.quantized_relu(4, -124), "'integer'"),
    (lambda: Q.quantized_linear(4, -124), "'integer'"),
    (lambda: Q.quantized_hswish(4, -124), "'integer'"),
    (lambda: Q.quantized_ulaw(4, -127), "'integer'"),
    (lambda: quantized_bits(4, keep_negative=1e38), "'keep_negative'"),
    (lambda: quantized_bits(4, keep_negative=2), "'keep_negative'"),
    (lambda: quantized_bits(10**400), "'bits'"),
    (lambda: Q.quantized_relu(4, relu_upper_bound=10**400), "'relu_upper_bound'"),
])
def test_float32_overflowing_arguments_are_rejected(make, name):
  with pytest.raises(ValueError, match=name + r" must be .*got"):
    make()


def test_lowest_accepted_integer_gives_finite_grid_values():
  x = np.array([0.0, -0.0, 1e-38, -1e-38, 1.0, -3.0], "float32")
  for q in [quantized_bits(4, -123), Q.quantized_relu(4, -122),
            Q.quantized_linear(4, -123), Q.quantized_hswish(4, -123),
            Q.quantized_ulaw(4, -126)]:
    assert np.all(np.isfinite(np_out(q(x)))), q


def test_fraction_and_other_numbers_give_json_configs():
  from fractions import Fraction  # pylint: disable=g-import-not-at-top
  q = quantized_bits(4, 0, 1, alpha=Fraction(1, 2))
  config = json.loads(json.dumps(q.get_config()))
  assert config["alpha"] == 0.5
  assert np_out(quantized_bits.from_config(config)(np.float32(0.3))) == (
      np_out(quantized_bits(4, 0, 1, alpha=0.5)(np.float32(0.3))))
  q = Q.quantized_relu(4, 0, negative_slope=Fraction(1, 4),
                       use_sigmoid=Fraction(1, 1))
  json.dumps(q.get_config())


@pytest.mark.parametrize("make", [
    lambda: quantized_bits(4, 0, 1, alpha="auto_po2"),
    lambda: quantized_bits(4, 0, 1, alpha="auto"),
    lambda: Q.quantized_linear(4, 0, alpha="auto_po2"),
    lambda: Q.quantized_linear(4, 0, alpha="auto"),
    lambda: quantized_bits(8, 3, 1, alpha="auto_po2", max_po2_exponent=2),
    lambda: Q.quantized_hswish(8, 0, alpha="auto_po2"),
    lambda: binary(alpha="auto"),
    lambda: ternary(alpha="auto_po2"),
    lambda: Q.stochastic_ternary(alpha="auto_po2"),
    lambda: Q.stochastic_binary(alpha="auto"),
    lambda: bernoulli(alpha="auto"),
])
@pytest.mark.parametrize("training", [False, True])
def test_huge_finite_inputs_give_finite_outputs(make, training):
  for x in ([[1e38], [1.0]], [[3.4e38], [1.0]], [[3.4e38, -3e38], [1.0, -2.0]],
            np.full((4, 3), 3.4028235e38), [3.4e38, -3.4e38, 1e-30, 0.0]):
    y = np_out(make()(np.asarray(x, "float32"), training=training))
    assert np.all(np.isfinite(y)), (x, y)


def test_huge_input_keeps_the_ordinary_channel():
  # Per-channel scales: a huge channel does not change the other one.
  x = np.array([[3e38, 0.3], [1.0, -0.7], [2.0, 0.1]], "float32")
  q = quantized_bits(4, 0, 1, alpha="auto_po2")
  np.testing.assert_array_equal(np_out(q(x))[:, 1], np_out(q(x[:, 1:]))[:, 0])


def test_hswish_minus_infinity_saturates():
  y = np_out(Q.quantized_hswish(8, 2)(np.array([-np.inf, np.inf, -1e38],
                                                "float32")))
  assert y[0] == 0.0 and y[2] == 0.0 and y[1] == Q.quantized_hswish(8, 2).max(
  ) - 2.0**-5


@pytest.mark.parametrize("text", ["hard_sigmoid(3)", "hard_tanh('x')",
                                  "binary_tanh()", "smooth_sigmoid(1, 2)"])
def test_helper_functions_take_no_arguments_in_strings(text):
  with pytest.raises(ValueError, match="activation function.*quantized_bits"):
    get_quantizer(text)


def test_helper_function_names_still_resolve():
  assert get_quantizer("hard_sigmoid") is Q.hard_sigmoid
  assert get_quantizer(" binary_tanh ") is Q.binary_tanh


@pytest.mark.parametrize("x", ["abc", b"1", ["a", "b"], np.array(["1"]),
                               1 + 2j, np.array([1j]), [[1.0], [1.0, 2.0]],
                               np.array([object()])])
def test_non_numeric_inputs_raise_type_error(x):
  with pytest.raises(TypeError, match="quantized_bits: input 'x'"):
    quantized_bits(4)(x)


@pytest.mark.parametrize("make", [
    lambda a: quantized_bits(4, 0, 1, alpha=a),
    lambda a: Q.quantized_linear(4, 0, alpha=a),
    lambda a: binary(alpha=a),
    lambda a: ternary(alpha=a),
    lambda a: bernoulli(alpha=a),
])
def test_per_channel_alpha_of_wrong_length(make):
  with pytest.raises(ValueError, match=r"'alpha' has 2 values .* 3 channels"):
    make([1.0, 2.0])(np.ones((2, 3), "float32"))
  y = np_out(make([1.0, 2.0, 0.5])(np.ones((2, 3), "float32")))
  assert y.shape == (2, 3)


def test_stochastic_binary_rounding_of_an_all_zero_channel_is_finite():
  # Issue 19 (found by tests/test_properties.py): binary's stochastic
  # rounding divided by 2 * max|x| per channel, 0/0 = NaN for a channel of
  # zeros (zero-initialised biases); QKeras did the same.
  q = binary(use_stochastic_rounding=True)
  x = np.array([[0.0, 0.5, -0.25], [0.0, -0.75, 0.125]], F32)
  for value in (x, np.zeros((2, 3), F32)):
    y = np_out(q(value, training=True))
    assert np.all(np.isin(y, [-1.0, 1.0])), y
    assert np.all(np.isfinite(grad_of(q, value, training=True)))
  # Inference is the plain sign; channels with values keep their numbers.
  np.testing.assert_array_equal(np_out(q(x, training=False)),
                                np.where(x >= 0, 1.0, -1.0))


@pytest.mark.parametrize("make", [
    lambda: ternary(), lambda: ternary(threshold=0.0),
    lambda: ternary(alpha="auto"), lambda: Q.stochastic_ternary(),
])
def test_ternary_nan_stays_nan_when_compiled(make):
  # Issue 19 (found by tests/test_properties.py on JAX): XLA rewrote
  # cast(|x| >= t) * sign(x) into a select, giving 0 for NaN (eagerly NaN).
  q = make()
  x = np.array([[0.5, -0.25, 0.0], [-1.0, 0.125, np.nan]], F32)
  eager = np_out(q(x, training=False))
  assert np.isnan(eager[1, 2])
  for mode in compiled_modes():
    y = np_out(compiled(lambda v: q(v, training=False), **mode)(tensor(x)))
    np.testing.assert_array_equal(y, eager)


def test_po2_quadratic_approximation_of_huge_inputs_is_finite():
  # Issue 19 (found by tests/test_properties.py): the quadratic
  # approximation doubles the clipped exponent, up to 2 * 64 = 128 for 8-bit
  # quantized_relu_po2, and 2**128 is inf in float32 (QKeras's value) for a
  # finite input; the exponent is capped at 127, the largest power of two.
  f32_max = np.finfo(F32).max
  x = np.array([f32_max, 1e38, np.inf, 4.0], F32)
  for q in (Q.quantized_relu_po2(8, quadratic_approximation=True),
            Q.quantized_po2(9, quadratic_approximation=True)):
    y = np_out(q(x))  # sqrt(1e38) ~ 2**63.1: 2**126
    np.testing.assert_array_equal(y, [2.0**127, 2.0**126, 2.0**127, 4.0])
    y = np_out(Q.quantized_relu_po2(8, quadratic_approximation=True,
                                    use_stochastic_rounding=True)(
                                        x, training=True))
    assert np.all(np.isfinite(y[:3])), y


@pytest.mark.parametrize("make", [
    lambda: Q.quantized_relu_po2(0, max_value=1.0),
    lambda: Q.quantized_relu_po2(0, max_value=0.5),
    lambda: Q.quantized_po2(0, max_value=1.0),
])
def test_po2_quantizers_need_at_least_one_bit(make):
  # docs/compat.md: po2 quantizers take 1..32 bits; a max_value that needs no
  # exponent sign let bits=0 through.
  with pytest.raises(ValueError, match="'bits'"):
    make()


@pytest.mark.parametrize("start,limit,rounds,want", [
    (0.0, 3.0, 5, 3.0),    # reaches its fixed point in round 4
    (0.0, 99.0, 5, 5.0),   # no fixed point within the rounds
    (3.0, 3.0, 5, 3.0),    # starts at it (the cond's first branch)
    (0.0, 99.0, 1, 1.0),
])
def test_iterate_scale_equals_the_unrolled_loop(start, limit, rounds, want):
  """_qmath.iterate_scale gives what ``rounds`` unrolled rounds give, eagerly
  and compiled (where the rounds after the first run under a cond)."""
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top

  def step(s):
    return s * 10.0, ops.minimum(s + 1.0, limit)

  def run(s):
    return _qmath.iterate_scale(step, s, rounds)

  s0 = tensor(np.full((2,), start, F32))
  for fn in [run] + [compiled(run, **kw) for kw in compiled_modes()]:
    aux, s = fn(s0)
    np.testing.assert_array_equal(np_out(s), [want, want])
    aux_want = _unrolled_aux(start, limit, rounds)
    np.testing.assert_array_equal(np_out(aux), [aux_want, aux_want])


def _unrolled_aux(start, limit, rounds):
  s, aux = start, None
  for _ in range(rounds):
    aux, s = s * 10.0, min(s + 1.0, limit)
  return aux


def test_auto_po2_refinement_compiled_equals_eager():
  """auto_po2 scales whose first least-squares round moves them (so that a
  compiled call runs the remaining rounds under its cond) give the same
  outputs and scales eagerly and compiled."""
  rng = np.random.RandomState(7)
  moved = 0
  for trial in range(24):
    bits = 2 + trial % 3
    x = (rng.standard_normal((6, 4)) * rng.uniform(0.01, 1, 4)).astype(F32)
    x[0] *= rng.uniform(1, 30)
    q = quantized_bits(bits, 0, 1, alpha="auto_po2")
    want = np_out(q(tensor(x)))
    scale = np_out(q.scale)
    half = 2**(bits - 1) - 1
    a = np.abs(x)
    s0 = 2.0**np.round(np.log2(a.max(0) / half + 1e-7))
    moved += int(np.any(np.abs(np.log2(scale.ravel()) - np.log2(s0)) > 0.5))
    for kwargs in compiled_modes():
      qc = quantized_bits(bits, 0, 1, alpha="auto_po2")
      got = compiled(lambda v, qc=qc: (qc(v), qc.scale), **kwargs)(tensor(x))
      np.testing.assert_array_equal(np_out(got[0]), want)
      np.testing.assert_array_equal(np_out(got[1]), scale)
  assert moved >= 3, moved


def _around(values):
  """Each value with its float32 neighbours (two on each side)."""
  out = []
  for v in values:
    v = F32(v)
    lo = hi = v
    out.append(v)
    for _ in range(2):
      lo = np.nextafter(lo, F32(-np.inf))
      hi = np.nextafter(hi, F32(np.inf))
      out += [lo, hi]
  return np.array(out, F32)


@pytest.mark.parametrize("lo,hi,margin", [
    (-1.0, 0.9375, None), (-0.9921875, 0.9921875, None), (0.0, 1.0, 2**-25),
    (-3e-30, 5e29, None), (0.25, 0.25, None)])
def test_clip_window_equals_clip(lo, hi, margin):
  """_qmath.clip_window (TensorFlow: ReluGrad masks) gives clip's values and,
  for finite upstream gradients, clip's gradients: 1 on [lo, hi] including
  both ends, 0 outside, 0 for NaN, eagerly and in a graph."""
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top
  x = np.concatenate([_around([lo, hi, 0.0, -1.0, 1.0]),
                      [np.nan, np.inf, -np.inf, 3e38, -3e38, -0.0]]).astype(F32)
  if margin is not None:  # the grid clip_window's margin assumes
    x = x[~(np.isfinite(x) & (x < 0) & (x > -2**-24))]
  up = np.random.RandomState(3).uniform(-2, 2, x.shape).astype(F32)
  fast = lambda v: _qmath.clip_window(v, lo, hi, margin)
  portable = lambda v: _qmath.clip(v, lo, hi)
  np.testing.assert_array_equal(np_out(fast(tensor(x))).view(np.uint32),
                                np_out(portable(tensor(x))).view(np.uint32))
  want = gradient(portable, x, up)
  np.testing.assert_array_equal(gradient(fast, x, up), want)
  inside = (x >= lo) & (x <= hi)
  real = ~np.isnan(x)  # (JAX's clip passes the gradient of a NaN through)
  np.testing.assert_array_equal(want[real], np.where(inside, up, 0.0)[real])
  if not TORCH:
    graph = np_out(compiled(lambda v, u: _grad_in(
        lambda w, _: fast(w), v, None, u))(tensor(x), tensor(up)))
    np.testing.assert_array_equal(graph, want)


def test_hard_sigmoid_gradient_at_its_window_ends():
  """hard_sigmoid's gradient (0.5 on -1 <= x <= 1 as float32 computes
  0.5 * x + 0.5, else 0) on every float32 around the ends, eagerly and in a
  graph (TensorFlow: clip_window with the 2**-25 margin)."""
  from qkeras.quantizers import hard_sigmoid  # pylint: disable=g-import-not-at-top
  x = np.concatenate([
      (np.arange(-3000, 3000) * F32(2**-23) - F32(1.0)).astype(F32),
      (np.arange(-3000, 3000) * F32(2**-24) + F32(1.0)).astype(F32),
      [0.0, -0.0, np.nan, np.inf, -np.inf]]).astype(F32)
  u = (F32(0.5) * x + F32(0.5)).astype(F32)
  want = np.where((u >= 0) & (u <= 1), 0.5, 0.0).astype(F32)
  if not TENSORFLOW:  # JAX's and PyTorch's clips pass a NaN's gradient
    want[np.isnan(x)] = gradient(hard_sigmoid, x)[np.isnan(x)]
  np.testing.assert_array_equal(gradient(hard_sigmoid, x), want)
  if not TORCH:
    ones = tensor(np.ones(x.shape, F32))
    graph = np_out(compiled(lambda v, w: _grad_in(
        lambda t, _: hard_sigmoid(t), v, None, w))(tensor(x), ones))
    np.testing.assert_array_equal(graph, want)


@pytest.mark.parametrize("min_exp,max_exp,max_value", [
    (-4, 3, None), (-64, 63, None), (-127, 127, None), (-8, 0, 1.0),
    (-3, 2, 3.3), (5, 9, None), (-20, -10, None)])
def test_rnd_po2_fast_path_equals_the_table_path(min_exp, max_exp, max_value):
  """po2_exponent / po2_magnitude for log2_rounding="rnd" (one cut-off
  lookup, no base table, fewer clips) equal the general log2_code route on
  float32 values around every power of two and cut-off in range, below eps,
  zeros, subnormals, inf and NaN; eagerly and compiled."""
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top
  exps = np.arange(max(min_exp - 3, -126), min(max_exp + 3, 127))
  centres = np.concatenate([2.0**exps, 2.0**(exps + 0.5), [1e-7, 3.3, 1.0]])
  x = np.concatenate([_around(centres.astype(F32)),
                      [0.0, 1e-40, 1e-8, 3e38, np.inf, np.nan]]).astype(F32)
  x = np.abs(x)

  def reference(v):
    code = _qmath.log2_code(_qmath._po2_filter(v, max_value), "rnd")  # pylint: disable=protected-access
    e = _qmath.clip(code, min_exp, max_exp)
    e = ops.where(v < _qmath.epsilon(), min_exp, e)
    mag = _qmath.pow2_exact(ops.minimum(e, 127))
    return e, ops.where(ops.isnan(v), v, mag)

  def fast(v):
    return (_qmath.po2_exponent(v, min_exp, max_exp, max_value),
            _qmath.po2_magnitude(v, min_exp, max_exp, max_value))

  want_e, want_m = [np_out(t) for t in reference(tensor(x))]
  for fn in [fast] + [compiled(fast, **kw) for kw in compiled_modes()]:
    got_e, got_m = [np_out(t) for t in fn(tensor(x))]
    np.testing.assert_array_equal(got_e, want_e)
    np.testing.assert_array_equal(got_m.view(np.uint32)[~np.isnan(x)],
                                  want_m.view(np.uint32)[~np.isnan(x)])
    assert np.isnan(got_m[np.isnan(x)]).all()
