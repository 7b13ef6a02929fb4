# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Checks of a keras-tuner project before AutoQKeras resumes it.

A project holds ``oracle.json`` (the search: trial order, retry queue,
choices tried), one ``<tuner id>.json`` per tuner and one
``trial_<id>/trial.json`` per trial (its choices, metrics, score, status).
keras-tuner reloads them with bare ``json.loads`` and dictionary look-ups:
a damaged file surfaces as a ``JSONDecodeError`` or ``KeyError`` from deep
inside keras-tuner, and a project whose ``oracle.json`` is gone is silently
searched again from the start, overwriting its finished trials.
``check_project`` reads every file first and raises one ``ValueError``
naming the file, what is wrong with it and what to do.
"""

import glob
import json
import math
import os

_STATUSES = ("RUNNING", "IDLE", "INVALID", "STOPPED", "COMPLETED", "FAILED")
_FINISHED = ("COMPLETED", "FAILED", "INVALID")

# The oracle state every keras-tuner Oracle saves (Oracle.get_state), with
# the JSON type of each field.
_ORACLE_FIELDS = {
    "ongoing_trials": dict, "hyperparameters": dict, "start_order": list,
    "end_order": list, "run_times": dict, "retry_queue": list,
    "tried_so_far": list, "id_to_hash": dict, "seed_state": int,
    "display": dict}
_TRIAL_FIELDS = {
    "trial_id": str, "hyperparameters": dict, "metrics": dict,
    "status": str}


class _Damaged(Exception):
  """A file of the project is damaged (message: what is wrong)."""


def _advice(project):
  return (f"AutoQKeras does not start the search in {project!r} over on "
          "its own (that would overwrite its finished trials): restore the "
          "file, e.g. from a backup, or start a new search with "
          "overwrite=True (a fresh project next to this one) or another "
          "output_dir.")


def _load(path):
  """The JSON object in ``path``; ``_Damaged`` if it is not one."""
  with open(path, "rb") as f:
    data = f.read()
  if not data.strip():
    raise _Damaged("is empty")
  try:
    state = json.loads(data.decode("utf-8"))
  except UnicodeDecodeError:
    raise _Damaged("is not text (not UTF-8)") from None
  except ValueError as e:
    raise _Damaged(f"is not valid JSON ({e}); the file is truncated or "
                   "damaged") from None
  if not isinstance(state, dict):
    raise _Damaged(f"holds a JSON {type(state).__name__}, not an object")
  return state


def _check_fields(state, fields):
  for name, kind in fields.items():
    if name not in state:
      raise _Damaged(f"has no {name!r} field")
    if not isinstance(state[name], kind) or isinstance(state[name], bool):
      raise _Damaged(f"field {name!r} is a {type(state[name]).__name__}, "
                     f"not a {kind.__name__}")


def _is_number(value):
  return (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value))


def _check_trial(path, state):
  """Raises ``_Damaged`` unless ``state`` is a keras-tuner trial stored in
  ``path``'s directory."""
  import keras_tuner as kt  # pylint: disable=g-import-not-at-top
  _check_fields(state, _TRIAL_FIELDS)
  expected = os.path.basename(os.path.dirname(path))[len("trial_"):]
  if state["trial_id"] != expected:
    raise _Damaged(f"says it is trial {state['trial_id']!r}, its directory "
                   f"is trial_{expected}")
  if state["status"] not in _STATUSES:
    raise _Damaged(f"status {state['status']!r} is none of "
                   f"{', '.join(_STATUSES)}")
  score = state.get("score")
  if score is not None and not _is_number(score):
    raise _Damaged(f"score {score!r} is not a finite number")
  if state["status"] == "COMPLETED" and score is None:
    raise _Damaged("is COMPLETED without a score")
  for name in ("best_step", "message"):
    if name not in state:
      raise _Damaged(f"has no {name!r} field")
  step = state["best_step"]
  if step is not None and (not isinstance(step, int) or
                           isinstance(step, bool) or step < 0):
    raise _Damaged(f"best_step {step!r} is not an integer >= 0")
  try:
    kt.engine.trial.Trial.from_state(state)
  except Exception as e:  # pylint: disable=broad-except
    raise _Damaged(f"is not a keras-tuner trial ({type(e).__name__}: "
                   f"{e})") from None


