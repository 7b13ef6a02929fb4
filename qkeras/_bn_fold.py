# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Batch-norm folding shared by ``QConv2DBatchnorm``,
``QDepthwiseConv2DBatchnorm`` and ``QDenseBatchnorm``.

The layer keeps a float kernel ``W``, an optional bias ``b`` and a Keras
``BatchNormalization`` sublayer (gamma, beta, moving mean/variance) and
computes, with ``inv = gamma * rsqrt(var + eps)``::

    W_f = inv * W        b_f = inv * (b - mean) + beta
    y   = op(x, kernel_quantizer(W_f)) [* y_corr] + bias_quantizer(b_f)

``folding_mode="ema_stats_folding"`` (default) always folds the kernel with
the moving statistics; in training the bias uses the batch statistics and
the output is rescaled by ``y_corr = sqrt(mv + eps) * rsqrt(var + eps)``.
``"batch_stats_folding"`` folds both with the batch statistics in training.
After ``ema_freeze_delay`` training steps the batch statistics are no longer
used (nor the moving averages updated): the folded layer then trains like the
inference graph.
"""

import warnings

import keras
from keras import ops

from qkeras.qlayers import construction_stacklevel

FOLDING_MODES = ("ema_stats_folding", "batch_stats_folding")
# The own arguments a folded layer adds to its plain Q-layer's.
FOLDING_OWN_NAMES = ("batchnorm", "ema_freeze_delay", "folding_mode")
BN_ARGS = ("axis", "momentum", "epsilon", "center", "scale",
           "beta_initializer", "gamma_initializer", "moving_mean_initializer",
           "moving_variance_initializer", "beta_regularizer",
           "gamma_regularizer", "beta_constraint", "gamma_constraint")
# Keras-2 BatchNormalization arguments Keras 3 lacks, with their defaults;
# dropped (with a warning when set to anything else).
UNSUPPORTED_BN_DEFAULTS = {
    "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
    "fused": None, "virtual_batch_size": None, "adjustment": None,
    "synchronized": False,
}
UNSUPPORTED_BN_ARGS = tuple(UNSUPPORTED_BN_DEFAULTS)


def check_folding_args(owner, ema_freeze_delay, folding_mode):
  if folding_mode not in FOLDING_MODES:
    raise ValueError(f"{owner}: argument 'folding_mode' must be one of "
                     f"{', '.join(repr(m) for m in FOLDING_MODES)}, got "
                     f"{folding_mode!r}.")
  if ema_freeze_delay is not None and (
      isinstance(ema_freeze_delay, bool) or
      not isinstance(ema_freeze_delay, int) or ema_freeze_delay < 0):
    raise ValueError(f"{owner}: argument 'ema_freeze_delay' must be None or "
                     f"an integer >= 0, got {ema_freeze_delay!r}.")


def drop_unsupported_bn_args(owner, args, stacklevel):
  """Pops Keras-2 BatchNormalization arguments Keras 3 lacks out of ``args``,
  warning (at ``stacklevel``) for any not at its default."""
  for key, default in UNSUPPORTED_BN_DEFAULTS.items():
    value = args.pop(key, default)
    if value != default and value is not None:
      warnings.warn(f"{owner}: argument '{key}' is not supported and is "
                    "ignored.", stacklevel=stacklevel + 1)


def split_bn_args(owner, args, stacklevel):
  """Pops the BatchNormalization arguments out of ``args`` (the unsupported
  ones dropped, see ``drop_unsupported_bn_args``)."""
  bn_args = {k: args.pop(k) for k in BN_ARGS}
  if isinstance(bn_args["axis"], (list, tuple)):
    if len(bn_args["axis"]) != 1:
      raise ValueError(f"{owner}: argument 'axis' must be a single axis, got "
                       f"{bn_args['axis']!r}.")
    bn_args["axis"] = bn_args["axis"][0]
  drop_unsupported_bn_args(owner, args, stacklevel + 1)
  return bn_args


class BatchnormFoldMixin:
  """The folding machinery, before a plain Q-layer in the bases.

  The folded layer's constructor arguments are the plain layer's plus
  ``FOLDING_OWN_NAMES`` and the BatchNormalization arguments; these become
  the ``batchnorm`` sublayer (built before the Keras parent's ``__init__``,
  stored by ``QLayerMixin`` as an own argument). The plain Q-layer provides ``_linear(inputs, kernel)`` (its conv or
  matmul); a layer whose kernel is not ``kernel`` overrides
  ``_kernel_quantizer_name``, ``_kernel_variable()`` and ``_fold_kernel(inv)``.
  """

  _kernel_quantizer_name = "kernel_quantizer"

  def _prepare_arguments(self, owner, arguments):
    """Checks the folding arguments; the BatchNormalization arguments become
    ``arguments["batchnorm"]``."""
    super()._prepare_arguments(owner, arguments)
    check_folding_args(owner, arguments["ema_freeze_delay"],
                       arguments["folding_mode"])
    bn_args = split_bn_args(owner, arguments, construction_stacklevel(self))
    arguments["batchnorm"] = keras.layers.BatchNormalization(**bn_args)

  def build(self, input_shape):
    super().build(input_shape)
    self._build_folding(self.compute_output_shape(input_shape))

  def call(self, inputs, training=None):
    return self._folded_call(inputs, training)

  def get_config(self):
    return self._folding_config(super().get_config())

  def _kernel_variable(self):
    return self.kernel

  def _fold_kernel(self, inv):
    """``inv * W`` (``inv`` has one value per output channel)."""
    return inv * self.kernel

  def _per_channel(self, v):
    """``v`` (one value per output channel) shaped to broadcast."""
    if getattr(self, "data_format", None) == "channels_first":
      return ops.reshape(v, (1, -1, 1, 1))
    return v

  def _build_folding(self, output_shape):
    self.batchnorm.build(output_shape)
    self._iteration = self.add_weight(
        name="iteration", shape=(), dtype="int64", trainable=False,
        initializer=keras.initializers.Constant(-1))

  def _inv(self, variance):
    inv = ops.rsqrt(variance + self.batchnorm.epsilon)
    if self.batchnorm.gamma is not None:
      inv = inv * self.batchnorm.gamma
    return inv

  def _beta(self):
    return 0.0 if self.batchnorm.beta is None else self.batchnorm.beta

  def _moments(self, outputs):
    axis = self.batchnorm.axis % len(outputs.shape)
    axes = [a for a in range(len(outputs.shape)) if a != axis]
    return ops.moments(outputs, axes=axes)

  def _fold(self, inputs, bias, training):
    """``(inv, folded_bias, y_corr)`` for this call; updates the EMAs.

    ``y_corr`` is None outside ``ema_stats_folding`` training.
    """
    bn = self.batchnorm
    mm, mv = bn.moving_mean, bn.moving_variance
    if not training:
      mv_inv = self._inv(mv)
      return mv_inv, mv_inv * (bias - mm) + self._beta(), None
    outputs = self._linear(inputs, self._kernel_variable())
    if self.use_bias:
      outputs = outputs + self._per_channel(self.bias)
    mean, variance = self._moments(outputs)
    if self.ema_freeze_delay is None:
      bn_training = None  # always
    else:
      bn_training = self._iteration <= self.ema_freeze_delay
    momentum = bn.momentum
    for var, value in ((mm, mean), (mv, variance)):
      old = ops.convert_to_tensor(var)
      moved = old * momentum + value * (1.0 - momentum)
      var.assign(moved if bn_training is None else ops.where(
          bn_training, moved, old))
    self._iteration.assign_add(1)
    # As in QKeras, the folding reads the statistics after this update.
    mm, mv = ops.convert_to_tensor(mm), ops.convert_to_tensor(mv)
    mv_inv = self._inv(mv)
    batch_inv = self._inv(variance)

    def select(batch, moving):
      return batch if bn_training is None else ops.where(bn_training, batch,
                                                         moving)

    folded_bias = select(batch_inv * (bias - mean) + self._beta(),
                         mv_inv * (bias - mm) + self._beta())
    if self.folding_mode == "batch_stats_folding":
      return select(batch_inv, mv_inv), folded_bias, None
    y_corr = select(ops.sqrt(mv + bn.epsilon) * ops.rsqrt(variance +
                                                          bn.epsilon),
                    ops.ones_like(mv))
    return mv_inv, folded_bias, y_corr

  def _folded_call(self, inputs, training):
    """The folded forward pass (see the module docstring)."""
    training = bool(training) and self.trainable
    bias = self.bias if self.use_bias else 0.0
    inv, folded_bias, y_corr = self._fold(inputs, bias, training)
    folded_kernel = self._fold_kernel(inv)
    kernel = self._quantize(self._kernel_quantizer_name, folded_kernel,
                            training)
    outputs = self._linear(inputs, kernel)
    if y_corr is not None:
      outputs = outputs * self._per_channel(y_corr)
    folded_bias = self._quantize("bias_quantizer", folded_bias, training)
    outputs = outputs + self._per_channel(folded_bias)
    return self._activate(outputs, training)

  # Keras 3's Dense/Conv save only "kernel" and "bias" of their own
  # variables; the folded layers also own ``iteration``.
  def save_own_variables(self, store):
    keras.layers.Layer.save_own_variables(self, store)

  def load_own_variables(self, store):
    keras.layers.Layer.load_own_variables(self, store)

  # QKeras's weight order (trainable, then non-trainable): kernel, [bias],
  # gamma, beta, iteration, moving_mean, moving_variance. (Keras 3's own
  # order would put the layer's ``iteration`` before the sublayer's weights.)
  def _ordered_weights(self):
    return self.trainable_weights + self.non_trainable_weights

  def get_weights(self):
    return [keras.ops.convert_to_numpy(w) for w in self._ordered_weights()]

  def set_weights(self, weights):
    variables = self._ordered_weights()
    if len(weights) != len(variables):
      raise ValueError(
          f"{self.name}: set_weights expects {len(variables)} arrays "
          f"({[v.path.split('/')[-1] for v in variables]}), got "
          f"{len(weights)}.")
    for variable, value in zip(variables, weights):
      if tuple(variable.shape) != tuple(keras.ops.shape(value)):
        raise ValueError(f"{self.name}: weight {variable.path} has shape "
                         f"{tuple(variable.shape)}, got "
                         f"{tuple(keras.ops.shape(value))}.")
      variable.assign(value)

  def get_folded_weights(self):
    """``[W_f, b_f]`` with the moving statistics (the inference weights)."""
    bn = self.batchnorm
    inv = self._inv(bn.moving_variance)
    bias = self.bias if self.use_bias else 0.0
    folded_bias = inv * (bias - bn.moving_mean) + self._beta()
    return [self._fold_kernel(inv), folded_bias]

  def _folding_config(self, config):
    """The BatchNormalization arguments in place of ``batchnorm``."""
    del config["batchnorm"]
    bn_config = self.batchnorm.get_config()
    for key in ("name", "trainable", "dtype") + UNSUPPORTED_BN_ARGS:
      bn_config.pop(key, None)
    config.update(bn_config)
    return config
