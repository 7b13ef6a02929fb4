# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Octave convolution: ``QOctaveConv2D`` (quantized) and ``OctaveConv2D``.

An octave convolution keeps a high-frequency tensor ``x_h`` and a
low-frequency one ``x_l`` at half the resolution, and computes four paths::

    y_h = conv_hh(x_h) + upsample(conv_lh(x_l))
    y_l = conv_ll(x_l) + conv_hl(avgpool(x_h))

``alpha`` is the fraction of the ``filters`` that go to the low-frequency
output (``alpha=-1``: a single high-frequency convolution). Both functions
return a function of ``[x_h, x_l]`` (either may be None) that builds the
layers and returns ``[y_h, y_l]``; use ``padding="same"`` so the paths' shapes
agree. Layer names follow QKeras: ``<name>_c_h_to_h``, ``_c_h_to_l``,
``_c_l_to_h``, ``_c_l_to_l``, ``_avg_h_to_l``, ``_u_l_to_h``, ``_a_h``,
``_a_l``, ``_h_act_<suffix>``, ``_l_act_<suffix>``.
"""

import re

import keras

from qkeras.qconvolutional import QConv2D
from qkeras.qconvolutional import QSeparableConv2D
from qkeras.qlayers import QActivation
from qkeras.qpooling import QAveragePooling2D

__all__ = ["GetActivationSuffix", "QOctaveConv2D", "OctaveConv2D"]


def GetActivationSuffix(activation):  # pylint: disable=invalid-name
  """A short tag for layer names: ``quantized_relu(6,2)`` -> ``qr62``.

  None -> "linear"; po2 quantizers -> "q2"; otherwise "qr" (relu), "qt"
  (tanh) or "qb" followed by the numbers of the string (multi-digit numbers
  get a trailing "_": ``quantized_bits(16,7,1)`` -> ``qb16_71``).
  """
  if not activation:
    return "linear"
  activation = str(activation)
  if "po2" in activation:
    return "q2"
  if "quantized_relu" in activation:
    suffix = "qr"
  elif "quantized_tanh" in activation:
    suffix = "qt"
  else:
    suffix = "qb"
  numbers = re.findall(r"[0-9]+", activation)
  return suffix + "".join(n + "_" if len(n) > 1 else n for n in numbers)


def _check_alpha(alpha):
  if alpha != -1 and not 0.0 <= alpha < 1.0:
    raise ValueError(f"QOctaveConv2D: argument 'alpha' must be -1 or in "
                     f"[0, 1), got {alpha!r}.")


def _octave(make_conv, make_pool, make_act, filters, alpha, name,
            activation, acc_activation):
  """The shared wiring; the ``make_*`` callables create the layers."""
  _check_alpha(alpha)
  act_suffix = "_" + GetActivationSuffix(activation)
  acc_suffix = "_" + GetActivationSuffix(acc_activation)

  def accumulate(x, path):
    if acc_activation:
      x = make_act(acc_activation, f"{name}_c_{path}_act{acc_suffix}")(x)
    return x

  def block(x):
    x_h, x_l = x
    if alpha == -1:
      x_h = make_conv(filters, f"{name}_c_h_to_h")(x_h)
      if activation:
        x_h = make_act(activation, f"{name}_c_h_to_h_act{act_suffix}")(x_h)
      return [x_h, None]
    co_h = int(filters * (1 - alpha))
    co_l = filters - co_h
    h_to_h = h_to_l = l_to_h = l_to_l = None
    if co_h > 0 and x_h is not None:
      h_to_h = accumulate(make_conv(co_h, f"{name}_c_h_to_h")(x_h), "h_to_h")
    if co_l > 0 and x_h is not None:
      pooled = make_pool(f"{name}_avg_h_to_l")(x_h)
      h_to_l = accumulate(make_conv(co_l, f"{name}_c_h_to_l")(pooled),
                          "h_to_l")
    if co_h > 0 and x_l is not None:
      one_by_one = tuple(x_l.shape[1:3]) == (1, 1)
      l_to_h = make_conv(co_h, f"{name}_c_l_to_h", pointwise=one_by_one)(x_l)
      l_to_h = accumulate(l_to_h, "l_to_h")
      if not one_by_one:
        l_to_h = keras.layers.UpSampling2D(
            size=(2, 2), name=f"{name}_u_l_to_h")(l_to_h)
    if co_l > 0 and x_l is not None:
      l_to_l = accumulate(make_conv(co_l, f"{name}_c_l_to_l")(x_l), "l_to_l")
    y_h = _sum(h_to_h, l_to_h, f"{name}_a_h")
    y_l = _sum(l_to_l, h_to_l, f"{name}_a_l")
    if y_h is not None and activation:
      y_h = make_act(activation, f"{name}_h_act{act_suffix}")(y_h)
    if y_l is not None and activation:
      y_l = make_act(activation, f"{name}_l_act{act_suffix}")(y_l)
    return [y_h, y_l]

  return block


def _sum(a, b, name):
  if a is not None and b is not None:
    return keras.layers.Add(name=name)([a, b])
  return a if a is not None else b


def QOctaveConv2D(  # pylint: disable=invalid-name
    filters, kernel_size, alpha, strides=(1, 1), padding="valid",
    kernel_initializer="he_normal", bias_initializer="zeros",
    kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
    bias_constraint=None, use_separable=True, name="", **kwargs):
  """Quantized octave convolution (see the module docstring).

  Extra keyword arguments (as QKeras): ``kernel_quantizer``,
  ``bias_quantizer`` (QConv2D paths), ``depthwise_quantizer``,
  ``pointwise_quantizer``, ``depthwise_activation`` (QSeparableConv2D paths,
  ``use_separable=True``), ``acc_quantizer`` (a QActivation after each
  path), ``pooling_quantizer`` (the average pooling's quantizer),
  ``activation`` (a QActivation on each output), and the deprecated
  ``kernel_range``/``bias_range``/``depthwise_range``/``pointwise_range``.
  """
  known = {"kernel_quantizer", "bias_quantizer", "depthwise_quantizer",
           "pointwise_quantizer", "acc_quantizer", "pooling_quantizer",
           "depthwise_activation", "activation", "kernel_range",
           "bias_range", "depthwise_range", "pointwise_range"}
  unknown = sorted(set(kwargs) - known)
  if unknown:
    raise ValueError(f"QOctaveConv2D: unknown argument(s) {unknown}; "
                     f"allowed: {sorted(known)}.")
  get = kwargs.get
  common = dict(strides=strides, padding=padding,
                bias_initializer=bias_initializer,
                bias_regularizer=bias_regularizer,
                bias_constraint=bias_constraint,
                bias_quantizer=get("bias_quantizer"))

  def make_conv(channels, layer_name, pointwise=False):
    if use_separable and not pointwise:
      return QSeparableConv2D(
          channels, kernel_size, depthwise_initializer=kernel_initializer,
          depthwise_regularizer=kernel_regularizer,
          depthwise_constraint=kernel_constraint,
          pointwise_initializer=kernel_initializer,
          pointwise_regularizer=kernel_regularizer,
          pointwise_constraint=kernel_constraint,
          depthwise_quantizer=get("depthwise_quantizer"),
          pointwise_quantizer=get("pointwise_quantizer"),
          depthwise_activation=get("depthwise_activation"), name=layer_name,
          **common)
    args = dict(common)
    if pointwise:  # a 1x1 low-frequency input: a 1x1 "same" convolution
      args.update(strides=1, padding="same")
    return QConv2D(
        channels, 1 if pointwise else kernel_size,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=kernel_regularizer,
        kernel_constraint=kernel_constraint,
        kernel_quantizer=get("kernel_quantizer"),
        kernel_range=get("kernel_range"), bias_range=get("bias_range"),
        name=layer_name, **args)

  def make_pool(layer_name):
    return QAveragePooling2D(pool_size=2, strides=2,
                             average_quantizer=get("pooling_quantizer"),
                             name=layer_name)

  def make_act(activation, layer_name):
    return QActivation(activation, name=layer_name)

  return _octave(make_conv, make_pool, make_act, filters, alpha, name,
                 get("activation"), get("acc_quantizer"))


def OctaveConv2D(  # pylint: disable=invalid-name
    filters, kernel_size, alpha, strides=(1, 1), padding="valid",
    kernel_initializer="he_normal", bias_initializer="zeros",
    kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
    bias_constraint=None, activation=None, use_separable=True, name="",
    **kwargs):
  """The float octave convolution (Keras Conv2D / SeparableConv2D paths).

  ``acc_activation`` (keyword) applies a Keras activation after each path.
  """
  acc_activation = kwargs.pop("acc_activation", None)
  if kwargs:
    raise ValueError(f"OctaveConv2D: unknown argument(s) {sorted(kwargs)}.")
  common = dict(strides=strides, padding=padding,
                bias_initializer=bias_initializer,
                bias_regularizer=bias_regularizer,
                bias_constraint=bias_constraint)

  def make_conv(channels, layer_name, pointwise=False):
    if use_separable and not pointwise:
      return keras.layers.SeparableConv2D(
          channels, kernel_size, depthwise_initializer=kernel_initializer,
          depthwise_regularizer=kernel_regularizer,
          depthwise_constraint=kernel_constraint,
          pointwise_initializer=kernel_initializer,
          pointwise_regularizer=kernel_regularizer,
          pointwise_constraint=kernel_constraint, name=layer_name, **common)
    args = dict(common)
    if pointwise:
      args.update(strides=1, padding="same")
    return keras.layers.Conv2D(
        channels, 1 if pointwise else kernel_size,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=kernel_regularizer,
        kernel_constraint=kernel_constraint, name=layer_name, **args)

  def make_pool(layer_name):
    return keras.layers.AveragePooling2D(pool_size=2, strides=2,
                                         name=layer_name)

  def make_act(act, layer_name):
    return keras.layers.Activation(act, name=layer_name)

  return _octave(make_conv, make_pool, make_act, filters, alpha, name,
                 activation, acc_activation)
