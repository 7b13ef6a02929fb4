# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""A small AutoQKeras search run as its own process (the resume and
distributed tests start it, kill it, or run several at once).

    python tests/autoqkeras_job.py OUTPUT_DIR MAX_TRIALS [overwrite]

Keras-tuner's distributed mode is set up by the environment
(KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from qkeras.autoqkeras import AutoQKeras  # noqa: E402


def digits(n=600):
  """Digits as 8x8x1 images in [0, 1] with one-hot labels (first n)."""
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  data = load_digits()
  x = (data.images[:n] / 16.0).astype("float32")[..., None]
  y = keras.utils.to_categorical(data.target[:n], 10)
  return x, y


def float_cnn(seed=1, jit_compile=False):
  """c1 Conv2D(4) -> a1 relu -> f Flatten -> d Dense(10, softmax).

  Compiled without XLA by default: tracing, not training, dominates the
  time of the tiny trials of the tests.
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
                jit_compile=jit_compile)
  return model


LIMIT = {"Conv2D": [4, 4, 4], "Dense": [4, 4, 4], "Activation": [4]}


def main(argv):
  output_dir, max_trials = argv[0], int(argv[1])
  overwrite = len(argv) > 2 and argv[2] == "overwrite"
  x, y = digits()
  model = float_cnn()
  autoqk = AutoQKeras(model, metrics=["acc"], output_dir=output_dir,
                      mode="random", max_trials=max_trials, seed=3,
                      limit=LIMIT, overwrite=overwrite)
  autoqk.fit(x[:400], y[:400], validation_data=(x[400:], y[400:]),
             epochs=1, batch_size=100, verbose=0)
  print("JOB DONE", flush=True)


if __name__ == "__main__":
  main(sys.argv[1:])
