# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras under faults: a search SIGKILLed at chosen points resumes with
no completed trial lost or run again, and damaged state files stop a resume
with a clear error instead of a silent fresh start.

The kills are deterministic: tests/autoqkeras_job.py logs the search's
events and kills itself at the n-th one named by ``AUTOQKERAS_KILL_AT``.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys

import keras_tuner as kt
import pytest

from qkeras.autoqkeras import AutoQKeras
from qkeras.autoqkeras import AutoQKerasScheduler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from autoqkeras_job import LIMIT  # noqa: E402
from autoqkeras_job import float_cnn  # noqa: E402

JOB = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "autoqkeras_job.py")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_TRIALS = 4


def _no_tuner_file(project):
  return not os.path.exists(os.path.join(project, "tuner0.json"))


def _oracle(project):
  with open(os.path.join(project, "oracle.json")) as f:
    return json.load(f)


# (kill point, trials COMPLETED on disk after the kill, a check of the
# state it leaves). Each run of the chain resumes the project the previous
# run left and is killed at the next point; the last run completes the
# search. "write X" points kill between the temporary file and its rename.
KILL_POINTS = [
    # 1. trial 0 mid-fit (after its 2nd batch): nothing completed yet.
    ("batch#2", set(), _no_tuner_file),
    # 2. end of trial 0: its trial and oracle files say COMPLETED, the
    # tuner file was never written (keras-tuner alone starts over here).
    ("write tuner0.json#1", {"0"},
     lambda p: _no_tuner_file(p) and _oracle(p)["end_order"] == ["0"]),
    # 3. trial 1 killed while its model is built.
    ("build#1", {"0"}, lambda p: _oracle(p)["ongoing_trials"] == {
        "tuner0": "1"}),
    # 4. trial 1 trained; its final trial file is in its temporary file.
    ("write trial.json COMPLETED#1", {"0"}, lambda p: glob.glob(
        os.path.join(p, "trial_1", "trial.json.*.tmp"))),
    # 5. trial 1 COMPLETED in its trial file; the oracle file, in its
    # temporary file, still lists it as ongoing.
    ("write oracle.json#2", {"0", "1"}, lambda p: _oracle(p)[
        "ongoing_trials"] == {"tuner0": "1"}),
    # 6. between trials: trial 2 fully saved, trial 3 not created.
    ("next#2", {"0", "1", "2"}, lambda p: not os.path.exists(
        os.path.join(p, "trial_3"))),
    # 7. trial 3 created (its RUNNING trial file written), the oracle file
    # that would record it in its temporary file.
    ("write oracle.json#1", {"0", "1", "2"}, lambda p: "3" not in _oracle(
        p)["start_order"] and _trial_files(p)["3"]["status"] == "RUNNING"),
]


def _start_job(project, log, kill_at=None, extra=()):
  """The job, started and importing; it waits for ``_finish_job`` before it
  touches ``project`` (imports dominate a run: the next run of the chain
  imports while the current one works)."""
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3",
             AUTOQKERAS_JOB_LOG=log, AUTOQKERAS_JOB_WAIT="1")
  env.pop("AUTOQKERAS_KILL_AT", None)
  if kill_at:
    env["AUTOQKERAS_KILL_AT"] = kill_at
  return subprocess.Popen(
      [sys.executable, "-u", JOB, project, str(MAX_TRIALS)] + list(extra),
      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, text=True, env=env)


def _finish_job(job):
  """Lets ``job`` run; (return code, output)."""
  out, _ = job.communicate("go\n", timeout=300)
  return job.returncode, out


def _trial_files(project):
  """``{trial id: trial.json contents}`` of the project."""
  result = {}
  for path in glob.glob(os.path.join(project, "trial_*", "trial.json")):
    with open(path) as f:
      state = json.load(f)
    assert os.path.basename(os.path.dirname(path)) == (
        "trial_" + state["trial_id"])
    result[state["trial_id"]] = state
  return result


def _completed(project):
  return {k: v for k, v in _trial_files(project).items()
          if v["status"] == "COMPLETED"}


def _events(log):
  with open(log) as f:
    return [line.rstrip("\n") for line in f]


@pytest.mark.default_backend_only("keras-tuner process handling; "
                                  "eight searches in subprocesses")
@pytest.mark.slow
def test_search_killed_at_each_point_resumes_without_loss_or_rerun(
    tmp_path):
  project = str(tmp_path / "search")
  log = str(tmp_path / "events.log")
  runs = [(kill_at, ()) for kill_at, _, _ in KILL_POINTS] + [(None, ["best"])]
  jobs = [_start_job(project, log, *runs[0])]
  try:
    _check_kill_chain(project, log, runs, jobs)
  finally:
    for job in jobs:
      if job.poll() is None:
        job.kill()
        job.communicate()


