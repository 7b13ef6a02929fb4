"""qkeras.qmac.QScaleShift."""

import json

import keras
import numpy as np

from qkeras.qmac import QScaleShift

F32 = np.float32


def test_reference_values():
  # QKeras tests/qmac_test.py: weight 1, bias 4 (saturating at 3.96875).
  layer = QScaleShift(weight_quantizer="quantized_bits(8,2,alpha=1.0)",
                      bias_quantizer="quantized_bits(8,2,alpha=1.0)",
                      activation="quantized_bits(8,4,alpha=1.0)", name="ss")
  inp = keras.Input((2,))
  model = keras.Model(inp, layer(inp))
  layer.set_weights([np.ones((1, 1), F32), np.full((1, 1), 4.0, F32)])
  np.testing.assert_array_equal(
      model.predict(np.array([[1, 1], [2, 2]], F32), verbose=0),
      [[5, 5], [6, 6]])
  assert [w.path for w in layer.weights] == ["ss/weight", "ss/bias"]
  assert layer.get_prunable_weights() == [layer.weight, layer.bias]


def test_weight_quantizers_switch_to_auto_po2_and_config():
  layer = QScaleShift(weight_quantizer="quantized_bits(4,0,1)",
                      bias_quantizer="quantized_bits(4,0,1)")
  assert layer.weight_quantizer_internal.alpha == "auto_po2"
  assert layer.bias_quantizer_internal.alpha == "auto_po2"
  config = layer.get_config()
  json.dumps(config)
  for key in ("weight_quantizer", "bias_quantizer", "use_bias", "activation",
              "weight_initializer", "bias_initializer"):
    assert key in config
  clone = QScaleShift.from_config(config)
  assert clone.get_quantization_config() == layer.get_quantization_config()