def _check_oracle(state, trial_ids):
  """Raises ``_Damaged`` unless ``state`` is an oracle state whose trials
  are all in ``trial_ids``."""
  import keras_tuner as kt  # pylint: disable=g-import-not-at-top
  _check_fields(state, _ORACLE_FIELDS)
  referenced = (list(state["ongoing_trials"].values()) +
                state["start_order"] + state["end_order"] +
                state["retry_queue"])
  for trial_id in referenced:
    if not isinstance(trial_id, str):
      raise _Damaged(f"lists a trial id {trial_id!r} that is not a string")
    if trial_id not in trial_ids:
      raise _Damaged(f"lists trial {trial_id}, whose file "
                     f"trial_{trial_id}/trial.json is missing")
  # Hashes of the choices tried: a damaged one would let a search try
  # the same choices again.
  hashes = state["tried_so_far"] + list(state["id_to_hash"].values())
  for value in hashes:
    if value is not None and not isinstance(value, str):
      raise _Damaged(f"lists a choices hash {value!r} that is not a string")
  try:
    kt.HyperParameters.from_config(state["hyperparameters"])
  except Exception as e:  # pylint: disable=broad-except
    raise _Damaged(f"field 'hyperparameters' is not a keras-tuner search "
                   f"space ({type(e).__name__}: {e})") from None


def _error(path, problem, project):
  return ValueError(f"AutoQKeras: cannot resume the search: {path} "
                    f"{problem}. {_advice(project)}")


def load_state(path, project, field=None):
  """The JSON object in the state file ``path`` of ``project`` (with an int
  ``field`` >= 0 if given); a clear ``ValueError`` if it is damaged."""
  try:
    state = _load(path)
    if field is not None:
      value = state.get(field)
      if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _Damaged(f"field {field!r} is {value!r}, not an integer >= 0")
  except _Damaged as e:
    raise _error(path, e, project) from None
  except OSError as e:
    raise _error(path, f"cannot be read ({e})", project) from None
  return state


def check_project(project, tuner_file):
  """Raises ``ValueError`` if the keras-tuner project in ``project`` cannot
  be resumed as it is.

  Every ``trial_*/trial.json``, ``oracle.json`` and the tuner's own file
  (``tuner_file``) must be a JSON object of the right shape (fields,
  types, trial ids matching their directories, the trials the oracle lists
  present); a project with finished trials or a tuner file must have its
  ``oracle.json``. A missing project, or one holding only a started trial
  (killed before its first oracle file), passes: nothing is lost by
  starting it.
  """
  if not os.path.isdir(project):
    return
  current = None
  try:
    trials = {}
    for path in sorted(glob.glob(os.path.join(glob.escape(project),
                                              "trial_*", "trial.json"))):
      current = path
      state = _load(path)
      _check_trial(path, state)
      trials[state["trial_id"]] = state["status"]
    current = tuner_file
    if os.path.exists(tuner_file):
      _load(tuner_file)
    current = os.path.join(project, "oracle.json")
    if os.path.exists(current):
      _check_oracle(_load(current), trials)
    else:
      finished = sorted(t for t, s in trials.items() if s in _FINISHED)
      if finished:
        raise _Damaged(f"is missing while trials {', '.join(finished)} "
                       "have finished")
      if os.path.exists(tuner_file):
        raise _Damaged(f"is missing while the tuner file "
                       f"{os.path.basename(tuner_file)} exists")
  except _Damaged as e:
    raise _error(current, e, project) from None
  except OSError as e:
    raise _error(current, f"cannot be read ({e})", project) from None
