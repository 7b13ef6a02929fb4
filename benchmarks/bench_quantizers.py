# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Quantizer throughput relative to the memory-bound floor, and import cost.

Benchmark 1 -- quantizer cost
-----------------------------
For each quantizer (``quantized_bits(8,0,1)``, ``quantized_relu(4,0)``,
``quantized_po2(4)``) and each mode

* ``eager``: the quantizer called directly on an eager ``tf.Tensor``;
* ``graph``: ``tf.function(quantizer, autograph=False)``, a TensorFlow graph
  without XLA (what Keras runs on the CPU by default);
* ``xla``:   ``tf.function(quantizer, jit_compile=True, autograph=False)``
  (same graph as with autograph: the quantizers branch on Python values only),

the script times the quantizer on one float32 tensor (default 16M elements,
shape (4096, 4096), standard normal, created once) and compares it with the
baseline ``x * 1.5 + 0.5`` run on the same tensor in the same mode. The
baseline reads the input once and writes one output, so it is the
memory-bandwidth floor for any elementwise op; ``ratio = quantizer / baseline``
says how far a quantizer is from that floor (1.0 = as cheap as a
multiply-add).

Method:

1. Each function is called a few times first (warm-up: XLA compilation,
   tracing, allocator growth).
2. Then ``--rounds`` rounds alternate the two functions in one process:
   ``--calls`` calls of the baseline, then ``--calls`` calls of the
   quantizer. Alternating spreads slow drift (thermal, other processes)
   over both sides equally.
3. Every call is followed by ``y[0, ..., 0].numpy()``: this waits until the
   result exists while copying a single element only (``y.numpy()`` would
   add a 64 MB copy). The baseline gets exactly the same treatment.
4. The table shows the median time per call of each side and the ratio of
   the medians. ``spread`` is the range (min-max) of the per-round ratios
   (median quantizer call / median baseline call in that round), a quick
   view of how stable the ratio is.

Benchmark 2 -- import cost
--------------------------
Time of ``import tensorflow, keras`` versus ``import tensorflow, keras,
qkeras`` in fresh Python subprocesses (one discarded warm-up run, then
``--import-repeats`` of each, alternating; medians reported). TensorFlow's own
import varies by hundreds of ms between runs, far more than qkeras costs, so
the script also reports the ``import qkeras`` step alone, timed inside the
subprocess after ``tensorflow`` and ``keras`` are loaded (median).

Usage::

  python benchmarks/bench_quantizers.py                 # full run
  python benchmarks/bench_quantizers.py --quick         # smoke test (seconds)
  python benchmarks/bench_quantizers.py --json out.json # also write results

The script only measures and prints; it asserts nothing about the timings.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
  sys.path.insert(0, _REPO_ROOT)

import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

from qkeras.quantizers import quantized_bits  # pylint: disable=wrong-import-position
from qkeras.quantizers import quantized_po2  # pylint: disable=wrong-import-position
from qkeras.quantizers import quantized_relu  # pylint: disable=wrong-import-position
from bench_common import machine_info  # pylint: disable=wrong-import-position

DEFAULT_SIZE = 4096 * 4096
WARMUP_CALLS = 3


def quantizers():
  """(label, quantizer) pairs to benchmark."""
  return [
      ("quantized_bits(8,0,1)", quantized_bits(8, 0, 1)),
      ("quantized_relu(4,0)", quantized_relu(4, 0)),
      ("quantized_po2(4)", quantized_po2(4)),
  ]


def baseline(x):
  """The memory-bound floor: one read, one write, two flops per element."""
  return x * 1.5 + 0.5


