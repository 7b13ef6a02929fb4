# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Hand a trained QKeras model to hls4ml and check the C++ bit for bit.

    python examples/hls4ml_handoff.py [--epochs 10] [--samples 20000]
        [--weights both|defaults|alpha1] [--backend Vitis|Vivado]
        [--io-type io_parallel|io_stream] [--output-dir DIR]

The jet-tagging MLP of the QKeras/hls4ml papers (16 -> 64 -> 32 -> 32 -> 5,
6-bit weights and biases, 6-bit ReLUs) is trained on generated "jets" (five
classes of Gaussian blobs in 16 features, no download), following the
bit-exact recipe of docs/hls4ml.md: a ``QActivation(quantized_bits(...))``
right after the input, quantized activations between the layers, and logits
(no softmax) at the output. Its weights are quantized two ways
(``--weights``): ``defaults``, as QKeras users write them,
``quantized_bits(6, 0, 1)`` (a kernel quantizer without ``alpha`` becomes
``alpha="auto_po2"``: per-unit power-of-two scales), and ``alpha1``,
``quantized_bits(6, 0, alpha=1)`` (plain fixed point). Each model is
converted with ``hls4ml.utils.config_from_keras_model`` and
``hls4ml.converters.convert_from_keras_model`` (``import qkeras`` registers
our layers with hls4ml), compiled with g++ (no vendor tools), and its
predictions are compared with Keras's on the test set. Per model the run
shows what hls4ml knows about the hardware before synthesis: per layer the
fixed-point types, the reuse factor and the number of non-zero weights
(the multipliers of a fully parallel design), and it ends with the accuracy
of both. Needs ``pip install hls4ml`` and g++.
"""

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile

import _data  # examples/_data.py

# Keras, qkeras and hls4ml are imported where they are used, after the
# arguments are checked: --help and bad input answer without loading
# TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
PROG = os.path.basename(__file__)
FEATURES, CLASSES = 16, 5
INPUT_FRACTION_BITS = 10  # inputs on the 2**-10 grid: exact in fixed<16,6>
# --weights: the kernel and bias quantizer of every QDense.
WEIGHTS = {
    # What QKeras users write; QKeras turns the kernel's alpha=None into
    # "auto_po2" (a power-of-two scale per unit).
    "defaults": "quantized_bits(6, 0, 1)",
    # docs/hls4ml.md's plain fixed point.
    "alpha1": "quantized_bits(6, 0, alpha=1)",
}


def parse_args(argv=None):
  """The command line."""
  parser = argparse.ArgumentParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0])
  parser.add_argument("--epochs", type=_data._positive_int, default=10,  # pylint: disable=protected-access
                      help="training epochs (default 10)")
  parser.add_argument("--samples", type=_data._positive_int, default=20000,  # pylint: disable=protected-access
                      help="generated training jets (default 20000; the "
                      "test set is a quarter of it, at least 100)")
  parser.add_argument("--seed", type=int, default=0,
                      help="random seed (default 0)")
  parser.add_argument("--weights", default="both",
                      choices=("both",) + tuple(WEIGHTS),
                      help="weight quantizers: QKeras's defaults "
                      "(auto_po2 scales), alpha=1, or both (default)")
  parser.add_argument("--backend", default="Vitis",
                      choices=("Vitis", "Vivado"),
                      help="hls4ml backend (default Vitis)")
  parser.add_argument("--io-type", default="io_parallel",
                      choices=("io_parallel", "io_stream"),
                      help="hls4ml I/O type (default io_parallel)")
  parser.add_argument("--output-dir", metavar="DIR",
                      help="where the hls4ml projects go, one "
                      "subdirectory per --weights mode (default: a new "
                      "temporary directory)")
  args = parser.parse_args(argv)
  if args.output_dir and not os.path.isdir(
      os.path.dirname(os.path.abspath(args.output_dir))):
    _data.fail(f"--output-dir: no directory for {args.output_dir!r}", PROG)
  if importlib.util.find_spec("hls4ml") is None:
    _data.fail("hls4ml is not installed (pip install hls4ml)", PROG)
  if shutil.which("g++") is None:
    _data.fail("g++ is not on PATH (hls4ml compiles its C++ with it)", PROG)
  return args


def generate_jets(samples, seed):
  """Five classes of Gaussian blobs in 16 features, on the input grid.

  Returns ``(x, y)`` with float32 features in about [-4, 4) and one-hot
  labels.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  rs = np.random.RandomState(seed)
  centers = rs.uniform(-1.0, 1.0, (CLASSES, FEATURES))
  labels = rs.randint(0, CLASSES, samples)
  x = centers[labels] + rs.normal(0.0, 0.6, (samples, FEATURES))
  scale = 2.0**INPUT_FRACTION_BITS
  x = np.clip(np.round(x * scale) / scale, -4.0, 4.0 - 1.0 / scale)
  y = np.eye(CLASSES, dtype=np.float32)[labels]
  return x.astype(np.float32), y


