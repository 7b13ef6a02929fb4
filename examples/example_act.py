# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Transfer functions of QKeras quantizers (QKeras's ``example_act.py``).

Prints, for inputs from -2 to 2, the outputs of:

* fixed-point quantizers (``quantized_bits``, ``quantized_relu``,
  ``quantized_tanh``, ``quantized_ulaw``);
* power-of-two quantizers (``quantized_po2``, ``quantized_relu_po2``);
* stochastic rounding: the mean of many calls with ``training=True`` (a
  single call is random; the mean follows the input between two levels);
  without ``training`` the same quantizers round deterministically;
* one such call, to show the randomness;
* ``binary`` / ``ternary`` and their stochastic variants (means again);
* the sigmoid family (``hard_sigmoid``, ``smooth_sigmoid``, ``hard_tanh``,
  ``smooth_tanh``) and ``quantized_sigmoid`` / ``quantized_tanh`` under each
  ``set_internal_sigmoid`` mode ("hard", "smooth", "real"; the mode is set
  back to QKeras's default "hard" afterwards).

With ``--plot FILE`` the same curves are drawn on a fine grid with
matplotlib (one panel per group) and saved to FILE (png, pdf, svg, ...)::

  python examples/example_act.py
  python examples/example_act.py --plot transfer.png
"""

import argparse
import os
import sys

import numpy as np

import _data  # examples/_data.py

# Keras and qkeras are imported where they are used, after the arguments
# are checked: --help and bad input answer without loading TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROG = os.path.basename(__file__)
positive_int = _data._positive_int  # pylint: disable=protected-access
TABLE_INPUTS = np.linspace(-2.0, 2.0, 11, dtype=np.float32)
PLOT_INPUTS = np.linspace(-2.0, 2.0, 401, dtype=np.float32)


def _numpy(value):
  import keras  # pylint: disable=g-import-not-at-top
  return np.asarray(keras.ops.convert_to_numpy(value), np.float32)


def deterministic(quantizer):
  """``x -> quantizer(x)`` (inference: no randomness)."""
  return lambda x: _numpy(quantizer(x))


def mean_of_draws(quantizer, draws):
  """``x -> mean of quantizer(x, training=True)`` over ``draws`` calls.

  All draws go through one call on a rank-1 tensor (the inputs repeated
  ``draws`` times), so quantizers with a data-dependent scale
  (``alpha="auto"``) see one global scale, as for a flat weight vector.
  """
  def transfer(x):
    y = _numpy(quantizer(np.tile(x, draws), training=True))
    return y.reshape(draws, len(x)).mean(axis=0)
  return transfer


def one_call(quantizer):
  """``x -> quantizer(x, training=True)``: one random draw."""
  return lambda x: _numpy(quantizer(x, training=True))


def with_sigmoid(mode, quantizer):
  """``x -> quantizer(x)`` with the internal sigmoid set to ``mode``."""
  from qkeras import quantizers as qz  # pylint: disable=g-import-not-at-top

  def transfer(x):
    qz.set_internal_sigmoid(mode)
    try:
      return _numpy(quantizer(x))
    finally:
      qz.set_internal_sigmoid("hard")
  return transfer


def groups(draws):
  """``[(title, [(label, transfer function), ...]), ...]``."""
  from qkeras import quantizers as qz  # pylint: disable=g-import-not-at-top

  def det(*quantizers):
    return [(str(q), deterministic(q)) for q in quantizers]

  def mean(*quantizers):
    return [(f"mean {q}", mean_of_draws(q, draws)) for q in quantizers]

  sigmoids = [(f.__name__, lambda x, f=f: _numpy(f(x)))
              for f in (qz.hard_sigmoid, qz.smooth_sigmoid, qz.hard_tanh,
                        qz.smooth_tanh)]
  for mode in ("hard", "smooth", "real"):
    sigmoids += [(f"{q} [{mode}]", with_sigmoid(mode, q))
                 for q in (qz.quantized_sigmoid(4), qz.quantized_tanh(4))]
  return [
      ("Fixed point", det(
          qz.quantized_bits(4, 0, 1), qz.quantized_bits(4, 1, 1),
          qz.quantized_relu(4, 0), qz.quantized_relu(4, 2),
          qz.quantized_relu(4, 2, 0, 0.25), qz.quantized_tanh(4),
          qz.quantized_ulaw(4, 0, 1))),
      ("Powers of two", det(
          qz.quantized_po2(4), qz.quantized_po2(4, 1),
          qz.quantized_relu_po2(4), qz.quantized_relu_po2(4, 1))),
      (f"Stochastic rounding (mean of {draws} calls with training=True)",
       mean(qz.quantized_bits(4, 0, 1, use_stochastic_rounding=True),
            qz.quantized_relu(4, 0, use_stochastic_rounding=True),
            qz.quantized_tanh(4, use_stochastic_rounding=True),
            qz.quantized_po2(4, 1, use_stochastic_rounding=True),
            qz.quantized_relu_po2(4, 1, use_stochastic_rounding=True))),
      ("A single call with training=True (random)", [
          (f"one call {q}", one_call(q)) for q in (
              qz.quantized_bits(4, 0, 1, use_stochastic_rounding=True),
              qz.stochastic_binary())]),
      ("Binary and ternary", det(
          qz.binary(), qz.binary(use_01=True), qz.ternary(),
          qz.ternary(threshold=0.5)) + mean(
              qz.binary(use_stochastic_rounding=True),
              qz.stochastic_binary(), qz.stochastic_ternary(alpha="auto"),
              qz.bernoulli())),
      ("Sigmoid and tanh (set_internal_sigmoid mode in brackets)", sigmoids),
  ]


def print_tables(all_groups, x=TABLE_INPUTS):
  """One table per group: a row per quantizer, a column per input."""
  for title, entries in all_groups:
    width = max(len(label) for label, _ in entries) + 2
    print(f"\n{title}")
    print("x".rjust(width) + "".join(f"{v:9.2f}" for v in x))
    for label, transfer in entries:
      print(label.rjust(width) + "".join(f"{v:9.3g}" for v in transfer(x)))


def plot(all_groups, path, x=PLOT_INPUTS):
  """Draws every group in its own panel and saves the figure to ``path``."""
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
  except ImportError:
    _data.fail("--plot needs matplotlib (pip install matplotlib)", PROG)
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  columns = 3
  rows = -(-len(all_groups) // columns)
  fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 4.5 * rows))
  axes = np.ravel(axes)
  for ax, (title, entries) in zip(axes, all_groups):
    ax.plot(x, x, color="0.8", linestyle=":", label="identity")
    for label, transfer in entries:
      style = ({"linestyle": "none", "marker": ".", "markersize": 3}
               if label.startswith("one call") else {"linewidth": 1.2})
      ax.plot(x, transfer(x), label=label, **style)
    ax.set_title(title if len(title) < 40 else title.split(" (")[0])
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(-2.1, 2.1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
  for ax in axes[len(all_groups):]:
    ax.axis("off")
  fig.tight_layout()
  try:
    fig.savefig(path, dpi=100)
  except (OSError, ValueError) as e:
    _data.fail(f"--plot: cannot write {path!r} ({e})", PROG)
  finally:
    plt.close(fig)
  print(f"\nPlot written to {path}")


def parse_args(argv=None):
  """The command line: ``--plot``, ``--draws``, ``--seed``."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0])
  parser.add_argument("--plot", metavar="FILE",
                      help="also plot the transfer functions to FILE "
                      "(needs matplotlib)")
  parser.add_argument("--draws", type=positive_int, default=500,
                      help="calls averaged for the stochastic quantizers "
                      "(default 500)")
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed (default 0)")
  args = parser.parse_args(argv)
  if args.plot and not os.path.isdir(os.path.dirname(os.path.abspath(
      args.plot))):
    _data.fail(f"--plot: no directory for {args.plot!r}", PROG)
  return args


def main(argv=None):
  """Prints (and optionally plots) the transfer functions; returns 0."""
  args = parse_args(argv)
  import keras  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(args.seed)
  all_groups = groups(args.draws)
  print_tables(all_groups)
  if args.plot:
    plot(all_groups, args.plot)
  return 0


if __name__ == "__main__":
  sys.exit(main())
