"""Keras-2 (QKeras 0.9) ``.h5`` model files written by hand (shared by tests).

The layout is the one ``tf.keras`` 2.12 writes (as in tests/data): the model
config as JSON in ``model_config`` and one group of weights per layer.
"""

import json

import h5py
import numpy as np


def quantizer(bits, integer):
  """A Keras-2 config of ``quantized_bits(bits, integer, 1, alpha=1)``."""
  return {"class_name": "quantized_bits", "config": {
      "bits": bits, "integer": integer, "symmetric": 1, "alpha": 1,
      "keep_negative": True, "use_stochastic_rounding": False,
      "qnoise_factor": 1.0}}


def conv2d_transpose_config(name, filters, kernel_size, strides, padding,
                            **extra):
  """Keras 2.12's ``Conv2DTranspose`` config (with ``groups``) plus ``extra``."""
  config = {
      "name": name, "trainable": True, "dtype": "float32",
      "filters": filters, "kernel_size": list(kernel_size),
      "strides": list(strides), "padding": padding,
      "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
      "activation": "linear", "use_bias": True,
      "kernel_initializer": {"class_name": "GlorotUniform",
                             "config": {"seed": None}},
      "bias_initializer": {"class_name": "Zeros", "config": {}},
      "kernel_regularizer": None, "bias_regularizer": None,
      "activity_regularizer": None, "kernel_constraint": None,
      "bias_constraint": None, "output_padding": None}
  config.update(extra)
  return config


def write_one_layer_model(path, class_name, layer_config, input_shape,
                          weights):
  """Writes ``Input(input_shape) -> class_name(**layer_config)`` to ``path``.

  ``weights`` is a list of ``(weight name, value)``, e.g.
  ``("dt/depthwise_kernel:0", kernel)``.
  """
  name = layer_config["name"]
  config = {"class_name": "Functional", "config": {
      "name": "model", "trainable": True, "layers": [
          {"class_name": "InputLayer", "config": {
              "batch_input_shape": [None] + list(input_shape),
              "dtype": "float32", "sparse": False, "ragged": False,
              "name": "in"},
           "name": "in", "inbound_nodes": []},
          {"class_name": class_name, "config": layer_config,
           "name": name, "inbound_nodes": [[["in", 0, 0, {}]]]}],
      "input_layers": [["in", 0, 0]], "output_layers": [[name, 0, 0]]}}
  with h5py.File(path, "w") as f:
    f.attrs["backend"] = "tensorflow"
    f.attrs["keras_version"] = "2.12.0"
    f.attrs["model_config"] = json.dumps(config)
    group = f.create_group("model_weights")
    group.attrs["backend"] = "tensorflow"
    group.attrs["keras_version"] = "2.12.0"
    group.attrs["layer_names"] = np.array([b"in", name.encode()])
    group.create_group("in").attrs["weight_names"] = np.array([], "S1")
    layer_group = group.create_group(name)
    layer_group.attrs["weight_names"] = np.array(
        [n.encode() for n, _ in weights])
    for weight_name, value in weights:
      layer_group.create_dataset(weight_name, data=value)
    top = group.create_group("top_level_model_weights")
    top.attrs["weight_names"] = np.array([], "S1")
