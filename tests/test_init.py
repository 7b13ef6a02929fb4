"""The package surface: ``import qkeras`` and ``from qkeras import *``."""

import json
import os
import subprocess
import sys

import qkeras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_PROBE = r"""
import json, os, sys
before_env = dict(os.environ)
import keras
before = (keras.config.floatx(), keras.config.epsilon(),
          keras.config.image_data_format(), keras.backend.backend())
import qkeras
after = (keras.config.floatx(), keras.config.epsilon(),
         keras.config.image_data_format(), keras.backend.backend())
print(json.dumps({
    "same_config": before == after,
    "same_env": before_env == dict(os.environ),
    "legacy": sorted(m for m in sys.modules
                     if m.startswith(("tf_keras", "tensorflow_model_optim"))),
    "hls4ml": sorted(m for m in sys.modules if m.startswith("hls4ml")),
    "version": qkeras.__version__,
    "tensorflow": ("tensorflow" in sys.modules) == (
        keras.backend.backend() == "tensorflow"),
}))
"""


def test_import_changes_no_global_state():
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  out = subprocess.run([sys.executable, "-c", _PROBE], env=env, check=True,
                       capture_output=True, text=True).stdout
  result = json.loads(out.strip().splitlines()[-1])
  assert result == {"same_config": True, "same_env": True, "legacy": [],
                    "hls4ml": [], "version": "0.9.0", "tensorflow": True}


def test_star_import_names():
  namespace = {}
  exec("from qkeras import *", namespace)  # pylint: disable=exec-used
  expected = {
      "quantized_linear", "quantized_bits", "bernoulli", "ternary",
      "stochastic_ternary", "binary", "stochastic_binary", "quantized_relu",
      "quantized_ulaw", "quantized_tanh", "quantized_sigmoid", "quantized_po2",
      "quantized_relu_po2", "quantized_hswish", "smooth_sigmoid",
      "hard_sigmoid", "binary_sigmoid", "binary_tanh", "hard_tanh",
      "smooth_tanh", "set_internal_sigmoid", "stochastic_round",
      "stochastic_round_po2", "fast_relu_quantize", "get_quantizer",
      "get_quantized_initializer", "get_weight_scale", "Registry",
      "safe_eval", "Num", "Str", "IsNum", "IsBool", "IsNone", "Bool",
      "ListofNums", "IsListofNums", "GetArg", "GetParams", "BaseQuantizer",
      "quantizers", "quantizer_registry", "registry", "base_quantizer",
      "QDense", "QActivation", "QAdaptiveActivation", "QInitializer", "Clip",
      "QConv1D", "QConv2D", "QConv2DTranspose", "QDepthwiseConv2D",
      "QSeparableConv1D", "QSeparableConv2D", "QMobileNetSeparableConv2D",
      "QDepthwiseConv2DTranspose", "QSeparableConv2DTranspose",
      "QAveragePooling2D", "QGlobalAveragePooling2D", "QBatchNormalization",
      "QScaleShift", "deconv_output_length", "qlayers", "qconvolutional",
      "qpooling", "qnormalization", "qmac", "utils",
  }
  assert expected <= set(namespace)
  assert not {"tf", "np", "K", "keras"} & set(namespace)


def test_safe_eval_is_module_and_function():
  import qkeras.safe_eval as module  # pylint: disable=g-import-not-at-top
  assert module is sys.modules["qkeras.safe_eval"]
  assert qkeras.safe_eval.GetParams("(4, alpha=auto)") == ([4], {
      "alpha": "auto"})
  q = qkeras.safe_eval("binary", {"binary": qkeras.binary})
  assert isinstance(q, qkeras.binary)


def test_upstream_module_paths():
  import importlib  # pylint: disable=g-import-not-at-top
  for name in ("quantizers", "base_quantizer", "quantizer_registry",
               "registry", "safe_eval", "qlayers", "qconvolutional",
               "qpooling", "qnormalization", "qmac", "utils",
               "qdepthwise_conv2d_transpose", "qseparable_conv2d_transpose"):
    importlib.import_module("qkeras." + name)
  assert qkeras.quantized_bits.__module__ == "qkeras.quantizers"
  assert qkeras.BaseQuantizer.__module__ == "qkeras.base_quantizer"
  modules = {
      "qkeras.qlayers": ["QDense", "QActivation", "QAdaptiveActivation",
                         "QInitializer", "Clip"],
      "qkeras.qconvolutional": ["QConv1D", "QConv2D", "QConv2DTranspose",
                                "QDepthwiseConv2D", "QSeparableConv1D",
                                "QSeparableConv2D",
                                "QMobileNetSeparableConv2D"],
      "qkeras.qdepthwise_conv2d_transpose": ["QDepthwiseConv2DTranspose"],
      "qkeras.qseparable_conv2d_transpose": ["QSeparableConv2DTranspose"],
      "qkeras.qpooling": ["QAveragePooling2D", "QGlobalAveragePooling2D"],
      "qkeras.qnormalization": ["QBatchNormalization"],
      "qkeras.qmac": ["QScaleShift"],
      "qkeras.qrecurrent": ["QSimpleRNN", "QSimpleRNNCell", "QLSTM",
                            "QLSTMCell", "QGRU", "QGRUCell", "QBidirectional"],
      "qkeras.qconv2d_batchnorm": ["QConv2DBatchnorm"],
      "qkeras.qdepthwiseconv2d_batchnorm": ["QDepthwiseConv2DBatchnorm"],
      "qkeras.qdense_batchnorm": ["QDenseBatchnorm"],
      "qkeras.qoctave": ["QOctaveConv2D", "OctaveConv2D",
                         "GetActivationSuffix"],
  }
  for module, names in modules.items():
    for name in names:
      assert getattr(qkeras, name).__module__ == module, name
  # bn_folding_utils is a façade (the function lives in qkeras._convert):
  # upstream's path gives the same object.
  from qkeras import bn_folding_utils  # pylint: disable=g-import-not-at-top
  assert qkeras.unfold_model is bn_folding_utils.unfold_model
