# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QTools + pe() on a deep QConv2D/QActivation model.

    python benchmarks/bench_qtools.py            # 40 blocks, 5 rounds
    python benchmarks/bench_qtools.py --quick    # 10 blocks, 2 rounds

Times ``QTools(model, ...)`` (graph, data-type map, JSON) and ``pe(...)``
separately (median seconds) and, for scale, ``model.summary()`` of the same
model in the same process. Asserts nothing.
"""

import argparse
import contextlib
import io
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from qkeras import QActivation  # noqa: E402
from qkeras import QConv2D  # noqa: E402
from qkeras.qtools import QTools  # noqa: E402


def build(blocks, size=16, channels=8):
  x = inputs = keras.Input((size, size, 3))
  for i in range(blocks):
    x = QConv2D(channels, 3, padding="same",
                kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
                bias_quantizer="quantized_bits(8,3,1)", name=f"conv{i}")(x)
    x = QActivation("quantized_relu(4,2)", name=f"act{i}")(x)
  return keras.Model(inputs, x)


def timed(fn, rounds):
  times, result = [], None
  for _ in range(rounds):
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
      result = fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times), result


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--blocks", type=int, default=40)
  p.add_argument("--rounds", type=int, default=5)
  p.add_argument("--quick", action="store_true")
  args = p.parse_args(argv)
  if args.quick:
    args.blocks, args.rounds = 10, 2
  model = build(args.blocks)
  make = lambda: QTools(model, process="horowitz",  # noqa: E731
                        source_quantizers="quantized_bits(8,0,1)")
  qtools_s, qtools = timed(make, args.rounds)
  pe_s, energy = timed(lambda: qtools.pe("sram", "sram", 2**20, False),
                       args.rounds)
  summary_s, _ = timed(model.summary, args.rounds)
  total = qtools_s + pe_s
  print(f"{args.blocks}-block QConv2D/QActivation model "
        f"({len(model.layers)} layers), median of {args.rounds}")
  print(f"  QTools(...)        {qtools_s:7.3f} s")
  print(f"  pe(...)            {pe_s:7.3f} s")
  print(f"  QTools + pe        {total:7.3f} s  "
        f"({total / summary_s:.1f}x model.summary() = {summary_s:.3f} s)")
  print(f"  total energy       {energy['total_cost']} pJ")
  return 0


if __name__ == "__main__":
  sys.exit(main())