def _check_kill_chain(project, log, runs, jobs):
  """Runs ``runs`` one after the other (``jobs``: the started ones)."""
  kept = {}        # trial id -> trial file when first seen COMPLETED
  runs_after = {}  # trial id -> "run" events after it was completed
  for i, (kill_at, expected, check) in enumerate(KILL_POINTS):
    jobs.append(_start_job(project, log, *runs[i + 1]))
    start = len(_events(log)) if os.path.exists(log) else 0
    rc, out = _finish_job(jobs[i])
    events = _events(log)[start:]
    assert rc == -signal.SIGKILL, (kill_at, out[-3000:])
    point = kill_at.rsplit("#", 1)[0]
    assert events and events[-1].startswith(point), (kill_at, events)
    assert set(_completed(project)) == expected, (kill_at, events)
    assert check(project), (kill_at, events)
    for trial_id in kept:
      runs_after[trial_id] = runs_after.get(trial_id, 0) + events.count(
          f"run {trial_id}")
    completed = _completed(project)
    for trial_id, state in kept.items():  # nothing completed is lost
      assert completed.get(trial_id) == state, (kill_at, trial_id)
    for trial_id, state in completed.items():
      kept.setdefault(trial_id, state)
  start = len(_events(log))
  rc, out = _finish_job(jobs[-1])
  assert rc == 0, out[-3000:]
  events = _events(log)[start:]
  for trial_id in kept:
    runs_after[trial_id] += events.count(f"run {trial_id}")
  final = _trial_files(project)
  ids = [str(i) for i in range(MAX_TRIALS)]
  assert sorted(final) == ids
  assert all(s["status"] == "COMPLETED" for s in final.values()), final
  for trial_id, state in kept.items():
    assert final[trial_id] == state, trial_id   # same score, hps, metrics
  assert runs_after == {t: 0 for t in kept}, runs_after  # none run twice
  values = [json.dumps(s["hyperparameters"]["values"], sort_keys=True)
            for s in final.values()]
  assert len(set(values)) == MAX_TRIALS        # no choices tried twice
  oracle = _oracle(project)
  assert sorted(oracle["end_order"]) == ids, oracle["end_order"]
  assert (oracle["ongoing_trials"], oracle["retry_queue"]) == ({}, [])
  best = max(final.values(), key=lambda s: s["score"])
  assert f"BEST {best['trial_id']} " in out  # its checkpoint loads
  assert sorted(kept) == ids[:-1]  # checked across kills: trials 0, 1, 2


# -- damaged state files ---------------------------------------------------------


class _ScoredByIdTuner(kt.RandomSearch):
  """Random search whose trials score without training: the project files
  are keras-tuner's own, written through AutoQKeras, in a fraction of a
  second on every backend."""

  def __init__(self, *args, autoqkeras_config=None, **kwargs):
    del autoqkeras_config
    super().__init__(*args, **kwargs)

  def run_trial(self, trial, *args, **kwargs):
    return {"val_score": 0.5 + 0.1 * int(trial.trial_id)}


@pytest.fixture(scope="module")
def finished_project(tmp_path_factory):
  """The directory of a finished two-trial search ``p``."""
  directory = str(tmp_path_factory.mktemp("finished"))
  autoqk = AutoQKeras(float_cnn(), metrics=["acc"], output_dir="p",
                      directory=directory, max_trials=2, seed=3, limit=LIMIT,
                      custom_tuner=_ScoredByIdTuner)
  autoqk.fit(None, epochs=1, verbose=0)
  assert [t.status for t in autoqk.tuner.oracle.trials.values()] == [
      "COMPLETED", "COMPLETED"]
  return directory


def _resume(directory, name):
  return AutoQKeras(float_cnn(), metrics=["acc"], output_dir=name,
                    directory=directory, max_trials=2, seed=3, limit=LIMIT,
                    overwrite=False)


def _copy(directory, name):
  shutil.copytree(os.path.join(directory, "p"), os.path.join(directory, name))
  return os.path.join(directory, name)


def _edit_json(path, change):
  with open(path) as f:
    state = json.load(f)
  change(state)
  with open(path, "w") as f:
    json.dump(state, f)


def _write(path, data):
  with open(path, "wb") as f:
    f.write(data)


