# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Quantized weights kept between inference calls (TensorFlow graphs).

A weight quantizer with a data-fitted scale (``alpha="auto"`` or
``"auto_po2"``, QKeras's kernel default: a least-squares scale search) costs
dozens of small ops per weight and call. In a TensorFlow graph without XLA
each op costs about a microsecond of executor time whatever its size, and
``predict`` / ``evaluate`` re-quantize weights that have not changed.

``quantize_weight`` keeps, per Q-layer weight, the float value it last
quantized and the quantized value, in two variables, and returns the stored
value when the weight is unchanged. The test compares the bit patterns of
the whole weight with the stored copy (so -0.0 differs from +0.0, and a NaN
from another NaN), so the result is always, bit for bit, what the
quantizer (a deterministic function of those bits) gives for the current
weight, however the weight was changed (training, ``set_weights``,
``load_weights``, ``assign``).

Only inference (``training`` False or None) in a ``tf.function`` (Keras's
predict, test and serving functions) uses it, for deterministic quantizers
with a data-fitted scale and no variables of their own, on float32 Keras
variables, outside ``tf.distribute`` strategies. The variables are created
outside the graph on first use and are not layer weights (``get_weights``,
``.keras`` files and ``.h5`` files are unchanged). ``QKERAS_INFERENCE_CACHE=0``
turns it off.
"""

import os

import keras

from qkeras import _qmath

_ATTRIBUTE = "_qkeras_inference_cache"


def applies(quantizer, value, training):
  """Whether ``quantize_weight`` handles this call."""
  if keras.backend.backend() != "tensorflow":
    return False
  if os.environ.get("QKERAS_INFERENCE_CACHE", "1") == "0":
    return False
  if _qmath.static_training(training) is not False:
    return False
  if not isinstance(value, keras.Variable) or (
      keras.backend.standardize_dtype(value.dtype) != "float32"):
    return False
  if not isinstance(getattr(quantizer, "alpha", None), str):
    return False
  may_be_stochastic = getattr(quantizer, "_may_be_stochastic", None)
  if may_be_stochastic is None or may_be_stochastic():
    return False
  if quantizer.state_variables():
    return False
  # Not while Keras traces a layer symbolically (shapes only) or statelessly.
  from keras.src.backend.common.stateless_scope import in_stateless_scope  # pylint: disable=g-import-not-at-top
  from keras.src.backend.common.symbolic_scope import in_symbolic_scope  # pylint: disable=g-import-not-at-top
  if in_symbolic_scope() or in_stateless_scope():
    return False
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return not tf.executing_eagerly() and not tf.distribute.has_strategy()


class _Entry:
  """The float weight last quantized and its quantized value."""

  def __init__(self, tf, shape):
    with tf.init_scope():
      self.filled = tf.Variable(False, trainable=False,
                                name="qkeras_cache_filled")
      self.seen = tf.Variable(tf.zeros(shape), trainable=False,
                              name="qkeras_seen_weight")
      self.quantized = tf.Variable(tf.zeros(shape), trainable=False,
                                   name="qkeras_quantized_weight")
    self.shape = tuple(shape)


def quantize_weight(layer, name, value, quantize):
  """``quantize()`` (the quantized ``value``), or its stored copy when
  ``value`` equals, bit for bit, the weight quantized last time."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  entries = layer.__dict__.setdefault(_ATTRIBUTE, {})
  shape = tuple(value.shape)
  entry = entries.get(name)
  if entry is None or entry.shape != shape:
    entry = entries[name] = _Entry(tf, shape)
  weight = tf.convert_to_tensor(value.value)
  # Bit patterns, so that -0.0 and +0.0 differ (a quantizer could tell).
  same = tf.logical_and(entry.filled, tf.reduce_all(tf.equal(
      tf.bitcast(weight, tf.int32), tf.bitcast(entry.seen, tf.int32))))

  def stored():
    return tf.identity(entry.quantized)

  def fresh():
    xq = tf.convert_to_tensor(quantize())
    with tf.control_dependencies([entry.seen.assign(weight),
                                  entry.quantized.assign(xq),
                                  entry.filled.assign(True)]):
      return tf.identity(xq)

  return tf.cond(same, stored, fresh)
