# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``python -m qkeras.qtools MODEL``: the data-type map and the per-layer
energy (pJ) of a saved model."""

import argparse
import contextlib
import json
import os
import sys

# Quiet TensorFlow's C++ start-up log unless the user set a level. Nothing
# has loaded Keras yet: ``python -m qkeras.qtools`` defers the package's
# imports to ``main()`` (qkeras/__init__.py), so ``--help`` loads none.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _parser():
  """The arguments; every default is the default of ``QTools(...)`` and
  ``QTools.pe(...)``, so that the CLI and the API give the same energy for
  the same settings."""
  p = argparse.ArgumentParser(
      prog="python -m qkeras.qtools",
      description="Print the QTools data-type map and the per-layer energy "
      "estimate (Horowitz 45 nm, pJ) of a saved Keras model (.keras, .h5). "
      "Every default is the default of QTools(...) and QTools.pe(...).")
  p.add_argument("model", help="the saved model (.keras or .h5; qkeras "
                 "layers load without custom objects)")
  p.add_argument("--source-quantizer", action="append", metavar="Q",
                 help="type of a model input, e.g. 'quantized_bits(8,0,1)' "
                 "or 'int8' (repeat once per input; default "
                 "quantized_bits(8, 0, 1))")
  p.add_argument("--process", default="horowitz",
                 help="energy model (default: horowitz)")
  p.add_argument("--json", metavar="FILE",
                 help="also write the data-type map to FILE")
  p.add_argument("--keras-quantizer", metavar="Q",
                 help="weight type of plain Keras layers (e.g. int8; "
                 "default: the default intermediate quantizer)")
  p.add_argument("--keras-accumulator", metavar="Q",
                 help="arithmetic type of plain Keras layers (e.g. int32; "
                 "default: the default intermediate quantizer)")
  p.add_argument("--for-reference", action="store_true",
                 help="describe the model as unquantized (with "
                 "--keras-quantizer/--keras-accumulator)")
  p.add_argument("--is-inference", action="store_true",
                 help="read the trained weights: po2 weights record how "
                 "many distinct values they take")
  p.add_argument("--weights-path", metavar="FILE",
                 help="load these weights into the model first")
  p.add_argument("--weights-on-memory", default="dram",
                 choices=("dram", "sram", "fixed"),
                 help="where the weights are read from (default: dram)")
  p.add_argument("--activations-on-memory", default="dram",
                 choices=("dram", "sram", "fixed"),
                 help="where the activations are read from (default: dram)")
  p.add_argument("--min-sram-size", type=int, default=0, metavar="BITS",
                 help="the smallest SRAM (bits) read costs are computed "
                 "for (default: 0)")
  p.add_argument("--rd-wr-on-io", action=argparse.BooleanOptionalAction,
                 default=True,
                 help="the model's input and output go through DRAM "
                 "(default: yes)")
  p.add_argument("--no-map", action="store_true",
                 help="print only the energy table")
  return p


def energy_table(energy, out):
  """Prints one row per layer and the totals: each row's and the last
  row's "total" sum every part (``energy["total_cost"]``)."""
  parts = ("inputs", "outputs", "parameters", "op_cost")
  print(f"{'layer':28} {'class':24}" + "".join(f"{p:>13}" for p in parts) +
        f"{'total':>13}", file=out)
  sums = dict.fromkeys(parts, 0.0)
  for name, entry in energy.items():
    if name == "total_cost":
      continue
    values = [entry["energy"][p] for p in parts]
    for p, v in zip(parts, values):
      sums[p] += v
    print(f"{name:28} {entry['class_name']:24}" +
          "".join(f"{v:13.2f}" for v in values) + f"{sum(values):13.2f}",
          file=out)
  print(f"{'total (pJ)':28} {'':24}" +
        "".join(f"{sums[p]:13.2f}" for p in parts) +
        f"{energy['total_cost']:13d}", file=out)


_SHOWN = 600  # characters of an error message


def _one_line(error):
  """``error``'s message on one line, at most ``_SHOWN`` characters: its
  start and its end (a hostile argument may be megabytes long)."""
  message = " ".join(str(error).split())
  if len(message) <= _SHOWN:
    return message
  tail = _SHOWN // 3
  return message[:_SHOWN - tail - 5] + " ... " + message[-tail:]


def main(argv=None, out=None):
  out = out or sys.stdout
  args = _parser().parse_args(argv)
  try:
    import qkeras  # pylint: disable=g-import-not-at-top
    # Loads Keras and registers every qkeras class (deferred at start-up).
    with qkeras._tensorflow_log_level_applied():  # pylint: disable=protected-access
      qkeras._finish_import()  # pylint: disable=protected-access
    from qkeras import _io  # pylint: disable=g-import-not-at-top
    from qkeras.qtools import QTools  # pylint: disable=g-import-not-at-top
    from qkeras.qtools import settings  # pylint: disable=g-import-not-at-top
    if not os.path.exists(args.model):
      raise ValueError(f"no such file: {args.model}")
    # load_qmodel refuses hostile or broken files with a one-line
    # ValueError before building anything (qkeras/_io.py).
    model = _io.load_qmodel(args.model, compile=False)
    sources = args.source_quantizer
    if sources is not None and len(sources) == 1:
      sources = sources[0]
    with contextlib.redirect_stdout(sys.stderr):  # progress notes
      qtools = QTools(model, process=args.process, source_quantizers=sources,
                      keras_quantizer=args.keras_quantizer,
                      keras_accumulator=args.keras_accumulator,
                      for_reference=args.for_reference,
                      is_inference=args.is_inference,
                      weights_path=args.weights_path)
      energy = qtools.pe(weights_on_memory=args.weights_on_memory,
                         activations_on_memory=args.activations_on_memory,
                         min_sram_size=args.min_sram_size,
                         rd_wr_on_io=args.rd_wr_on_io)
  except (ValueError, OSError) as e:
    print(f"python -m qkeras.qtools: error: {_one_line(e)}", file=sys.stderr)
    return 2
  if not args.no_map:
    print(json.dumps(qtools.output_dict, indent=4), file=out)
    print(file=out)
  energy_table(energy, out)
  counted = qtools.extract_energy_sum(settings.cfg.include_energy, energy)
  print(f"{'include_energy total (pJ)':52}{counted:65d}", file=out)
  if args.json:
    qtools.qtools_stats_to_json(args.json)
  return 0


if __name__ == "__main__":
  sys.exit(main())