def make_input(size, seed=0):
  """A float32 standard-normal tensor with ``size`` elements (2-D if possible)."""
  cols = 4096 if size >= 4096 and size % 4096 == 0 else size
  shape = (size // cols, cols)
  return tf.random.stateless_normal(shape, seed=(seed, 0), dtype=tf.float32)


def for_mode(fn, mode):
  if mode == "eager":
    return fn
  if mode == "graph":
    return tf.function(fn, autograph=False)
  if mode == "xla":
    # autograph=False: the quantizers have no tensor-dependent Python control
    # flow, so the traced graph is the same; it also avoids autograph
    # re-reading source files that may have been edited since import.
    return tf.function(fn, jit_compile=True, autograph=False)
  raise ValueError(mode)


def run_once(fn, x):
  """One call; waits for the result by fetching a single element."""
  start = time.perf_counter()
  y = fn(x)
  y[(0,) * len(y.shape)].numpy()
  return time.perf_counter() - start


def compare(base_fn, quant_fn, x, rounds, calls):
  """Alternating timing; returns per-call times (s) of both and round ratios."""
  for _ in range(WARMUP_CALLS):
    run_once(base_fn, x)
    run_once(quant_fn, x)
  base_times, quant_times, round_ratios = [], [], []
  for _ in range(rounds):
    b = [run_once(base_fn, x) for _ in range(calls)]
    q = [run_once(quant_fn, x) for _ in range(calls)]
    base_times += b
    quant_times += q
    round_ratios.append(statistics.median(q) / statistics.median(b))
  return base_times, quant_times, round_ratios


def bench_quantizers(size, rounds, calls, modes):
  x = make_input(size)
  results = []
  for label, quantizer in quantizers():
    for mode in modes:
      base_times, quant_times, round_ratios = compare(
          for_mode(baseline, mode), for_mode(quantizer, mode), x, rounds,
          calls)
      base_ms = 1e3 * statistics.median(base_times)
      quant_ms = 1e3 * statistics.median(quant_times)
      results.append({
          "quantizer": label,
          "mode": mode,
          "baseline_ms": base_ms,
          "quantizer_ms": quant_ms,
          "ratio": quant_ms / base_ms,
          "round_ratio_min": min(round_ratios),
          "round_ratio_max": max(round_ratios),
      })
      print_row(results[-1], flush=True)
  return results


def print_header():
  print(f"{'quantizer':<24}  {'mode':<5}  {'baseline_ms':>11}  "
        f"{'quantizer_ms':>12}  {'ratio':>6}  spread")


def print_row(r, flush=False):
  print(f"{r['quantizer']:<24}  {r['mode']:<5}  {r['baseline_ms']:>11.2f}  "
        f"{r['quantizer_ms']:>12.2f}  {r['ratio']:>6.2f}  "
        f"{r['round_ratio_min']:.2f}-{r['round_ratio_max']:.2f}", flush=flush)


def _time_import(with_qkeras):
  """Seconds for ``import tensorflow, keras`` and then for ``import qkeras``.

  Runs in a fresh interpreter; the second number is None without qkeras.
  """
  code = ("import time; t0 = time.perf_counter(); import tensorflow, keras; "
          "t1 = time.perf_counter(); ")
  code += ("import qkeras; t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
           if with_qkeras else "print(t1 - t0, None)")
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join(
      p for p in (_REPO_ROOT, env.get("PYTHONPATH")) if p)
  out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                       capture_output=True, text=True, cwd=_REPO_ROOT)
  first, second = out.stdout.strip().splitlines()[-1].split()
  return float(first), (None if second == "None" else float(second))


def bench_import(repeats):
  """Median import times (s) of tf+keras with and without qkeras."""
  _time_import(True)  # warm the file cache
  plain, with_qkeras, qkeras_step = [], [], []
  for _ in range(repeats):
    plain.append(_time_import(False)[0])
    tf_keras, qk = _time_import(True)
    with_qkeras.append(tf_keras + qk)
    qkeras_step.append(qk)
  plain_s = statistics.median(plain)
  with_s = statistics.median(with_qkeras)
  return {
      "repeats": repeats,
      "tf_keras_s": plain_s,
      "tf_keras_qkeras_s": with_s,
      "qkeras_extra_s": with_s - plain_s,
      "qkeras_step_s": statistics.median(qkeras_step),
      "tf_keras_all_s": plain,
      "tf_keras_qkeras_all_s": with_qkeras,
      "qkeras_step_all_s": qkeras_step,
  }



def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--size", type=int, default=None,
                 help=f"elements of the input tensor (default {DEFAULT_SIZE})")
  p.add_argument("--rounds", type=int, default=None,
                 help="alternating rounds per (quantizer, mode) (default 15)")
  p.add_argument("--calls", type=int, default=None,
                 help="calls of each side per round (default 3)")
  p.add_argument("--modes", default="eager,graph,xla",
                 help="comma-separated subset of eager,graph,xla")
  p.add_argument("--import-repeats", type=int, default=None,
                 help="subprocesses per import variant (default 5; 0 skips)")
  p.add_argument("--quick", action="store_true",
                 help="small tensor, few rounds, 1 import repeat: smoke test")
  p.add_argument("--json", metavar="PATH", help="also write results here")
  args = p.parse_args(argv)
  quick = {"size": 256 * 1024, "rounds": 3, "calls": 2, "import_repeats": 1}
  full = {"size": DEFAULT_SIZE, "rounds": 15, "calls": 3, "import_repeats": 5}
  for key, value in (quick if args.quick else full).items():
    if getattr(args, key) is None:
      setattr(args, key, value)
  args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
  return args


def main(argv=None):
  args = parse_args(argv)
  info = machine_info()
  print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
  print(f"input: {args.size} float32 elements "
        f"({args.size * 4 / 2**20:.0f} MiB), rounds={args.rounds}, "
        f"calls/round={args.calls}, baseline = x * 1.5 + 0.5\n")
  print_header()
  results = bench_quantizers(args.size, args.rounds, args.calls, args.modes)

  imports = None
  if args.import_repeats > 0:
    imports = bench_import(args.import_repeats)
    print(f"\nimport (fresh subprocesses, median of {imports['repeats']}): "
          f"tensorflow+keras {imports['tf_keras_s']:.2f} s, "
          f"+qkeras {imports['tf_keras_qkeras_s']:.2f} s, "
          f"difference {imports['qkeras_extra_s'] * 1e3:+.0f} ms; the "
          f"'import qkeras' step itself (tf+keras already loaded): "
          f"{imports['qkeras_step_s'] * 1e3:.0f} ms")

  if args.json:
    with open(args.json, "w") as f:
      json.dump({"machine": info, "args": vars(args), "quantizers": results,
                 "import": imports}, f, indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
  main()
