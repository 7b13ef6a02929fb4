# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""A small AutoQKeras search run as its own process (the resume, fault and
distributed tests start it, kill it, or run several at once).

    python tests/autoqkeras_job.py OUTPUT_DIR MAX_TRIALS [overwrite] [best]

``best`` loads the best model after the search and prints its trial.
Keras-tuner's distributed mode is set up by the environment
(KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT).

Fault injection (tests/test_autoqkeras_faults.py): ``AUTOQKERAS_JOB_LOG``
names a file to which the job appends one line per event of the search
(``run <trial id>``, ``build``, ``batch``, ``end_trial <trial id>``,
``next``, ``write <file> [<trial status>]``: a state file written to its
temporary file, about to be renamed onto the real one);
``AUTOQKERAS_KILL_AT="<event>#<n>"`` makes the job SIGKILL itself at the
n-th event of this process whose text starts with ``<event>``, before the
event's action (the rename, the build, ...). Deterministic, no timing.
``AUTOQKERAS_JOB_WAIT=1`` makes the job read one line from its standard
input after its imports, before it touches OUTPUT_DIR: a test starts the
next run of a chain (seconds of imports) while the previous one works.
"""

import json
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from qkeras.autoqkeras import AutoQKeras  # noqa: E402


def digits(n=600):
  """Digits as 8x8x1 images in [0, 1] with one-hot labels (first n)."""
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  data = load_digits()
  x = (data.images[:n] / 16.0).astype("float32")[..., None]
  y = keras.utils.to_categorical(data.target[:n], 10)
  return x, y


def float_cnn(seed=1, jit_compile=False, run_eagerly=False):
  """c1 Conv2D(4) -> a1 relu -> f Flatten -> d Dense(10, softmax).

  Compiled without XLA by default: tracing, not training, dominates the
  time of the tiny trials of the tests. ``run_eagerly`` skips the tracing
  too (the trial models inherit it): the job's trials of four batches then
  take about a second instead of three.
  """
  keras.utils.set_random_seed(seed)
  i = keras.Input((8, 8, 1), name="x")
  h = keras.layers.Conv2D(4, 3, name="c1")(i)
  h = keras.layers.Activation("relu", name="a1")(h)
  h = keras.layers.Flatten(name="f")(h)
  h = keras.layers.Dense(10, activation="softmax", name="d")(h)
  model = keras.Model(i, h)
  model.compile(optimizer=keras.optimizers.Adam(1e-2),
                loss="categorical_crossentropy", metrics=["acc"],
                jit_compile=jit_compile, run_eagerly=run_eagerly)
  return model


LIMIT = {"Conv2D": [4, 4, 4], "Dense": [4, 4, 4], "Activation": [4]}

_COUNTS = {}


def event(text):
  """Logs ``text`` and SIGKILLs this process if it is the kill point."""
  log = os.environ.get("AUTOQKERAS_JOB_LOG")
  if log:
    with open(log, "a") as f:
      f.write(text + "\n")
      f.flush()
      os.fsync(f.fileno())
  point = os.environ.get("AUTOQKERAS_KILL_AT")
  if point:
    name, n = point.rsplit("#", 1)
    if text.startswith(name):
      _COUNTS[name] = _COUNTS.get(name, 0) + 1
      if _COUNTS[name] == int(n):
        os.kill(os.getpid(), signal.SIGKILL)


class _BatchEvents(keras.callbacks.Callback):
  """``batch`` events during the trials' fits."""

  def on_train_batch_end(self, batch, logs=None):
    event("batch")


def _wrap(owner, name, text):
  """Makes ``owner.name(*args)`` log ``text(*args)`` first."""
  original = getattr(owner, name)

  def wrapped(*args, **kwargs):
    event(text(*args))
    return original(*args, **kwargs)

  setattr(owner, name, wrapped)


def _state_write_events():
  """``write`` events: every rename of a temporary state file (AutoQKeras
  writes oracle, trial and tuner files to a temporary file, then renames)."""
  replace = os.replace

  def wrapped(src, dst, *args, **kwargs):
    base = os.path.basename(str(dst))
    if base.endswith(".json"):
      text = "write " + base
      if base == "trial.json":
        with open(src) as f:
          text += " " + json.load(f)["status"]
      event(text)
    return replace(src, dst, *args, **kwargs)

  os.replace = wrapped


def instrument(autoqk):
  """Reports the search's events (see the module docstring)."""
  tuner = autoqk.tuner
  _wrap(tuner, "run_trial", lambda trial, *a: f"run {trial.trial_id}")
  _wrap(tuner.hypermodel, "build", lambda hp: "build")
  _wrap(tuner.oracle, "end_trial", lambda trial: f"end_trial {trial.trial_id}")
  _wrap(tuner, "pre_create_trial", lambda: "next")
  _state_write_events()


def main(argv):
  output_dir, max_trials = argv[0], int(argv[1])
  overwrite = "overwrite" in argv[2:]
  x, y = digits()
  model = float_cnn(run_eagerly=True)
  autoqk = AutoQKeras(model, metrics=["acc"], output_dir=output_dir,
                      mode="random", max_trials=max_trials, seed=3,
                      limit=LIMIT, overwrite=overwrite)
  callbacks = []
  if os.environ.get("AUTOQKERAS_JOB_LOG"):
    instrument(autoqk)
    callbacks.append(_BatchEvents())
  autoqk.fit(x[:400], y[:400], validation_data=(x[400:], y[400:]),
             epochs=1, batch_size=100, verbose=0, callbacks=callbacks)
  if "best" in argv[2:]:
    best = autoqk.get_best_model()
    print("BEST", autoqk.history(1)["trial_id"][0],
          float(best.evaluate(x[400:], y[400:], verbose=0)[0]), flush=True)
  print("JOB DONE", flush=True)


if __name__ == "__main__":
  if os.environ.get("AUTOQKERAS_JOB_WAIT"):
    sys.stdin.readline()
  main(sys.argv[1:])