def build_model(weights="defaults"):
  """The 6-bit jet-tagging MLP, written to the bit-exact recipe, with the
  weight quantizers ``WEIGHTS[weights]``."""
  # pylint: disable=g-import-not-at-top
  import keras
  from qkeras import QActivation, QDense, quantized_bits, quantized_relu
  quantizers = dict(kernel_quantizer=WEIGHTS[weights],
                    bias_quantizer=WEIGHTS[weights])
  x = x_in = keras.Input((FEATURES,), name="features")
  x = QActivation(quantized_bits(10, 2, alpha=1), name="input_q")(x)
  for i, units in enumerate((64, 32, 32)):
    x = QDense(units, name=f"fc{i + 1}", **quantizers)(x)
    x = QActivation(quantized_relu(6, 2), name=f"relu{i + 1}")(x)
  x = QDense(CLASSES, name="output", **quantizers)(x)
  x = QActivation(quantized_bits(12, 4, alpha=1), name="logits")(x)
  return keras.Model(x_in, x, name=f"jet_tagger_{weights}")


def convert(model, args, output_dir):
  """hls4ml config, conversion and g++ build; returns the hls4ml model."""
  # pylint: disable=g-import-not-at-top
  import hls4ml
  config = hls4ml.utils.config_from_keras_model(
      model, granularity="name", backend=args.backend)
  hls_model = hls4ml.converters.convert_from_keras_model(
      model, hls_config=config, output_dir=output_dir, backend=args.backend,
      io_type=args.io_type)
  hls_model.compile()
  return hls_model


def print_summary(hls_model):
  """Per layer: types, reuse factor, non-zero weights (multipliers)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  print(f"{'layer':<14} {'class':<11} {'result type':<34} "
        f"{'weight type':<24} {'reuse':>5} {'nonzero w':>9}")
  total = 0
  for name, layer in hls_model.graph.items():
    result = str(layer.get_output_variable().type.precision)
    weight = layer.weights.get("weight")
    nonzero = int(np.count_nonzero(weight.data)) if weight is not None else 0
    total += nonzero
    reuse = layer.get_attr("reuse_factor", "")
    print(f"{name:<14} {layer.class_name:<11} {result:<34} "
          f"{str(weight.type.precision) if weight is not None else '':<24} "
          f"{reuse!s:>5} {nonzero:>9}")
  print(f"non-zero weights (multiplications per inference): {total}")


def main(argv=None):
  """Trains, converts, compiles, compares; returns 0."""
  args = parse_args(argv)
  # pylint: disable=g-import-not-at-top
  import keras
  keras.utils.set_random_seed(args.seed)
  tests = max(100, args.samples // 4)
  x, y = generate_jets(args.samples + tests, args.seed)
  x_train, y_train, x_test, y_test = (x[tests:], y[tests:], x[:tests],
                                      y[:tests])
  print(f"generated jets: {len(x_train)} training / {len(x_test)} test, "
        f"{FEATURES} features, {CLASSES} classes")
  results = []
  for weights in (WEIGHTS if args.weights == "both" else (args.weights,)):
    print(f"\n== weights: {WEIGHTS[weights]} ({weights})")
    results.append((weights,) + train_and_hand_off(
        weights, (x_train, y_train, x_test, y_test), args))
  print(f"\n{'weights':<9} {'quantizer':<30} {'Keras acc':>9} "
        f"{'hls4ml acc':>10}  C++ vs Keras")
  for weights, accuracy, hls_accuracy, differ in results:
    print(f"{weights:<9} {WEIGHTS[weights]:<30} {accuracy:>9.4f} "
          f"{hls_accuracy:>10.4f}  "
          f"{'bit-exact' if not differ else f'{differ} outputs differ'}")
  return 0


def train_and_hand_off(weights, data, args):
  """Trains the model with ``weights``, converts, compiles and compares;
  returns ``(Keras accuracy, hls4ml accuracy, outputs that differ)``."""
  # pylint: disable=g-import-not-at-top
  import keras
  import numpy as np
  _, _, x_test, y_test = data
  keras.utils.set_random_seed(args.seed)
  model = build_model(weights)
  model.summary()
  accuracy = _data.train_and_evaluate(
      model, data, args.epochs, keras.optimizers.Adam(0.003), batch_size=256,
      loss=keras.losses.CategoricalCrossentropy(from_logits=True))
  print(f"test accuracy: {accuracy:.4f}")

  output_dir = os.path.join(
      args.output_dir or tempfile.mkdtemp(prefix="hls4ml_handoff_"), weights)
  hls_model = convert(model, args, output_dir)
  print(f"hls4ml project ({args.backend}, {args.io_type}): {output_dir}")
  expected = model.predict(x_test, verbose=0)
  got = np.asarray(hls_model.predict(x_test)).reshape(expected.shape)
  differ = int(np.count_nonzero(got != expected))
  if differ:
    print(f"hls4ml != Keras on {len(x_test)} inputs: {differ} outputs "
          f"differ, max |diff| {np.abs(got - expected).max():g}")
  else:
    print(f"hls4ml == Keras on {len(x_test)} inputs: bit-exact")
  hls_accuracy = float(np.mean(np.argmax(got, 1) == np.argmax(y_test, 1)))
  print(f"hls4ml test accuracy: {hls_accuracy:.4f}")
  print_summary(hls_model)
  return accuracy, hls_accuracy, differ


if __name__ == "__main__":
  sys.exit(main())
