# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Model tools against plain Keras: model_quantize, print_qstats,
model_save_quantized_weights and QNoiseScheduler.

Measures and prints; asserts nothing. Ratios compare each tool with the
plain-Keras operation it is built on, in the same process:

* ``model_quantize`` vs ``keras.models.clone_model`` (the same model: a
  ``--blocks``-block Conv2D/BatchNormalization/ReLU CNN with a Dense head);
* ``model_save_quantized_weights`` and ``print_qstats`` of the converted
  model vs ``model.get_weights()`` / ``model.summary()``;
* an epoch of ``fit`` with ``QNoiseScheduler`` (step mode) vs without, on
  the converted model compiled with ``jit_compile=True``.

    python benchmarks/bench_tools.py            # 40 blocks, 5 rounds
    python benchmarks/bench_tools.py --quick    # 8 blocks, 2 rounds
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import machine_info  # noqa: E402

from qkeras.callbacks import QNoiseScheduler  # noqa: E402
from qkeras.estimate import print_qstats  # noqa: E402
from qkeras.utils import model_quantize  # noqa: E402
from qkeras.utils import model_save_quantized_weights  # noqa: E402

L = keras.layers
CONFIG = {
    "QConv2D": {"kernel_quantizer": "quantized_bits(4,0,1)",
                "bias_quantizer": "quantized_bits(8,3,1)"},
    "QDense": {"kernel_quantizer": "quantized_bits(4,0,1)",
               "bias_quantizer": "quantized_bits(8,3,1)"},
    "QActivation": {"relu": "quantized_relu(4,2)"},
    "QBatchNormalization": {},
}


def build(blocks, size=16, channels=8):
  x = inputs = keras.Input((size, size, 3))
  for i in range(blocks):
    x = L.Conv2D(channels, 3, padding="same", name=f"conv{i}")(x)
    x = L.BatchNormalization(name=f"bn{i}")(x)
    x = L.Activation("relu", name=f"relu{i}")(x)
  x = L.GlobalAveragePooling2D()(x)
  return keras.Model(inputs, L.Dense(10, name="head")(x))


def timed(fn, rounds):
  times = []
  for _ in range(rounds):
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
      fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def fit_epoch(model, data, callbacks):
  model.fit(*data, epochs=1, batch_size=32, verbose=0, callbacks=callbacks)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--blocks", type=int, default=40)
  p.add_argument("--rounds", type=int, default=5)
  p.add_argument("--quick", action="store_true")
  p.add_argument("--json", help="also write the results here")
  args = p.parse_args(argv)
  if args.quick:
    args.blocks, args.rounds = 8, 2
  model = build(args.blocks)
  qmodel = model_quantize(model, CONFIG, 4, transfer_weights=True)
  rows = [
      ("model_quantize / clone_model",
       timed(lambda: model_quantize(model, CONFIG, 4, transfer_weights=True),
             args.rounds),
       timed(lambda: keras.models.clone_model(model), args.rounds)),
      ("model_save_quantized_weights / get_weights",
       timed(lambda: model_save_quantized_weights(qmodel), args.rounds),
       timed(qmodel.get_weights, args.rounds)),
      ("print_qstats / summary",
       timed(lambda: print_qstats(qmodel), args.rounds),
       timed(qmodel.summary, args.rounds)),
  ]
  rng = np.random.default_rng(0)
  data = (rng.normal(size=(256, 16, 16, 3)).astype("float32"),
          rng.normal(size=(256, 10)).astype("float32"))
  qmodel.compile("adam", "mse", jit_compile=True)
  fit_epoch(qmodel, data, [QNoiseScheduler(0, 4, freq_type="step")])
  fit_epoch(qmodel, data, [])  # warm up
  with_scheduler, without = [], []
  for _ in range(args.rounds):  # alternate, so drift hits both alike
    with_scheduler.append(timed(lambda: fit_epoch(
        qmodel, data, [QNoiseScheduler(0, 4, freq_type="step")]), 1))
    without.append(timed(lambda: fit_epoch(qmodel, data, []), 1))
  with_scheduler = statistics.median(with_scheduler)
  without = statistics.median(without)
  rows.append(("fit epoch with QNoiseScheduler / without", with_scheduler,
               without))
  print(f"{args.blocks}-block Conv2D/BN/ReLU CNN, median of {args.rounds}")
  print(f"{'':45} {'tool s':>9} {'keras s':>9} {'ratio':>7}")
  results = []
  for name, tool, base in rows:
    print(f"{name:45} {tool:9.3f} {base:9.3f} {tool / base:7.2f}")
    results.append({"name": name, "tool_s": tool, "keras_s": base,
                    "ratio": tool / base})
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"machine": machine_info(), "blocks": args.blocks,
                 "results": results}, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
