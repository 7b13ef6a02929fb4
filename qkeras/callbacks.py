# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Training callbacks: ``QNoiseScheduler`` and ``QuantizerCollapseCheck``.

``QNoiseScheduler``: gradual quantization during training.

Quantizers with a ``qnoise_factor`` q output ``(1 - q) * x + q * xq``: q = 0
is the float value, q = 1 the fully quantized one. The scheduler raises q
from 0 to 1 over a range of steps or epochs (arXiv 1903.01061)::

  q(t) = 0                                          t < start
  q(t) = 1 - ((finish - t) / (finish - start))**e   start <= t <= finish
  q(t) = 1                                          t > finish (or start ==
                                                    finish)

The factor must reach the compiled train function: ``on_train_begin`` turns
each scheduled ``qnoise_factor`` into a ``keras.Variable`` (eagerly, before
``fit`` traces its train step) and re-traces the model's functions when a
quantizer had been used with a plain float, so graph mode and
``jit_compile=True`` see every update. On JAX, where ``fit`` carries the
model's state (Q-layers list their quantizers' variables in ``variables``)
through the compiled step and writes it back only at the end of an epoch,
the scheduler synchronizes that state (through ``self.model``) before it
assigns a new factor.

``QuantizerCollapseCheck``: after ``fit``, warns about weights that their
quantizer turns mostly into zeros or clips (``check_quantizer_collapse``).
"""

import warnings

import keras
import numpy as np

from qkeras import _summary
from qkeras import _validate as V
from qkeras.base_quantizer import _is_settable
from qkeras.estimate import check_quantizer_collapse
from qkeras.qlayers import COLLAPSE_THRESHOLD

_OWNER = "QNoiseScheduler"
_FREQ_TYPES = ("step", "epoch")


class QNoiseScheduler(keras.callbacks.Callback):
  """Schedules the ``qnoise_factor`` of a model's quantizers.

  Args:
    start: the step (or epoch) at which the factor starts to rise from 0.
    finish: the step (or epoch) at which it reaches 1; ``start == finish``
      quantizes fully from ``start`` on.
    freq_type: ``"epoch"`` (update in ``on_epoch_begin``) or ``"step"``
      (update in ``on_train_batch_begin``).
    update_freq: the factor is recomputed only when ``t % update_freq == 0``.
    initial_step_or_epoch: the value of ``t`` at the first update.
    exponent: ``e`` in the formula above; it shapes the ramp.
    use_ste: written to every scheduled quantizer's ``use_ste``.
    log_dir: if given, the factor is written as the TensorBoard scalar
      ``"qnoise_factor"`` at the end of each epoch (the event file
      ``tf.summary.scalar`` writes, on every backend, without TensorFlow).

  Quantizers are collected from every layer of the model, including layers
  nested in sub-models, wrappers and RNN cells (QKeras looked at top-level
  layers only). In step mode ``t`` counts ``on_train_batch_begin`` calls,
  i.e. executions when the model is compiled with ``steps_per_execution >
  1``.
  """

  def __init__(self, start, finish, freq_type="epoch", update_freq=1,
               initial_step_or_epoch=0, exponent=3.0, use_ste=True,
               log_dir=None):
    super().__init__()
    self.start = V.check_number(_OWNER, "start", start)
    self.finish = V.check_number(_OWNER, "finish", finish)
    if start > finish:
      raise ValueError(
          f"{_OWNER}: argument 'start' must be <= argument 'finish', got "
          f"start={start!r}, finish={finish!r}.")
    self.freq_type = V.check_choice(_OWNER, "freq_type", freq_type,
                                    _FREQ_TYPES)
    self.update_freq = V.check_int(_OWNER, "update_freq", update_freq, lo=1)
    self.initial_step_or_epoch = V.check_int(
        _OWNER, "initial_step_or_epoch", initial_step_or_epoch)
    self.exponent = V.check_number(_OWNER, "exponent", exponent, lo=0,
                                   lo_open=True)
    self.use_ste = V.check_flag(_OWNER, "use_ste", use_ste)
    self.log_dir = log_dir
    self.qnoise_factor = None
    self.quantizers = None
    self.summary_writer = None
    if log_dir:
      self.summary_writer = _summary.ScalarWriter(log_dir)
    self.num_iters = np.int64(0)

  # ------------------------------------------------------------------
  # The schedule.
  # ------------------------------------------------------------------
  def calculate_qnoise_factor(self, freq):
    """``q(freq)``: 0 before ``start``, the ramp up to ``finish``, then 1."""
    if freq < self.start:
      return 0.0
    if freq <= self.finish and self.start != self.finish:
      remaining = float(self.finish - freq) / float(self.finish - self.start)
      return 1.0 - float(np.power(remaining, self.exponent))
    return 1.0

  def set_qnoise_factor(self, quantizer, qnoise_factor):
    """Sets one quantizer's factor and records it as ``self.qnoise_factor``."""
    quantizer.update_qnoise_factor(qnoise_factor)
    self.qnoise_factor = qnoise_factor

  def update_qnoise_factor(self, freq):
    """Applies ``q(freq)`` to every quantizer when ``freq`` is an update step.

    ``num_iters`` (the number of steps or epochs seen) grows by one per call.
    """
    if freq % self.update_freq == 0:
      self.qnoise_factor = self.calculate_qnoise_factor(freq)
      if self.quantizers:
        _sync_model_state(self)
      for quantizer in self.quantizers or ():
        self.set_qnoise_factor(quantizer, self.qnoise_factor)
    self.num_iters += 1

  # ------------------------------------------------------------------
  # Finding and preparing the quantizers.
  # ------------------------------------------------------------------
  def get_quantizers(self, model):
    """Every distinct quantizer with a ``qnoise_factor`` in ``model``.

    Looks at each layer's ``quantizers`` list and ``quantizer`` attribute
    (QActivation), in layer order, recursing into nested layers.
    """
    found, seen = [], set()
    for layer in _all_layers(model):
      candidates = list(getattr(layer, "quantizers", None) or [])
      candidates.append(getattr(layer, "quantizer", None))
      for quantizer in candidates:
        if (hasattr(quantizer, "qnoise_factor") and
            id(quantizer) not in seen):
          seen.add(id(quantizer))
          found.append(quantizer)
    return found

  def set_quantizers(self):
    """Gives each quantizer a ``qnoise_factor`` variable and sets it to 0.

    A quantizer already built with a float factor is rebuilt with variables;
    one not built yet is built now, outside any traced function. Returns
    True when a factor was a plain number or ``use_ste`` changed: compiled
    functions that captured the old values must then be traced again.
    """
    changed = False
    for quantizer in self.quantizers:
      if hasattr(quantizer, "use_ste"):
        changed |= bool(quantizer.use_ste) != bool(self.use_ste)
        quantizer.use_ste = self.use_ste
      if _is_settable(quantizer, "use_variables"):
        quantizer.use_variables = True
      if not isinstance(quantizer.qnoise_factor, keras.Variable):
        changed = True
        quantizer.build(var_name=getattr(quantizer, "var_name", None),
                        use_variables=True)
      self.set_qnoise_factor(quantizer, 0.0)
    return changed

  # ------------------------------------------------------------------
  # Callback hooks.
  # ------------------------------------------------------------------
  def on_train_begin(self, logs=None):
    if self.quantizers:
      return
    self.quantizers = self.get_quantizers(self.model)
    if not self.quantizers:
      warnings.warn(f"{_OWNER}: the model has no quantizer with a "
                    "qnoise_factor; nothing to schedule.", stacklevel=2)
      return
    if self.set_quantizers():
      _retrace(self.model)

  def on_epoch_begin(self, epoch, logs=None):
    if self.freq_type == "epoch":
      self.update_qnoise_factor(self.initial_step_or_epoch + self.num_iters)

  def on_train_batch_begin(self, batch, logs=None):
    if self.freq_type == "step":
      self.update_qnoise_factor(self.initial_step_or_epoch + self.num_iters)

  def on_epoch_end(self, epoch, logs=None):
    if self.summary_writer is None or self.qnoise_factor is None:
      return
    self.summary_writer.scalar("qnoise_factor", self.qnoise_factor, epoch)

  def on_train_end(self, logs=None):
    if self.summary_writer is not None:
      self.summary_writer.flush()


