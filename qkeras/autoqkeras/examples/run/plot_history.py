# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras search histories as CSV files, and their plots.

    save_history_csv(autoqk, "log_digits_bits.csv")
    plot_history("log_*.csv", output="searches.png")

The CSV holds ``AutoQKeras.history()``: a header ``trial_id,score,
trial_size,<metric>,val_<metric>,...`` (metrics sorted) and one row per
completed trial, best score first; a missing value is an empty cell.

    python -m qkeras.autoqkeras.examples.run.plot_history log_*.csv -o a.png
"""

import argparse
import csv
import glob
import os
import sys

FIXED_COLUMNS = ("trial_id", "score", "trial_size")


def _history_dict(source):
  """The ``history()`` dict of an AutoQKeras, or a dict, checked."""
  history = source
  if not isinstance(history, dict):
    if not callable(getattr(source, "history", None)):
      raise ValueError("save_history_csv: expected an AutoQKeras or the "
                       "dict its history() returns, got "
                       f"{type(source).__name__}.")
    history = source.history()
  missing = [c for c in FIXED_COLUMNS if c not in history]
  if missing:
    raise ValueError(f"save_history_csv: the history misses {missing}.")
  lengths = {len(values) for values in history.values()}
  if len(lengths) > 1:
    raise ValueError("save_history_csv: the history's lists differ in "
                     "length.")
  return history


def save_history_csv(autoqk_or_history_dict, filename):
  """Writes ``AutoQKeras.history()`` (or such a dict) to ``filename``.

  Returns the number of trials written.
  """
  history = _history_dict(autoqk_or_history_dict)
  columns = list(FIXED_COLUMNS) + sorted(
      k for k in history if k not in FIXED_COLUMNS)
  rows = len(history["trial_id"])
  with open(filename, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(columns)
    for i in range(rows):
      writer.writerow(["" if history[c][i] is None else history[c][i]
                       for c in columns])
  return rows


def load_history_csv(filename):
  """The history dict saved by ``save_history_csv`` (trial ids as str,
  other values float, empty cells None)."""
  with open(filename, newline="") as f:
    reader = csv.reader(f)
    try:
      columns = next(reader)
    except StopIteration:
      raise ValueError(f"{filename}: empty file, not a history CSV.") from None
    missing = [c for c in FIXED_COLUMNS if c not in columns]
    if missing:
      raise ValueError(f"{filename}: not a history CSV (no column "
                       f"{', '.join(missing)}).")
    history = {c: [] for c in columns}
    for row in reader:
      if not row:
        continue
      for column, cell in zip(columns, row):
        if column == "trial_id":
          history[column].append(cell)
        else:
          history[column].append(float(cell) if cell != "" else None)
  return history


def _expand(filenames):
  """Paths from a path / glob pattern or a list of them (sorted, no
  duplicates)."""
  if isinstance(filenames, (str, os.PathLike)):
    filenames = [filenames]
  paths = []
  for name in filenames:
    name = os.fspath(name)
    matches = sorted(glob.glob(name)) if glob.has_magic(name) else [name]
    paths.extend(p for p in matches if p not in paths)
  if not paths:
    raise ValueError(f"plot_history: no file matches {filenames!r}.")
  return paths


def _metric_of(history, metric):
  if metric in history:
    return metric
  candidates = [k for k in history if k.startswith("val_")]
  if not candidates:
    raise ValueError(f"plot_history: metric {metric!r} is not in the "
                     f"history (columns: {', '.join(history)}).")
  return candidates[0]


def plot_history(filenames, output=None, metric="val_acc"):
  """Plots ``log_*.csv`` histories written by ``save_history_csv``.

  One file: score, ``metric`` and trial size per trial
  (``qkeras.autoqkeras.utils.plot_history``). Several files: the trade-off
  of each search, ``metric`` against trial size, one colour per file.

  Args:
    filenames: a path, a glob pattern (``"out/log_*.csv"``) or a list.
    output: where to save the figure (png, pdf, ...); None: not saved.
    metric: accuracy-like column to plot (default ``val_acc``, else the
      first ``val_`` column).

  Returns:
    The matplotlib figure (matplotlib is imported here).
  """
  paths = _expand(filenames)
  histories = [load_history_csv(p) for p in paths]
  if len(paths) == 1:
    from qkeras.autoqkeras.utils import plot_history as plot_one  # pylint: disable=g-import-not-at-top
    return plot_one(histories[0], filename=output, metric=metric)
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(7, 4.5))
  labels = [os.path.basename(p) for p in paths]
  if len(set(labels)) < len(labels):   # same names in several folders
    common = os.path.commonpath([os.path.abspath(p) for p in paths])
    labels = [os.path.relpath(os.path.abspath(p), common) for p in paths]
  label = None
  for path_label, history in zip(labels, histories):
    label = _metric_of(history, metric)
    points = [(s, m) for s, m in zip(history["trial_size"], history[label])
              if s is not None and m is not None]
    ax.plot([p[0] for p in points], [p[1] for p in points], "o",
            label=path_label)
  ax.set_xlabel("trial size")
  ax.set_ylabel(label)
  ax.grid(True, alpha=0.3)
  ax.legend()
  ax.set_title("AutoQKeras searches")
  fig.tight_layout()
  if output is not None:
    fig.savefig(output)
  return fig


def main(argv=None):
  parser = argparse.ArgumentParser(
      description="Plot AutoQKeras history CSVs (log_*.csv).")
  parser.add_argument("filenames", nargs="+", help="CSV files or patterns")
  parser.add_argument("-o", "--output", default="history.png",
                      help="figure file (default history.png)")
  parser.add_argument("--metric", default="val_acc")
  args = parser.parse_args(argv)
  try:
    plot_history(args.filenames, args.output, args.metric)
  except (OSError, ValueError) as e:
    print(f"{parser.prog}: error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {args.output}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
