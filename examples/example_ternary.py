# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""How ternary quantization rounds weights (QKeras's ``example_ternary.py``).

A NumPy study (no TensorFlow, no QKeras import) of the arithmetic behind
QKeras's ``ternary`` and ``stochastic_ternary`` quantizers, on Gaussian
weights ``w ~ N(0, 1)``. A ternary weight is ``alpha * t`` with ``t`` in
{-1, 0, +1}:

1. ``ternary(alpha="auto")``: ``t = sign(w)`` where ``|w| >= alpha / 2``,
   else 0. QKeras starts from ``alpha = 2 max|w| / 3`` and alternates the
   threshold and the least-squares scale ``alpha = sum(w t) / sum(t t)``
   (``number_of_unrolls=5`` times); the table shows each step converging.
2. Threshold sweep: signal-to-quantization-noise ratio (SQNR) for fixed
   thresholds, in units of ``mean|w|`` (TWN's rule of thumb is 0.7).
3. Stochastic ternary rounding, for several temperatures ``T``:
   ``P(t=+1) = sigmoid(T (w - alpha/2) / std)``,
   ``P(t=-1) = 1 - sigmoid(T (w + alpha/2) / std)``, else 0 (QKeras's
   ``stochastic_ternary``, default ``T = 8``) and, for comparison, unbiased
   stochastic rounding of ``w / alpha`` to the nearest levels. One draw is
   noisier (lower SQNR), but the expected value moves from a staircase
   towards ``w``, which is what training sees on average.

With ``--plot FILE`` three panels (weights and levels, expected transfer
functions, SQNR against the threshold) are saved with matplotlib::

  python examples/example_ternary.py
  python examples/example_ternary.py --plot ternary.png
"""

import argparse
import os
import sys

import numpy as np

PROG = os.path.basename(__file__)
TEMPERATURES = (1.0, 2.0, 4.0, 8.0, 16.0, 64.0)


def fail(message):
  """Prints a one-line error and exits with status 2."""
  print(f"{PROG}: error: {message}", file=sys.stderr)
  raise SystemExit(2)


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def ternarize(w, alpha):
  """``t`` in {-1, 0, 1}: the sign of ``w`` where ``|w| >= alpha / 2``."""
  return np.sign(w) * (np.abs(w) >= alpha / 2)


def least_squares_scale(w, t):
  """The ``alpha`` minimizing ``sum((w - alpha t)**2)`` for fixed ``t``."""
  return float(np.sum(w * t) / max(np.sum(t * t), 1e-12))


def sqnr_db(w, wq):
  """Signal-to-quantization-noise ratio of ``wq`` as an estimate of ``w``."""
  noise = np.mean((w - wq)**2)
  return float(10 * np.log10(np.mean(w**2) / max(noise, 1e-30)))


def auto_alpha_steps(w, unrolls=5):
  """QKeras's ``alpha="auto"`` iteration: ``[(alpha, t), ...]`` from the
  initial guess ``2 max|w| / 3`` through ``unrolls`` refinements."""
  alpha = 2 * float(np.max(np.abs(w))) / 3
  steps = [(alpha, ternarize(w, alpha))]
  for _ in range(unrolls):
    alpha = least_squares_scale(w, ternarize(w, alpha))
    steps.append((alpha, ternarize(w, alpha)))
  return steps


def ternary_with_threshold(w, threshold):
  """Ternary ``t`` for a fixed threshold, with its least-squares scale."""
  t = np.sign(w) * (np.abs(w) >= threshold)
  return least_squares_scale(w, t), t


def stochastic_ternary_probabilities(w, alpha, temperature):
  """``(P(t=+1), P(t=-1))`` of QKeras's stochastic ternary rounding."""
  std = float(np.std(w)) + 1e-12
  p_plus = sigmoid(temperature * (w - alpha / 2) / std)
  p_minus = 1.0 - sigmoid(temperature * (w + alpha / 2) / std)
  return p_plus, p_minus


def stochastic_ternary_draw(w, alpha, temperature, rng):
  """One random ``t``: one uniform number per weight decides between +1, 0
  and -1 (as in QKeras, where both comparisons use the same number)."""
  p_plus, p_minus = stochastic_ternary_probabilities(w, alpha, temperature)
  u = rng.uniform(size=w.shape)
  return np.where(u < p_plus, 1.0, np.where(u >= 1.0 - p_minus, -1.0, 0.0))


def stochastic_rounding_draw(w, alpha, rng):
  """Unbiased stochastic rounding of ``w / alpha`` to {-1, 0, 1}."""
  v = np.clip(w / alpha, -1.0, 1.0)
  low = np.floor(v)
  return low + (rng.uniform(size=w.shape) < v - low)


def print_auto_alpha(w):
  print("1. ternary(alpha='auto'): threshold / least-squares iteration")
  print(f"{'step':>6} {'alpha':>8} {'threshold':>10} {'zeros':>7} "
        f"{'SQNR dB':>8}")
  for step, (alpha, t) in enumerate(auto_alpha_steps(w)):
    print(f"{step:6d} {alpha:8.4f} {alpha / 2:10.4f} "
          f"{np.mean(t == 0):7.1%} {sqnr_db(w, alpha * t):8.2f}")


def print_threshold_sweep(w, factors):
  mean_abs = float(np.mean(np.abs(w)))
  print(f"\n2. Fixed thresholds (units of mean|w| = {mean_abs:.4f})")
  print(f"{'factor':>6} {'threshold':>10} {'alpha':>8} {'zeros':>7} "
        f"{'SQNR dB':>8}")
  for factor in factors:
    alpha, t = ternary_with_threshold(w, factor * mean_abs)
    print(f"{factor:6.2f} {factor * mean_abs:10.4f} {alpha:8.4f} "
          f"{np.mean(t == 0):7.1%} {sqnr_db(w, alpha * t):8.2f}")


def print_stochastic(w, alpha, rng):
  inside = np.abs(w) < alpha
  deterministic = alpha * ternarize(w, alpha)
  print(f"\n3. Stochastic rounding with alpha = {alpha:.4f}: one draw vs "
        "the expected value E[alpha t]")
  print(f"{'rounding':>22} {'zeros':>7} {'SQNR dB':>8} "
        f"{'mean|E-w| (|w|<alpha)':>22}")
  print(f"{'deterministic':>22} {np.mean(deterministic == 0):7.1%} "
        f"{sqnr_db(w, deterministic):8.2f} "
        f"{np.mean(np.abs(deterministic - w)[inside]):22.4f}")
  for temperature in TEMPERATURES:
    t = stochastic_ternary_draw(w, alpha, temperature, rng)
    p_plus, p_minus = stochastic_ternary_probabilities(w, alpha, temperature)
    expected = alpha * (p_plus - p_minus)
    print(f"{f'stochastic T={temperature:g}':>22} {np.mean(t == 0):7.1%} "
          f"{sqnr_db(w, alpha * t):8.2f} "
          f"{np.mean(np.abs(expected - w)[inside]):22.4f}")
  t = stochastic_rounding_draw(w, alpha, rng)
  expected = alpha * np.clip(w / alpha, -1, 1)
  print(f"{'unbiased rounding':>22} {np.mean(t == 0):7.1%} "
        f"{sqnr_db(w, alpha * t):8.2f} "
        f"{np.mean(np.abs(expected - w)[inside]):22.4f}")


def plot(w, alpha, factors, path):
  """Saves the three panels described in the module docstring."""
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
  except ImportError:
    fail("--plot needs matplotlib (pip install matplotlib)")
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(17, 4.8))
  ax0.hist(w, bins=120, color="0.6")
  for sign in (-1, 1):
    ax0.axvline(sign * alpha / 2, color="tab:red", linestyle="--",
                label="threshold ±alpha/2" if sign > 0 else None)
    ax0.axvline(sign * alpha, color="tab:blue",
                label="levels ±alpha" if sign > 0 else None)
  ax0.set_title("Weights N(0, 1), ternary(alpha='auto')")
  ax0.legend(fontsize=8)

  x = np.linspace(-2.5, 2.5, 501)
  ax1.plot(x, x, color="0.8", linestyle=":", label="identity")
  ax1.plot(x, alpha * ternarize(x, alpha), label="deterministic")
  for temperature in TEMPERATURES:
    std = np.std(w)
    p_plus = sigmoid(temperature * (x - alpha / 2) / std)
    p_minus = 1 - sigmoid(temperature * (x + alpha / 2) / std)
    ax1.plot(x, alpha * (p_plus - p_minus), linewidth=1,
             label=f"stochastic T={temperature:g}")
  ax1.plot(x, alpha * np.clip(x / alpha, -1, 1), linestyle="--",
           label="unbiased rounding")
  ax1.set_title("Expected output E[alpha t] against w")
  ax1.legend(fontsize=7)

  mean_abs = np.mean(np.abs(w))
  sweep = []
  for factor in factors:
    scale, t = ternary_with_threshold(w, factor * mean_abs)
    sweep.append(sqnr_db(w, scale * t))
  ax2.plot(factors, sweep)
  ax2.axvline(alpha / 2 / mean_abs, color="tab:red", linestyle="--",
              label="QKeras auto threshold")
  ax2.axvline(0.7, color="0.5", linestyle=":", label="TWN 0.7 mean|w|")
  ax2.set_xlabel("threshold / mean|w|")
  ax2.set_ylabel("SQNR dB")
  ax2.set_title("Ternary SQNR against the threshold")
  ax2.legend(fontsize=8)
  for ax in (ax0, ax1, ax2):
    ax.grid(alpha=0.3)
  fig.tight_layout()
  try:
    fig.savefig(path, dpi=100)
  except (OSError, ValueError) as e:
    fail(f"--plot: cannot write {path!r} ({e})")
  finally:
    plt.close(fig)
  print(f"\nPlot written to {path}")


def parse_args(argv=None):
  """The command line: ``--samples``, ``--seed``, ``--plot``."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0])
  parser.add_argument("--samples", type=int, default=100000,
                      help="number of Gaussian weights (default 100000)")
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed (default 0)")
  parser.add_argument("--plot", metavar="FILE",
                      help="also plot the study to FILE (needs matplotlib)")
  args = parser.parse_args(argv)
  if args.samples < 10:
    parser.error(f"--samples must be at least 10, got {args.samples}")
  if args.plot and not os.path.isdir(os.path.dirname(os.path.abspath(
      args.plot))):
    fail(f"--plot: no directory for {args.plot!r}")
  return args


def main(argv=None):
  """Prints (and optionally plots) the study; returns 0."""
  args = parse_args(argv)
  rng = np.random.default_rng(args.seed)
  w = rng.normal(size=args.samples)
  alpha = auto_alpha_steps(w)[-1][0]
  print_auto_alpha(w)
  print_threshold_sweep(w, (0.3, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2))
  print_stochastic(w, alpha, rng)
  if args.plot:
    plot(w, alpha, np.linspace(0.05, 2.0, 80), args.plot)
  return 0


if __name__ == "__main__":
  sys.exit(main())
