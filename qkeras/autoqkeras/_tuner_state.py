# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras's tuner driver and search state.

``AutoQKeras`` runs a keras-tuner tuner (random, bayesian, hyperband or a
custom one) over an ``AutoQKHyperModel``; ``AutoQKerasScheduler`` runs one
``AutoQKeras`` per block of layers and records its progress so that an
interrupted schedule resumes.  The tuners print one line per finished trial
and save their state atomically; ``_requeue_interrupted_trials`` repairs the
retry queue of a search reloaded after a kill.  Reached through
``qkeras.autoqkeras.autoqkeras_internal``.
"""

import json
import os
import re
import warnings

import keras
import keras_tuner as kt
from keras_tuner import BayesianOptimization
from keras_tuner import Hyperband
from keras_tuner import RandomSearch

from qkeras.autoqkeras._common import _check_choice
from qkeras.autoqkeras._common import _check_compiled
from qkeras.autoqkeras._common import _clone_optimizer
from qkeras.autoqkeras._common import _compile_arguments
from qkeras.autoqkeras._common import _learning_rate
from qkeras.autoqkeras._common import make_target
from qkeras.autoqkeras._project_files import check_project
from qkeras.autoqkeras._project_files import load_state
from qkeras.autoqkeras._search_space import AutoQKHyperModel
from qkeras.autoqkeras._search_space import REGISTERED_LAYERS
from qkeras.autoqkeras._search_space import _check_limit
from qkeras.autoqkeras._search_space import _hp_key
from qkeras.autoqkeras._search_space import _is_class_key
from qkeras.autoqkeras._search_space import _layer_classes
from qkeras.autoqkeras.utils import print_qmodel_summary
from qkeras._io import load_qmodel

MODES = ("random", "bayesian", "hyperband")


# -- progress ----------------------------------------------------------------


_EXTRA_BITS = (("pointwise", "pw"), ("recurrent", "rec"),
               ("recurrent_activation", "rec_act"))


def _bits_text(bits):
  """"c1 4/8/4, s 4/8/- pw=2": kernel/bias/activation bits per layer, plus
  pointwise / recurrent kernels and recurrent activations."""
  parts = []
  for name, fields in bits.items():
    text = name + " " + "/".join(str(fields.get(f, "-"))
                                 for f in ("kernel", "bias", "activation"))
    text += "".join(f" {short}={fields[f]}" for f, short in _EXTRA_BITS
                    if f in fields)
    parts.append(text)
  return ", ".join(parts)


def _best(trial, name):
  try:
    value = trial.metrics.get_best_value(name)
  except (KeyError, ValueError):
    return None
  return None if value is None else float(value)


def _write_json_atomically(path, state, default=None):
  """Writes ``state`` as JSON to a temporary file, then renames it onto
  ``path``: a process killed mid-write leaves the old file, never a
  truncated one (keras-tuner writes in place, and a truncated oracle.json
  makes the project impossible to resume)."""
  text = json.dumps(state, default=default)
  tmp = f"{path}.{os.getpid()}.tmp"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


def _atomic_oracle_saves(oracle):
  """Makes ``oracle`` (a local keras-tuner Oracle) save itself and its
  trials atomically; remote (``gs://``) projects keep keras-tuner's writer."""
  if not isinstance(oracle, kt.Oracle) or "://" in str(oracle._project_dir):  # pylint: disable=protected-access
    return

  def save():
    _write_json_atomically(oracle._get_oracle_fname(), oracle.get_state())  # pylint: disable=protected-access

  def save_trial(trial):
    path = os.path.join(oracle._get_trial_dir(trial.trial_id), "trial.json")  # pylint: disable=protected-access
    _write_json_atomically(path, trial.get_state())

  oracle.save = save
  oracle._save_trial = save_trial  # pylint: disable=protected-access


def _requeue_interrupted_trials(oracle):
  """Repairs the retry queue of a search reloaded after a kill.

  keras-tuner saves its oracle file (which lists the ongoing trials, retried
  on reload) at the end of a trial *before* it drops that trial from the
  ongoing ones, and writes a new trial's file (status RUNNING) *before* the
  oracle file. A kill between those writes reloads (a) a finished trial as
  ongoing, which would run again, and (b) a RUNNING trial that is neither
  ongoing nor queued, which would never run. Finished trials (COMPLETED,
  FAILED, as their own files say) leave the retry queue and join the end
  order the oracle file had no time to record; such orphaned RUNNING trials
  join the retry queue.
  """
  if not isinstance(oracle, kt.Oracle):  # a worker's client: the chief's job
    return
  status = kt.engine.trial.TrialStatus
  queue = oracle._retry_queue  # pylint: disable=protected-access
  queue[:] = [t for t in queue if t in oracle.trials and
              oracle.trials[t].status not in (status.COMPLETED, status.FAILED)]
  for trial_id in sorted(oracle.trials):
    if (oracle.trials[trial_id].status in (status.COMPLETED, status.FAILED)
        and trial_id not in oracle.end_order):
      oracle.end_order.append(trial_id)
  queued = set(queue) | {t.trial_id for t in oracle.ongoing_trials.values()}
  for trial_id in sorted(oracle.trials):
    if oracle.trials[trial_id].status == status.RUNNING and (
        trial_id not in queued):
      queue.append(trial_id)
      if trial_id not in oracle.start_order:
        oracle.start_order.append(trial_id)


class _ProgressMixin:
  """Prints one line per finished trial (cost, metrics, bits chosen), saves
  atomically and lets keras-tuner run without tensorboard installed."""

  def save(self):
    """keras-tuner's ``save`` (oracle, then this tuner's file), atomic."""
    if not self._is_worker():
      self.oracle.save()
    fname = self._get_tuner_fname()
    if "://" in fname:
      super().save()
    else:
      _write_json_atomically(fname, self.get_state())

  def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
    # keras-tuner imports tensorboard for every trial on the TensorFlow
    # backend, which TF 2.21 no longer installs; it is only needed to patch
    # TensorBoard callbacks.
    if not any(type(c).__name__ == "TensorBoard" for c in callbacks):
      return
    super()._configure_tensorboard_dir(callbacks, trial, execution)

  def on_trial_end(self, trial):
    super().on_trial_end(trial)
    hypermodel = self.hypermodel
    info = getattr(hypermodel, "trial_summaries", {}).get(
        _hp_key(trial.hyperparameters))
    parts = [f"AutoQKeras trial {trial.trial_id} ({trial.status})"]
    if info is not None:
      ratio = info["trial_size"] / info["reference_size"]
      label = getattr(getattr(hypermodel, "target", None), "size_label",
                      "size")
      parts.append(f"{label} {info['trial_size']:.6g} "
                   f"({ratio:.3f}x reference)")
    for name in sorted(trial.metrics.metrics):
      if name.startswith("val_") and not name.endswith(("loss", "trial")):
        value = _best(trial, name)
        if value is not None:
          parts.append(f"{name} {value:.4f}")
    if info is not None and info["bits"]:
      parts.append("bits k/b/a: " + _bits_text(info["bits"]))
    print(" | ".join(parts), flush=True)


_TUNERS = {"random": RandomSearch, "bayesian": BayesianOptimization,
           "hyperband": Hyperband}


def _with_progress(tuner_class):
  return type("AutoQKeras" + tuner_class.__name__,
              (_ProgressMixin, tuner_class), {})


def _is_worker():
  return ("KERASTUNER_ORACLE_IP" in os.environ and
          os.environ.get("KERASTUNER_TUNER_ID") != "chief")


def _check_resume(project, tuner_kwargs):
  """Checks the files of the local search in ``project`` before keras-tuner
  resumes it (``check_project``: a damaged file is a clear ``ValueError``,
  never a fresh start); True if its oracle must be reloaded by hand.

  keras-tuner reloads a project only when the tuner's own file exists. A
  search killed after its first trial's oracle and trial files, before that
  tuner file, would start again from trial 0 over the finished trial.
  """
  if tuner_kwargs.get("overwrite") or "://" in project or _is_worker():
    return False
  # The name keras-tuner's constructor reloads from.
  tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
  tuner_file = os.path.join(project, f"{tuner_id}.json")
  check_project(project, tuner_file)
  return (os.path.exists(os.path.join(project, "oracle.json")) and
          not os.path.exists(tuner_file))


def _fresh_dir(path):
  """``path``, or ``path_1``, ``path_2``, ... if it exists."""
  if not os.path.exists(path):
    return path
  index = 1
  while os.path.exists(f"{path}_{index}"):
    index += 1
  return f"{path}_{index}"


class AutoQKeras:
  """Searches per-layer quantizers of a compiled float model.

  ``AutoQKeras(model, metrics, goal=..., mode="random", max_trials=20)``
  then ``fit(x, y, validation_data=..., epochs=...)`` as ``model.fit``.
  Each trial is scored ``metric * (1 + delta)`` (``val_score``, or
  ``val_<head_name>_score``); ``get_best_model()`` returns the best trial's
  model with its trained weights.

  Args (besides ``AutoQKHyperModel``'s):
    goal: ``{"type": "bits" | "energy", "params": {...}}`` or a
      ``ForgivingFactor``; default: bits, delta 8%, rate 2.
    output_dir: keras-tuner project (under ``directory``, default ".").
    mode: "random", "bayesian" or "hyperband".
    custom_tuner: a keras-tuner Tuner class used instead of ``mode``'s; it
      gets ``autoqkeras_config`` (these arguments) as a keyword.
    overwrite: True: a fresh project (``output_dir_1``, ... if it exists);
      False: continue the search saved in ``output_dir``.
    score_metric: the objective (default ``val_score``).
    **tuner_kwargs: for the tuner (``max_trials``, ``seed``, ``directory``,
      ``max_epochs`` for hyperband, ``distribution_strategy``, ...).
  """

  def __init__(self, model, metrics=None, custom_objects=None, goal=None,
               output_dir="result", mode="random", custom_tuner=None,
               transfer_weights=False, frozen_layers=None, activation_bits=4,
               limit=None, tune_filters="none", tune_filters_exceptions=None,
               learning_rate_optimizer=False, layer_indexes=None,
               quantization_config=None, overwrite=True, head_name=None,
               score_metric=None, **tuner_kwargs):
    _check_compiled(model)
    if custom_tuner is None:
      _check_choice("mode", mode, MODES)
    self.target = make_target(goal)
    metrics = metrics if metrics is not None else ["acc"]
    search = dict(
        transfer_weights=transfer_weights, frozen_layers=frozen_layers,
        activation_bits=activation_bits, limit=limit,
        tune_filters=tune_filters,
        tune_filters_exceptions=tune_filters_exceptions,
        layer_indexes=layer_indexes,
        learning_rate_optimizer=learning_rate_optimizer,
        head_name=head_name, quantization_config=quantization_config)
    self.hypermodel = AutoQKHyperModel(model, metrics, custom_objects,
                                       self.target, **search)
    directory = tuner_kwargs.get("directory") or "."
    # In keras-tuner's distributed mode every process must use the same
    # project, so a new name is never picked there.
    if overwrite and "KERASTUNER_ORACLE_IP" not in os.environ:
      fresh = _fresh_dir(os.path.join(directory, output_dir))
      output_dir = (fresh if os.path.isabs(output_dir)
                    else os.path.relpath(fresh, directory))
    self.output_dir = output_dir
    if score_metric is None:
      score_metric = ("val_score" if head_name is None
                      else f"val_{head_name}_score")
    self.score_metric = score_metric
    self.head_name = head_name
    self.learning_rate = None
    objective = kt.Objective(score_metric, "max")
    tuner_kwargs.setdefault("overwrite", False)
    reload_oracle = _check_resume(os.path.join(str(directory), output_dir),
                                  tuner_kwargs)
    if custom_tuner is not None:
      config = dict(search, model=model, metrics=metrics,
                    custom_objects=custom_objects, goal=goal,
                    output_dir=output_dir, mode=mode, overwrite=overwrite,
                    score_metric=score_metric)
      self.tuner = _with_progress(custom_tuner)(
          self.hypermodel, autoqkeras_config=config, objective=objective,
          project_name=output_dir, **tuner_kwargs)
    else:
      if mode == "hyperband" and ("max_trials" in tuner_kwargs or
                                  "max_epochs" not in tuner_kwargs):
        raise ValueError(
            "AutoQKeras: mode='hyperband' takes 'max_epochs' (and "
            "'hyperband_iterations', 'factor'), not 'max_trials'; got "
            f"{sorted(tuner_kwargs)}.")
      self.tuner = _with_progress(_TUNERS[mode])(
          self.hypermodel, objective=objective, project_name=output_dir,
          **tuner_kwargs)
    _atomic_oracle_saves(self.tuner.oracle)
    if reload_oracle:
      self.tuner.oracle.reload()
    _requeue_interrupted_trials(self.tuner.oracle)
    self.tuner.search_space_summary()

  def _has_early_stopping(self, callbacks):
    return any(isinstance(c, keras.callbacks.EarlyStopping)
               for c in callbacks)

  def fit(self, *fit_args, **fit_kwargs):
    """``tuner.search`` with ``model.fit``'s arguments; adds
    ``EarlyStopping("val_loss", patience=min(20, epochs // 5))`` unless
    the callbacks have one."""
    callbacks = list(fit_kwargs.get("callbacks") or [])
    if not self._has_early_stopping(callbacks):
      epochs = fit_kwargs.get("epochs", 10)
      callbacks.append(keras.callbacks.EarlyStopping(
          "val_loss", patience=min(20, epochs // 5)))
    fit_kwargs["callbacks"] = callbacks
    self.hypermodel.verbose = fit_kwargs.get("verbose", 1) != 0
    self.tuner.search(*fit_args, **fit_kwargs)

  def _completed_trials(self, number_of_trials=-1):
    trials = [t for t in self.tuner.oracle.trials.values()
              if t.status == "COMPLETED" and t.score is not None]
    trials.sort(key=lambda t: t.score, reverse=True)
    if number_of_trials is not None and number_of_trials >= 0:
      trials = trials[:number_of_trials]
    return trials

  def history(self, number_of_trials=-1):
    """Per completed trial (best score first): ``trial_id``, ``score``,
    every metric and its ``val_`` value (at the best epoch), and
    ``trial_size``."""
    prefix = "" if self.head_name is None else self.head_name + "_"
    result = {"trial_id": [], "score": [], "trial_size": []}
    trials = self._completed_trials(number_of_trials)
    names = set()
    for trial in trials:
      names.update(trial.metrics.metrics)
    keys = sorted(n for n in names if not n.startswith("val_") and
                  n not in ("loss", prefix + "trial", prefix + "score"))
    for key in keys:
      result[key] = []
      result["val_" + key] = []
    for trial in trials:
      result["trial_id"].append(trial.trial_id)
      result["score"].append(float(trial.score))
      result["trial_size"].append(_last(trial, prefix + "trial"))
      for key in keys:
        result[key].append(_best(trial, key))
        result["val_" + key].append(_best(trial, "val_" + key))
    return result

  @staticmethod
  def get_best_lr(qmodel):
    """The learning rate ``qmodel`` was compiled with."""
    return _learning_rate(qmodel.optimizer)

  def get_best_model(self):
    """The best trial's model, compiled, with the weights of its best epoch
    (None before any trial completed)."""
    if not self._completed_trials(1):
      return None
    verbose, self.hypermodel.verbose = self.hypermodel.verbose, False
    try:
      with warnings.catch_warnings():
        # The checkpoint holds the trained optimizer's slots, the fresh
        # model's optimizer has none yet; only the weights matter here.
        warnings.filterwarnings("ignore", message="Skipping variable loading "
                                "for optimizer")
        model = self.tuner.get_best_models(1)[0]
    finally:
      self.hypermodel.verbose = verbose
    self.learning_rate = self.get_best_lr(model)
    return model

  def get_learning_rate(self):
    return self.learning_rate


def _last(trial, name):
  try:
    history = trial.metrics.get_history(name)
  except (KeyError, ValueError):
    return None
  return float(history[-1].value[0]) if history else None


# -- scheduler ---------------------------------------------------------------


class AutoQKerasScheduler:
  """Runs AutoQKeras block by block.

  ``blocks`` are layer-name regexes; each block is searched by its own
  ``AutoQKeras`` (in ``<output_dir>/<i>``) on the model the previous blocks
  produced, the layers already quantized kept (``frozen_layers``).
  ``schedule_block="cost"`` takes the most expensive blocks first.  After
  each block the model is saved as ``model_block_<i>.keras`` and
  ``scheduler.json`` records the next block, so ``overwrite=False``
  resumes an interrupted schedule.
  """

  def __init__(self, model, metrics=None, custom_objects=None, goal=None,
               output_dir="result", mode="random", transfer_weights=False,
               activation_bits=4, limit=None, tune_filters="none",
               tune_filters_exceptions=None, layer_indexes=None,
               learning_rate_optimizer=False, blocks=None,
               schedule_block="sequential", quantization_config=None,
               overwrite=True, debug=False, head_name=None, **tuner_kwargs):
    _check_compiled(model)
    _check_choice("mode", mode, MODES)
    _check_choice("schedule_block", schedule_block, ("sequential", "cost"))
    _check_limit(limit, model)
    self.model = model
    self.metrics = metrics if metrics is not None else ["acc"]
    self.custom_objects = custom_objects or {}
    self.target = make_target(goal)
    self.mode = mode
    self.transfer_weights = transfer_weights
    self.activation_bits = activation_bits
    self.limit = limit
    self.tune_filters = tune_filters
    self.tune_filters_exceptions = tune_filters_exceptions
    self.layer_indexes = layer_indexes
    self.learning_rate_optimizer = learning_rate_optimizer
    self.blocks = list(blocks) if blocks else [".*"]
    for pattern in self.blocks:
      try:
        re.compile(pattern)
      except re.error as e:
        raise ValueError(f"AutoQKerasScheduler: block {pattern!r} is not a "
                         f"valid regex: {e}.") from None
    self.schedule_block = schedule_block
    self.quantization_config = quantization_config
    self.debug = debug
    self.head_name = head_name
    self.tuner_kwargs = tuner_kwargs
    self.learning_rate = _learning_rate(model.optimizer)
    self.overwrite = overwrite
    directory = tuner_kwargs.get("directory") or "."
    path = os.path.join(directory, output_dir)
    if overwrite:
      path = _fresh_dir(path)
    self.output_dir = path
    self.history = []
    self.best_model = None
    self.next_block = self.get_next_block(overwrite)

  # -- bookkeeping -----------------------------------------------------------

  def _state_file(self):
    return os.path.join(self.output_dir, "scheduler.json")

  def get_next_block(self, overwrite):
    """The first block still to search (0 for a fresh schedule)."""
    if overwrite or not os.path.exists(self._state_file()):
      return 0
    return load_state(self._state_file(), self.output_dir,
                      "next_block")["next_block"]

  def _model_file(self, index):
    return os.path.join(self.output_dir, f"model_block_{index}.keras")

  def _history_file(self, index):
    return os.path.join(self.output_dir, f"history_block_{index}.json")

  def _save_state(self, index, model, history):
    os.makedirs(self.output_dir, exist_ok=True)
    model.save(self._model_file(index))
    _write_json_atomically(self._history_file(index), history, default=float)
    _write_json_atomically(self._state_file(), {"next_block": index + 1})

  def _compile_like_original(self, model):
    args = _compile_arguments(self.model)
    model.compile(optimizer=_clone_optimizer(self.model.optimizer,
                                             self.learning_rate), **args)
    return model

  # -- blocks ----------------------------------------------------------------

  def _block_layers(self, model, pattern):
    return [layer.name for i, layer in enumerate(model.layers)
            if re.match(pattern, layer.name) and (
                self.layer_indexes is None or i in self.layer_indexes)]

  def compute_block_costs(self, blocks, model):
    """``{pattern: reference cost of its layers}``."""
    self.target.get_reference(model)
    stats = self.target.get_reference_stats() or {}
    costs = {}
    for pattern in blocks:
      costs[pattern] = sum(float(stats.get(name, {}).get("total", 0))
                           for name in self._block_layers(model, pattern))
    return costs

  def retrieve_max_block(self):
    """Yields ``(pattern, cost)`` in schedule order."""
    costs = self.compute_block_costs(self.blocks, self.model)
    order = list(self.blocks)
    if self.schedule_block == "cost":
      order.sort(key=lambda p: costs[p], reverse=True)
    for pattern in order:
      yield pattern, costs[pattern]

  @staticmethod
  def _block_trials(max_trials, cost, reference_size):
    """Trials of a block: ``max_trials`` scaled by the block's share of the
    reference cost, at least ``min(10, max_trials)``."""
    share = cost / reference_size if reference_size else 1.0
    return max(min(10, max_trials), int(max_trials * share))

  def get_limit(self, model, pattern):
    """The limit restricted to the layers of block ``pattern``: class keys
    of classes in the block, regex keys narrowed to the block's layers they
    match (``^(name1|name2)$``)."""
    names = self._block_layers(model, pattern)
    layers = [model.get_layer(n) for n in names]
    limit = self.limit
    if limit is None:
      limit = {name: 8 for name in REGISTERED_LAYERS + ["Activation"]}
    result = {}
    classes = {type(layer).__name__ for layer in layers}
    model_classes = _layer_classes(model)
    for key, value in limit.items():
      if key == "default":
        result[key] = value
      elif _is_class_key(key, model_classes):
        if key in classes:
          result[key] = value
      else:
        matched = [n for n in names if re.match(key, n)]
        if matched:
          result["^(" + "|".join(re.escape(n) for n in matched) + ")$"] = value
    return result

  def fit(self, *fit_args, **fit_kwargs):
    """Searches every block; the result is ``get_best_model()``."""
    reference_size = self.target.get_reference(self.model)
    max_trials = self.tuner_kwargs.get("max_trials", 10)
    model = self.model
    if self.next_block > 0:
      model = self._compile_like_original(
          load_qmodel(self._model_file(self.next_block - 1),
                      custom_objects=self.custom_objects, compile=False))
      for i in range(self.next_block):
        self.history.append(load_state(self._history_file(i),
                                       self.output_dir))
    frozen = []
    for i, (pattern, cost) in enumerate(self.retrieve_max_block()):
      names = self._block_layers(self.model, pattern)
      if i < self.next_block:
        frozen.extend(names)
        continue
      trials = self._block_trials(max_trials, cost, reference_size)
      limit = self.get_limit(model, pattern)
      indexes = [j for j, layer in enumerate(model.layers)
                 if layer.name in names]
      print(f"Block {i}: {pattern!r} cost {cost:.6g}, {len(names)} layers, "
            f"up to {trials} trials, limit {json.dumps(limit)}")
      if self.debug or not names:
        continue
      kwargs = dict(self.tuner_kwargs)
      if self.mode != "hyperband":
        kwargs["max_trials"] = trials
      autoqk = AutoQKeras(
          model, metrics=self.metrics, custom_objects=self.custom_objects,
          goal=self.target, output_dir=os.path.join(self.output_dir, str(i)),
          mode=self.mode, transfer_weights=self.transfer_weights,
          frozen_layers=frozen, activation_bits=self.activation_bits,
          limit=limit, tune_filters=self.tune_filters,
          tune_filters_exceptions=self.tune_filters_exceptions,
          layer_indexes=indexes,
          learning_rate_optimizer=self.learning_rate_optimizer,
          quantization_config=self.quantization_config,
          overwrite=self.overwrite, head_name=self.head_name,
          **{k: v for k, v in kwargs.items() if k != "directory"})
      autoqk.fit(*fit_args, **fit_kwargs)
      autoqk.tuner.results_summary()
      history = autoqk.history()
      self.history.append(history)
      best = autoqk.get_best_model()
      self.learning_rate = autoqk.get_learning_rate() or self.learning_rate
      model = self._compile_like_original(best)
      self._save_state(i, model, history)
      frozen.extend(names)
    if self.debug:
      return
    for layer in model.layers:
      layer.trainable = True
    self.best_model = model

  def get_history(self):
    return self.history

  def get_best_model(self):
    """The model after the last block (None before ``fit``)."""
    if self.best_model is None:
      return None
    self.target.get_trial(self.best_model)
    self.target.print_stats()
    print_qmodel_summary(self.best_model)
    return self.best_model

  def get_learning_rate(self):
    return self.learning_rate