def _truncate(path):
  with open(path, "rb") as f:
    data = f.read()
  _write(path, data[:len(data) // 2])


T0 = os.path.join("trial_0", "trial.json")

# (case, file, damage, words of the error)
DAMAGE = [
    ("truncated trial", T0, _truncate, "is not valid JSON"),
    ("garbage trial", T0, lambda p: _write(p, b"\x8f\xff\x00garbage\x01"),
     "is not text"),
    ("garbage ascii trial", T0, lambda p: _write(p, b"{trial: 0, ]"),
     "is not valid JSON"),
    ("empty trial", T0, lambda p: _write(p, b""), "is empty"),
    ("list trial", T0, lambda p: _write(p, b"[1, 2]"),
     "holds a JSON list, not an object"),
    ("string score", T0, lambda p: _edit_json(
        p, lambda s: s.update(score="0.9")), "score '0.9' is not a finite"),
    ("NaN score", T0, lambda p: _edit_json(
        p, lambda s: s.update(score=float("nan"))), "is not a finite number"),
    ("completed without score", T0, lambda p: _edit_json(
        p, lambda s: s.update(score=None)), "is COMPLETED without a score"),
    ("int status", T0, lambda p: _edit_json(
        p, lambda s: s.update(status=7)), "field 'status' is a int"),
    ("unknown status", T0, lambda p: _edit_json(
        p, lambda s: s.update(status="DONE")), "status 'DONE' is none of"),
    ("wrong trial id", T0, lambda p: _edit_json(
        p, lambda s: s.update(trial_id="1")), "says it is trial '1'"),
    ("no hyperparameters", T0, lambda p: _edit_json(
        p, lambda s: s.pop("hyperparameters")),
     "has no 'hyperparameters' field"),
    ("bad search space", T0, lambda p: _edit_json(
        p, lambda s: s["hyperparameters"].update(space=5)),
     "is not a keras-tuner trial"),
    ("string best step", T0, lambda p: _edit_json(
        p, lambda s: s.update(best_step="x")),
     "best_step 'x' is not an integer >= 0"),
    ("truncated oracle", "oracle.json", _truncate, "is not valid JSON"),
    ("oracle hash not a string", "oracle.json", lambda p: _edit_json(
        p, lambda s: s.update(tried_so_far=[1, 2])),
     "lists a choices hash 1 that is not a string"),
    ("oracle order a dict", "oracle.json", lambda p: _edit_json(
        p, lambda s: s.update(end_order={})),
     "field 'end_order' is a dict, not a list"),
    ("oracle lists a missing trial", os.path.join("trial_1", "trial.json"),
     os.remove, "lists trial 1, whose file trial_1/trial.json is missing"),
    ("oracle file missing", "oracle.json", os.remove,
     "is missing while trials 0, 1 have finished"),
    ("garbage tuner file", "tuner0.json", lambda p: _write(p, b"\x00" * 7),
     "is not valid JSON"),
]


@pytest.mark.parametrize("case, name, damage, words", DAMAGE,
                         ids=[d[0] for d in DAMAGE])
def test_damaged_file_stops_the_resume_with_a_clear_error(
    finished_project, case, name, damage, words):
  del case
  project = _copy(finished_project, "damaged")
  try:
    damage(os.path.join(project, name))
    before = {p: open(p, "rb").read() for p in glob.glob(
        os.path.join(project, "**", "*.json"), recursive=True)}
    with pytest.raises(ValueError) as info:
      _resume(finished_project, "damaged")
    message = str(info.value)
    shown = os.path.join(project, "oracle.json" if "oracle" in words or
                         name == os.path.join("trial_1", "trial.json")
                         else name)
    assert shown in message
    assert words in message
    assert "cannot resume the search" in message
    assert "overwrite=True" in message and "restore the file" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    after = {p: open(p, "rb").read() for p in glob.glob(
        os.path.join(project, "**", "*.json"), recursive=True)}
    assert after == before  # nothing started over, nothing written
  finally:
    shutil.rmtree(project)


def test_intact_project_resumes_and_a_missing_tuner_file_is_not_a_restart(
    finished_project):
  for name, remove in (("intact", None), ("no_tuner_file", "tuner0.json")):
    project = _copy(finished_project, name)
    if remove:
      os.remove(os.path.join(project, remove))
    oracle = _resume(finished_project, name).tuner.oracle
    assert {t: oracle.trials[t].status for t in oracle.trials} == {
        "0": "COMPLETED", "1": "COMPLETED"}, name
    assert oracle.remaining_trials() == 0
    assert sorted(oracle.end_order) == ["0", "1"]


def test_trial_started_before_any_oracle_file_starts_over(tmp_path):
  """A kill while the very first trial file is written leaves only a
  RUNNING trial: nothing is lost by starting over, no error."""
  project = tmp_path / "p" / "trial_0"
  project.mkdir(parents=True)
  (project / "trial.json").write_text(json.dumps({
      "trial_id": "0", "hyperparameters": {"space": [], "values": {}},
      "metrics": {"metrics": {}}, "score": None, "best_step": 0,
      "status": "RUNNING", "message": None}))
  oracle = _resume(str(tmp_path), "p").tuner.oracle
  assert not oracle.trials and oracle.remaining_trials() == 2


@pytest.mark.parametrize("content, words", [
    (b'{"next_block": ', "is not valid JSON"),
    (b'{"next_block": "1"}', "field 'next_block' is '1', not an integer"),
    (b'[1]', "holds a JSON list"),
])
def test_damaged_scheduler_state_is_a_clear_error(tmp_path, content, words):
  out = tmp_path / "sched"
  out.mkdir()
  (out / "scheduler.json").write_bytes(content)
  with pytest.raises(ValueError, match="cannot resume the search") as info:
    AutoQKerasScheduler(float_cnn(), goal=None, output_dir=str(out),
                        limit=LIMIT, max_trials=1, overwrite=False)
  assert str(out / "scheduler.json") in str(info.value)
  assert words in str(info.value)
