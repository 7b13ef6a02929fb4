# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras search speed and result on scikit-learn's digits.

    python benchmarks/bench_autoqkeras.py            # 20 trials of 6 epochs
    python benchmarks/bench_autoqkeras.py --quick    # 4 trials of 2 epochs

Trains a small float CNN, a uniform 8-bit copy (``model_quantize``,
fine-tuned) and runs an energy-goal random search. Prints trials per
minute, the time of one trial against a plain ``model.fit`` of the float
model for the same epochs (same process), and accuracy and QTools energy
(SRAM, Horowitz) of the float model, the 8-bit model and the best searched
model. Asserts nothing.
"""

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from qkeras.autoqkeras import AutoQKeras  # noqa: E402
from qkeras.autoqkeras import ForgivingFactorPower  # noqa: E402
from qkeras.utils import model_quantize  # noqa: E402

ENERGY = dict(delta_p=8.0, delta_n=8.0, rate=2.0, stress=1.0,
              process="horowitz", parameters_on_memory=["sram", "sram"],
              activations_on_memory=["sram", "sram"],
              rd_wr_on_io=[False, False], min_sram_size=[0, 0],
              source_quantizers=["int8"], reference_internal="int8",
              reference_accumulator="int32")
LIMIT = {"Conv2D": [4, 8, 4], "Dense": [4, 8, 4], "Activation": [4]}
UNIFORM8 = {"Conv2D": {"kernel_quantizer": "quantized_bits(8,0,1,alpha=1)",
                       "bias_quantizer": "quantized_bits(8,3,1)"},
            "Dense": {"kernel_quantizer": "quantized_bits(8,0,1,alpha=1)",
                      "bias_quantizer": "quantized_bits(8,3,1)"},
            "QActivation": {"relu": "quantized_relu(8,3)"}}


def digits():
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  data = load_digits()
  x = (data.images / 16.0).astype("float32")[..., None]
  y = keras.utils.to_categorical(data.target, 10)
  rng = np.random.default_rng(0)
  order = rng.permutation(len(x))
  x, y = x[order], y[order]
  return x[:1400], y[:1400], x[1400:], y[1400:]


def float_cnn():
  keras.utils.set_random_seed(1)
  i = keras.Input((8, 8, 1))
  h = keras.layers.Conv2D(8, 3, name="c1")(i)
  h = keras.layers.Activation("relu", name="a1")(h)
  h = keras.layers.Conv2D(16, 3, strides=2, name="c2")(h)
  h = keras.layers.Activation("relu", name="a2")(h)
  h = keras.layers.Flatten(name="f")(h)
  h = keras.layers.Dense(10, activation="softmax", name="d")(h)
  model = keras.Model(i, h)
  model.compile(optimizer=keras.optimizers.Adam(3e-3),
                loss="categorical_crossentropy", metrics=["acc"])
  return model


def quiet(fn, *args, **kwargs):
  with contextlib.redirect_stdout(io.StringIO()):
    return fn(*args, **kwargs)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--quick", action="store_true")
  args = p.parse_args(argv)
  trials, epochs = (4, 2) if args.quick else (20, 6)
  xt, yt, xv, yv = digits()
  fit = dict(validation_data=(xv, yv), batch_size=64, verbose=0)

  model = float_cnn()
  model.fit(xt, yt, epochs=10, **fit)
  float_acc = model.evaluate(xv, yv, verbose=0)[1]
  # Plain Keras for the same epochs as a trial: a fresh compiled copy.
  plain = float_cnn()
  start = time.perf_counter()
  plain.fit(xt, yt, epochs=epochs, **fit)
  plain_s = time.perf_counter() - start

  q8 = quiet(model_quantize, model, UNIFORM8, 8, transfer_weights=True)
  q8.compile(optimizer=keras.optimizers.Adam(1e-3),
             loss="categorical_crossentropy", metrics=["acc"])
  q8.fit(xt, yt, epochs=epochs, **fit)
  q8_acc = q8.evaluate(xv, yv, verbose=0)[1]

  energy = ForgivingFactorPower(**dict(ENERGY, reference_internal="fp32",
                                       reference_accumulator="fp32"))
  float_pj = quiet(energy.get_reference, model)
  q8_pj = quiet(energy.get_trial, q8)

  with tempfile.TemporaryDirectory() as tmp:
    autoqk = quiet(AutoQKeras, model, metrics=["acc"],
                   goal={"type": "energy", "params": ENERGY},
                   directory=tmp, output_dir="bench", max_trials=trials,
                   seed=1, limit=LIMIT, transfer_weights=True)
    start = time.perf_counter()
    quiet(autoqk.fit, xt, yt, epochs=epochs, **fit)
    search_s = time.perf_counter() - start
    best = quiet(autoqk.get_best_model)
    best_acc = best.evaluate(xv, yv, verbose=0)[1]
    best_pj = quiet(energy.get_trial, best)
    done = len(autoqk.history()["score"])

  per_trial = search_s / done
  print(f"AutoQKeras: {done} trials of {epochs} epochs in {search_s:.1f} s "
        f"= {60 * done / search_s:.1f} trials/min; one trial {per_trial:.2f}"
        f" s = {per_trial / plain_s:.2f}x a plain model.fit ({plain_s:.2f} s)")
  print(f"{'model':<22}{'val acc':>9}{'energy pJ':>12}{'vs float':>10}")
  for name, acc, pj in (("float (fp32)", float_acc, float_pj),
                        ("uniform 8-bit", q8_acc, q8_pj),
                        ("AutoQKeras best", best_acc, best_pj)):
    print(f"{name:<22}{acc:>9.4f}{pj:>12.0f}{float_pj / pj:>9.1f}x")
  return 0


if __name__ == "__main__":
  sys.exit(main())
