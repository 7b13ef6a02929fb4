# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""An AutoQKeras search on the ConvBlockNetwork of a data set.

    python -m qkeras.autoqkeras.examples.run.autoqkeras_example \\
        --dataset digits --max-trials 5 --epochs 5 --output-dir run_digits

Compiles ``get_model(dataset)`` (a float ConvBlockNetwork, the size reference),
searches per-layer quantizers with ``AutoQKeras`` (goal ``bits`` or
``energy``, random search), prints the best model's quantizers and test
accuracy and writes ``<output-dir>/log_<dataset>_<goal>.csv`` (the search
history; ``plot_history`` draws it, ``--plot`` does so at the end).
``digits`` runs offline; mnist, fashion_mnist, cifar10 and cifar100 are
downloaded by ``keras.datasets``. The arguments are checked before
TensorFlow is imported; ``main(argv)`` returns the exit status (2 for bad
arguments or a data set that cannot be loaded).
"""

import argparse
import os
import sys

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "cifar100")
GOALS = ("bits", "energy")

# Bits per layer class, [kernel, bias, activation] (Activation: [act]);
# the search uses the entries of the classes the model has.
LIMIT = {"Conv2D": [4, 8, 4], "SeparableConv2D": [4, 8, 4],
         "DepthwiseConv2D": [4, 8, 4], "Dense": [4, 8, 4],
         "Activation": [4]}


def goal_of(name):
  """The AutoQKeras goal dict of ``"bits"`` or ``"energy"``."""
  if name == "bits":
    return {"type": "bits", "params": {
        "delta_p": 8.0, "delta_n": 8.0, "rate": 2.0, "stress": 1.0,
        "input_bits": 8, "output_bits": 8, "ref_bits": 8,
        "config": {"default": ["parameters", "activations"]}}}
  return {"type": "energy", "params": {
      "delta_p": 8.0, "delta_n": 8.0, "rate": 2.0, "stress": 1.0,
      "process": "horowitz", "parameters_on_memory": ["sram", "sram"],
      "activations_on_memory": ["sram", "sram"],
      "rd_wr_on_io": [False, False], "min_sram_size": [0, 0],
      "source_quantizers": ["int8"], "reference_internal": "int8",
      "reference_accumulator": "int32"}}


def limit_for(model):
  """``LIMIT`` restricted to the layer classes ``model`` has (AutoQKeras
  rejects a limit key that names nothing in the model)."""
  classes = {layer.__class__.__name__ for layer in model.layers}
  return {key: value for key, value in LIMIT.items() if key in classes}


def _positive_int(text):
  try:
    value = int(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
  if value < 1:
    raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
  return value


def make_parser():
  parser = argparse.ArgumentParser(
      description="AutoQKeras search on a ConvBlockNetwork.")
  parser.add_argument("--dataset", default="digits", choices=DATASETS,
                      help="data set (default digits, offline)")
  parser.add_argument("--goal", default="bits", choices=GOALS,
                      help="what the search trades accuracy against")
  parser.add_argument("--max-trials", type=_positive_int, default=5,
                      help="trials of the random search (default 5)")
  parser.add_argument("--epochs", type=_positive_int, default=5,
                      help="training epochs per trial (default 5)")
  parser.add_argument("--batch-size", type=_positive_int, default=64)
  parser.add_argument("--output-dir", default="autoqkeras_run",
                      help="keras-tuner project, history CSV and plot "
                      "(default autoqkeras_run)")
  parser.add_argument("--fast", action="store_true",
                      help="1000 training / 200 test images")
  parser.add_argument("--samples", type=_positive_int, default=None,
                      help="use this many training images (and a fifth "
                      "as many test images); overrides --fast")
  parser.add_argument("--separable", choices=("dsp", "mobilenet"),
                      default=None, help="separable convolutions")
  parser.add_argument("--tune-filters", choices=("none", "layer", "block"),
                      default="none", help="also search layer widths")
  parser.add_argument("--seed", type=int, default=1)
  parser.add_argument("--plot", action="store_true",
                      help="also write <output-dir>/history.png")
  parser.add_argument("--jit-compile", action="store_true",
                      help="compile with XLA (slower for tiny trials)")
  return parser


def _check_output_dir(path):
  """An error message, or None when ``path`` can be created / written."""
  path = os.path.abspath(path)
  probe = path
  while not os.path.exists(probe):
    probe = os.path.dirname(probe)
  if not os.path.isdir(probe):
    return f"--output-dir: {probe} is not a directory"
  if not os.access(probe, os.W_OK):
    return f"--output-dir: {probe} is not writable"
  return None


def main(argv=None):
  parser = make_parser()
  args = parser.parse_args(argv)
  problem = _check_output_dir(args.output_dir)
  if problem:
    print(f"{parser.prog}: error: {problem}", file=sys.stderr)
    return 2

  # The arguments are fine: now TensorFlow.
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import keras  # pylint: disable=g-import-not-at-top
  from qkeras.autoqkeras import AutoQKeras  # pylint: disable=g-import-not-at-top
  from qkeras.autoqkeras import print_qmodel_summary  # pylint: disable=g-import-not-at-top
  from qkeras.autoqkeras.examples.run.get_data import DataError  # pylint: disable=g-import-not-at-top
  from qkeras.autoqkeras.examples.run.get_data import get_data  # pylint: disable=g-import-not-at-top
  from qkeras.autoqkeras.examples.run.get_model import get_model  # pylint: disable=g-import-not-at-top
  from qkeras.autoqkeras.examples.run.plot_history import plot_history  # pylint: disable=g-import-not-at-top
  from qkeras.autoqkeras.examples.run.plot_history import save_history_csv  # pylint: disable=g-import-not-at-top

  try:
    (x_train, y_train), (x_test, y_test) = get_data(
        args.dataset, fast=args.samples or args.fast)
  except DataError as e:
    print(f"{parser.prog}: error: {e}", file=sys.stderr)
    return 2
  print(f"{args.dataset}: {len(x_train)} training / {len(x_test)} test "
        f"images {x_train.shape[1:]}, {y_train.shape[1]} classes")

  keras.utils.set_random_seed(args.seed)
  overrides = {"use_separable": args.separable} if args.separable else {}
  model = get_model(args.dataset, **overrides)
  model.compile(optimizer=keras.optimizers.Adam(1e-3),
                loss="categorical_crossentropy", metrics=["acc"],
                jit_compile=args.jit_compile)
  model.summary()

  os.makedirs(args.output_dir, exist_ok=True)
  autoqk = AutoQKeras(model, metrics=["acc"], goal=goal_of(args.goal),
                      mode="random", directory=args.output_dir,
                      output_dir="search", max_trials=args.max_trials,
                      seed=args.seed, limit=limit_for(model),
                      tune_filters=args.tune_filters)
  autoqk.fit(x_train, y_train, validation_data=(x_test, y_test),
             epochs=args.epochs, batch_size=args.batch_size, verbose=2)

  history = autoqk.history()
  log = os.path.join(args.output_dir, f"log_{args.dataset}_{args.goal}.csv")
  save_history_csv(history, log)
  print(f"search history: {log}")
  best = autoqk.get_best_model()
  if best is None:
    print(f"{parser.prog}: error: no trial completed", file=sys.stderr)
    return 1
  print("Best model (score {:.4f}, {} size {:.6g}):".format(
      history["score"][0], args.goal, history["trial_size"][0]))
  print_qmodel_summary(best)
  result = best.evaluate(x_test, y_test, verbose=0, return_dict=True)
  print(f"best model test accuracy: {result['acc']:.4f}")
  if args.plot:
    figure = os.path.join(args.output_dir, "history.png")
    plot_history(log, output=figure)
    print(f"history plot: {figure}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
