# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``ForgivingFactorBits``: model cost = bits of parameters and activations.

For every layer::

  parameters  = sum over weights of bits(weight) * size(weight)
  activations = bits(output) * size(output)   (one sample)
  total       = the parts the ``config`` selects for the layer class

Float layers count ``ref_bits`` per value, quantized ones their quantizer's
``bits``. The reference cost is ``stress * total`` of the float model.
"""

import numpy as np

from qkeras.autoqkeras.forgiving_metrics.forgiving_factor import (
    ForgivingFactor)
from qkeras.autoqkeras.utils import activation_name
from qkeras.quantizers import get_quantizer

KERAS_WEIGHT_LAYERS = ("Dense", "Conv2D", "Conv1D", "DepthwiseConv2D")
Q_WEIGHT_LAYERS = tuple("Q" + name for name in KERAS_WEIGHT_LAYERS)
DEFAULT_CONFIG = {"default": ["parameters", "activations"]}


def _size(shape):
  """Number of values of ``shape`` (an int for empty shapes too)."""
  return int(np.prod([int(d) for d in shape]))


def _output_size(layer):
  """Values per sample of ``layer``'s output (the batch axis dropped)."""
  return _size(layer.output.shape[1:])


class ForgivingFactorBits(ForgivingFactor):
  """Forgiving factor on the bits of a model (see the module docstring).

  Args:
    delta_p, delta_n, rate: see ``ForgivingFactor``.
    stress: factor applied to the reference size (< 1 asks for more).
    input_bits: bits per value of the model inputs.
    output_bits: bits of softmax / sigmoid outputs.
    ref_bits: bits of every float value.
    config: ``{class_name or "default": subset of ["parameters",
      "activations"]}``, the parts counted per layer class.
  """

  size_label = "size (bits)"

  def __init__(self, delta_p, delta_n, rate, stress=1.0, input_bits=8,
               output_bits=8, ref_bits=8, config=None):
    super().__init__(delta_p, delta_n, rate)
    self.stress = stress
    self.input_bits = input_bits
    self.output_bits = output_bits
    self.ref_bits = ref_bits
    self.config = config if config is not None else DEFAULT_CONFIG
    self.ref_p = self.ref_a = None
    self.total_p_bits = self.total_a_bits = None
    self.reference_size_dict = None
    self.trial_size_dict = None

  def _bits(self, quantizer):
    """A quantizer's ``bits``; ``ref_bits`` without one."""
    bits = getattr(quantizer, "bits", None) if quantizer else None
    return self.ref_bits if bits is None else bits

  def _param_size(self, layer):
    """Bits of the layer's weights (0 for layers without modelled ones)."""
    name = layer.__class__.__name__
    weights = layer.get_weights()
    if name in KERAS_WEIGHT_LAYERS:
      return sum(self.ref_bits * _size(w.shape) for w in weights)
    if name in Q_WEIGHT_LAYERS:
      return sum(self._bits(q) * _size(w.shape)
                 for q, w in zip(layer.get_quantizers(), weights))
    if name in ("BatchNormalization", "QBatchNormalization"):
      # Folded into a scale (the last weight) and, with center, an offset.
      scale_bits, offset_bits = ((self.ref_bits, self.ref_bits)
                                 if name == "BatchNormalization" else (6, 5))
      size = scale_bits * _size(weights[-1].shape)
      if layer.center:
        size += offset_bits * _size(weights[int(layer.scale)].shape)
      return size
    return 0

  def _activation_bits(self, activation):
    """Bits of a QActivation-like ``activation`` (0 when linear)."""
    name = activation_name(activation)
    if name == "linear":
      return 0
    if name in ("softmax", "sigmoid"):
      return self.output_bits
    if isinstance(activation, str):
      activation = get_quantizer(activation)
    return self._bits(activation)

  def _act_size(self, layer):
    """Bits of the layer's output (0 for layers that pass values on)."""
    name = layer.__class__.__name__
    if name == "InputLayer":
      return self.input_bits * _output_size(layer)
    if name in KERAS_WEIGHT_LAYERS:
      if activation_name(layer.activation) == "linear":
        return 0
      return self.ref_bits * _output_size(layer)
    if name in Q_WEIGHT_LAYERS:
      act = activation_name(layer.activation)
      if act == "softmax":
        return self.output_bits * _output_size(layer)
      if act == "linear":
        return 0
      return self._bits(layer.activation) * _output_size(layer)
    if name in ("Activation", "QActivation"):
      return self._activation_bits(layer.activation) * _output_size(layer)
    return 0

  def _parts(self, layer):
    return self.config.get(layer.__class__.__name__,
                           self.config.get("default", []))

  def compute_model_size(self, model):
    """``(total, parameter_bits, activation_bits, per_layer)`` with
    ``per_layer[name] = {"parameters", "activations", "total"}``."""
    total_p = total_a = 0
    per_layer = {}
    for layer in model.layers:
      parts = self._parts(layer)
      p = self._param_size(layer) if "parameters" in parts else 0
      a = self._act_size(layer) if "activations" in parts else 0
      per_layer[layer.name] = {"parameters": p, "activations": a,
                               "total": p + a}
      total_p += p
      total_a += a
    return total_p + total_a, total_p, total_a, per_layer

  def get_reference(self, model):
    """``stress *`` bits of ``model``; computed once and cached."""
    if self.reference_size is None:
      total, self.ref_p, self.ref_a, self.reference_size_dict = (
          self.compute_model_size(model))
      self.reference_size = total * self.stress
    return self.reference_size

  def get_reference_stats(self):
    return self.reference_size_dict

  def get_trial(self, model):
    """Bits of the trial ``model``."""
    self.trial_size, self.total_p_bits, self.total_a_bits, (
        self.trial_size_dict) = self.compute_model_size(model)
    return self.trial_size

  def get_trial_stats(self):
    return self.trial_size_dict

  def get_total_factor(self):
    """Relative change of the unstressed bits: ``(trial - ref) / ref``."""
    reference = self.ref_a + self.ref_p
    return (self.total_a_bits + self.total_p_bits - reference) / reference

  def print_stats(self):
    """Prints sizes and the change (percent) versus the reference."""
    reference = self.ref_a + self.ref_p
    trial = self.total_a_bits + self.total_p_bits
    print("stats: delta_p={} delta_n={} rate={} trial_size={} "
          "reference_size={}".format(self.delta_p, self.delta_n, self.rate,
                                     int(self.trial_size),
                                     int(self.reference_size)))
    print("       delta={:.2f}%".format(float(self.delta()) * 100))
    print("       a_bits={}/{} ({:.2f}%) p_bits={}/{} ({:.2f}%)".format(
        int(self.total_a_bits), int(self.ref_a),
        _percent(self.total_a_bits, self.ref_a),
        int(self.total_p_bits), int(self.ref_p),
        _percent(self.total_p_bits, self.ref_p)))
    print("       total={}/{} ({:.2f}%)".format(
        int(trial), int(reference), _percent(trial, reference)))


def _percent(trial, reference):
  """``100 * (trial - reference) / reference`` (0 for a zero reference)."""
  return 100.0 * (trial - reference) / reference if reference else 0.0