class QuantizerCollapseCheck(keras.callbacks.Callback):
  """Checks the trained weights for collapsing quantizers after ``fit``.

  Keras gives layers no hook after ``fit``, and qkeras adds nothing to a
  user's ``fit``: add this callback (``callbacks=[QuantizerCollapseCheck()]``)
  to have ``on_train_end`` run ``check_quantizer_collapse(model,
  threshold)``. Each weight of which more than ``threshold`` quantizes to
  zero, or to the quantizer's clip limits, gives one
  ``qkeras.QuantizerCollapseWarning`` naming the layer, the weight, the
  quantizer and the fraction. The check quantizes each weight once, at the
  end of training; the training steps are not touched.

  Args:
    threshold: the fraction above which a weight is reported (default 0.9).

  Attributes:
    report: after ``fit``, ``check_quantizer_collapse``'s result
      (``{layer_path: {weight: CollapseFractions}}``); None before.
  """

  def __init__(self, threshold=COLLAPSE_THRESHOLD):
    super().__init__()
    self.threshold = V.check_number("QuantizerCollapseCheck", "threshold",
                                    threshold, lo=0, hi=1)
    self.report = None

  def on_train_end(self, logs=None):
    self.report = check_quantizer_collapse(self.model, self.threshold,
                                           when="trained")


def _all_layers(model):
  """The layers of ``model`` and, recursively, all layers they track."""
  layers = []
  for layer in getattr(model, "layers", []):
    flatten = getattr(layer, "_flatten_layers", None)
    if flatten is None:
      layers.append(layer)
    else:
      layers.extend(flatten(include_self=True, recursive=True))
  return layers


def _sync_model_state(callback):
  """Writes a JAX ``fit``'s in-flight state back into the model's variables.

  Reading ``Callback.model`` does that on JAX (``jax_state_sync``) and makes
  ``fit`` read the variables again before the next step, so an assignment
  made now is neither lost nor overwritten; elsewhere it does nothing.
  """
  if getattr(callback, "_model", None) is not None:
    _ = callback.model


def _retrace(model):
  """Drops the model's traced functions so they capture the new variables.

  ``fit`` has already made its train function when ``on_train_begin`` runs
  (and calls it through ``model.train_function``), so that one is made
  again; the test and predict functions are made again on their next use.
  """
  if getattr(model, "train_function", None) is not None:
    model.make_train_function(force=True)
  for name in ("test_function", "predict_function"):
    if getattr(model, name, None) is not None:
      setattr(model, name, None)


__all__ = ["QNoiseScheduler", "QuantizerCollapseCheck"]
