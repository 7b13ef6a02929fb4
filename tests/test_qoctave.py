"""qkeras.qoctave: QOctaveConv2D, OctaveConv2D, GetActivationSuffix."""

import keras
import numpy as np
import pytest

from qkeras.qconvolutional import QConv2D, QSeparableConv2D
from qkeras.qoctave import GetActivationSuffix, OctaveConv2D, QOctaveConv2D

F32 = np.float32
QUANTIZERS = dict(kernel_quantizer="quantized_bits(4,0,1)",
                  bias_quantizer="quantized_bits(6,2,1)",
                  depthwise_quantizer="quantized_bits(4,0,1)",
                  pointwise_quantizer="quantized_bits(4,0,1)",
                  acc_quantizer="quantized_bits(8,3,1)",
                  pooling_quantizer="quantized_bits(8,0,1)",
                  activation="quantized_relu(4,1)")


def test_activation_suffix():
  assert GetActivationSuffix("quantized_relu(6,2)") == "qr62"
  assert GetActivationSuffix("quantized_bits(16,7,1)") == "qb16_71"
  assert GetActivationSuffix("quantized_tanh(4)") == "qt4"
  assert GetActivationSuffix("quantized_po2(4,1)") == "q2"
  assert GetActivationSuffix(None) == "linear"


@pytest.mark.parametrize("alpha", [-1, 0.0, 0.25, 0.5, 0.75])
@pytest.mark.parametrize("use_separable", [False, True])
def test_every_alpha_and_conv_kind(alpha, use_separable):
  x_h, x_l = keras.Input((8, 8, 4)), keras.Input((4, 4, 4))
  y_h, y_l = QOctaveConv2D(8, 3, alpha, padding="same",
                           use_separable=use_separable, name="oct",
                           **QUANTIZERS)([x_h, x_l])
  outputs = [t for t in (y_h, y_l) if t is not None]
  used = [x for x in (x_h, x_l)]
  names = {layer.name for layer in keras.Model(used, outputs).layers}
  if alpha == -1:
    assert y_l is None and y_h.shape == (None, 8, 8, 8)
    assert {"oct_c_h_to_h", "oct_c_h_to_h_act_qr41"} <= names
    return
  co_h = int(8 * (1 - alpha))
  assert y_h.shape == (None, 8, 8, co_h)
  if alpha == 0.0:  # no low-frequency output channels
    assert y_l is None and "oct_c_h_to_l" not in names
    return
  assert y_l.shape == (None, 4, 4, 8 - co_h)
  assert {"oct_c_h_to_h", "oct_c_h_to_l", "oct_c_l_to_h", "oct_c_l_to_l",
          "oct_avg_h_to_l", "oct_u_l_to_h", "oct_a_h", "oct_a_l",
          "oct_h_act_qr41", "oct_l_act_qr41",
          "oct_c_h_to_h_act_qb831"} <= names
  model = keras.Model([x_h, x_l], [y_h, y_l])
  conv_class = QSeparableConv2D if use_separable else QConv2D
  assert isinstance(model.get_layer("oct_c_l_to_l"), conv_class)
  pool = model.get_layer("oct_avg_h_to_l")
  assert str(pool.average_quantizer_internal) == "quantized_bits(8,0,1)"


def test_one_by_one_low_frequency_input_uses_a_pointwise_conv():
  x_h, x_l = keras.Input((2, 2, 3)), keras.Input((1, 1, 3))
  y_h, _ = QOctaveConv2D(4, 3, 0.5, padding="same", name="o")([x_h, x_l])
  model = keras.Model([x_h, x_l], y_h)
  assert model.get_layer("o_c_l_to_h").kernel_size == (1, 1)
  assert "o_u_l_to_h" not in {layer.name for layer in model.layers}


def test_octave_model_trains():
  rng = np.random.RandomState(0)
  n = 256
  labels = rng.randint(0, 2, n)
  x = rng.normal(scale=0.3, size=(n, 8, 8, 1)).astype(F32)
  x[labels == 1, 2:6, 2:6] += 1.0  # a bright square means class 1
  inp = keras.Input((8, 8, 1))
  low = keras.layers.AveragePooling2D(2)(inp)
  y_h, y_l = QOctaveConv2D(8, 3, 0.5, padding="same", use_separable=False,
                           kernel_quantizer="quantized_bits(4,0,1)",
                           activation="quantized_relu(4,1)",
                           name="oct")([inp, low])
  feats = keras.layers.Concatenate()([
      keras.layers.GlobalAveragePooling2D()(y_h),
      keras.layers.GlobalAveragePooling2D()(y_l)])
  out = keras.layers.Dense(1, activation="sigmoid")(feats)
  model = keras.Model(inp, out)
  model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy",
                metrics=["accuracy"])
  keras.utils.set_random_seed(0)
  history = model.fit(x, labels.astype(F32), epochs=10, batch_size=32,
                      verbose=0)
  assert history.history["accuracy"][-1] > 0.9


def test_float_octave():
  x_h, x_l = keras.Input((8, 8, 2)), keras.Input((4, 4, 2))
  y_h, y_l = OctaveConv2D(6, 3, 0.5, padding="same", activation="relu",
                          name="f")([x_h, x_l])
  assert (y_h.shape, y_l.shape) == ((None, 8, 8, 3), (None, 4, 4, 3))


def test_bad_arguments():
  with pytest.raises(ValueError, match="'alpha'"):
    QOctaveConv2D(4, 3, 1.0)
  with pytest.raises(ValueError, match="unknown argument"):
    QOctaveConv2D(4, 3, 0.5, quantizer="binary")
  with pytest.raises(ValueError, match="unknown argument"):
    OctaveConv2D(4, 3, 0.5, kernel_quantizer="binary")
