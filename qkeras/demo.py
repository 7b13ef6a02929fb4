# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The qkeras demo: ``python -m qkeras.demo``.

Runs offline (scikit-learn's bundled digits and generated data):

1. transfer values of common quantizers on a grid of inputs;
2. weight quantization of a random kernel: levels, per-channel scales and
   signal-to-quantization-noise ratio for several quantizer strings;
3. the safe string parser (a rejected string and its message);
4. a Keras serialization round trip;
5. the QKeras README network, trained in float and quantized on the 8x8
   digits: both accuracies, a per-layer quantizer summary, and a ``.keras``
   save/reload with bit-identical predictions, and ``print_qstats``;
6. a QLSTM sequence classifier on generated rising/falling sequences;
7. ``model_quantize``: the trained float network converted to 4 bits,
   fine-tuned with gradual quantization (``QNoiseScheduler``), and its
   quantized weights exported for hardware;
8. QTools: the estimated inference energy (Horowitz 45 nm) of the float
   network, of the README's quantized network and of the 4-bit conversion;
9. AutoQKeras: a short random search of per-layer quantizers of the float
   network for low energy, its best model's accuracy and energy.
"""

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile

import qkeras  # cheap here: python -m qkeras.demo defers its imports


def _parser():
  parser = argparse.ArgumentParser(
      prog="python -m qkeras.demo", description=__doc__.split("\n\n")[0])
  parser.add_argument("--seed", type=int, default=0,
                      help="seed of the generated kernel and the training "
                      "(default 0)")
  parser.add_argument("--epochs", type=int, default=20,
                      help="training epochs on the digits (default 20)")
  return parser


if __name__ == "__main__":
  # ``python -m qkeras.demo`` defers the package's imports (see
  # qkeras/__init__.py): answer ``--help`` before anything loads Keras, and
  # quiet TensorFlow's C++ start-up log unless the user set a level.
  _parser().parse_args()
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  with qkeras._tensorflow_log_level_applied():  # pylint: disable=protected-access
    qkeras._finish_import()  # pylint: disable=protected-access

import keras  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from qkeras.quantizers import get_quantizer  # pylint: disable=g-import-not-at-top

TRANSFER = ["quantized_bits(4,0,1)", "quantized_relu(3,1)", "quantized_tanh(4)",
            "quantized_po2(4)", "binary()", "ternary()"]
WEIGHTS = ["quantized_bits(8,0,1,alpha=1)", "quantized_bits(4,0,1,alpha=1)",
           "quantized_bits(4,0,1,alpha='auto_po2')",
           "quantized_bits(4,0,1,alpha='auto')", "quantized_po2(5)",
           "ternary(alpha='auto_po2')", "binary(alpha='auto_po2')"]


def transfer_table(out):
  x = np.arange(-2.0, 2.01, 0.25, dtype=np.float32)
  header = "x".rjust(24) + "".join(f"{v:7.2f}" for v in x)
  print("1. Quantizer transfer values", file=out)
  print(header, file=out)
  for text in TRANSFER:
    y = keras.ops.convert_to_numpy(get_quantizer(text)(x))
    print(text.rjust(24) + "".join(f"{v:7.3f}" for v in y), file=out)
  print(file=out)


def weight_table(out, seed=0):
  rng = np.random.RandomState(seed)
  kernel = (rng.normal(size=(64, 8)) *
            np.linspace(0.05, 1.0, 8)).astype(np.float32)
  print("2. Quantizing a 64x8 kernel (columns with different ranges)",
        file=out)
  print(f"{'quantizer':>42} {'levels':>6} {'SQNR dB':>8}  per-column scale",
        file=out)
  for text in WEIGHTS:
    q = get_quantizer(text)
    w = keras.ops.convert_to_numpy(q(kernel))
    noise = np.mean((w - kernel)**2)
    sqnr = 10 * np.log10(np.mean(kernel**2) / max(noise, 1e-30))
    scale = getattr(q, "scale", None)
    scale_text = ("-" if scale is None else
                  np.array2string(np.ravel(qkeras.get_weight_scale(q)),
                                  precision=3, separator=" "))
    print(f"{text:>42} {len(np.unique(w)):6d} {sqnr:8.2f}  {scale_text}",
          file=out)
  print(file=out)


def parser_demo(out):
  print("3. Quantizer strings are parsed, never evaluated", file=out)
  for text in ["quantized_bits(4, 0, 1, alpha=auto_po2)",
               "quantized_relu(4, use_stochastic_rounding=True)", "binary"]:
    print(f"  {text!r:50} -> {get_quantizer(text)}", file=out)
  bad = "quantized_bits(4,0,1,alpha=__import__('os'))"
  try:
    get_quantizer(bad)
  except ValueError as e:
    print(f"  {bad!r:50} -> ValueError: {e}", file=out)
  print(file=out)


def serialization_demo(out):
  print("4. Keras serialization", file=out)
  q = get_quantizer("quantized_bits(6,2,1,alpha='auto_po2')")
  config = keras.saving.serialize_keras_object(q)
  print("  " + json.dumps(config), file=out)
  restored = keras.saving.deserialize_keras_object(config)
  x = np.random.RandomState(1).normal(size=(16, 4)).astype(np.float32)
  same = np.array_equal(keras.ops.convert_to_numpy(q(x)),
                        keras.ops.convert_to_numpy(restored(x)))
  print(f"  restored {restored}: identical outputs = {same}", file=out)


def load_digits_data(seed=0, test_fraction=0.2):
  """scikit-learn's 8x8 digits as ``(x_train, y_train, x_test, y_test)``.

  Images are scaled to [0, 1] with shape (8, 8, 1); labels are one-hot.
  """
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  digits = load_digits()
  x = (digits.images / 16.0).astype(np.float32)[..., None]
  y = keras.utils.to_categorical(digits.target, 10).astype(np.float32)
  order = np.random.RandomState(seed).permutation(len(x))
  n_test = int(len(x) * test_fraction)
  test, train = order[:n_test], order[n_test:]
  return x[train], y[train], x[test], y[test]


def seed_network(input_shape=(8, 8, 1), nb_classes=10, quantized=True):
  """The example network of the QKeras README (float or quantized)."""
  from qkeras import (QActivation, QConv2D, QDense, QSeparableConv2D,  # pylint: disable=g-import-not-at-top
                      quantized_bits, quantized_tanh)
  layers = keras.layers
  x = x_in = keras.Input(input_shape)
  if not quantized:
    x = layers.Conv2D(18, (3, 3), name="first_conv2d")(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(32, (3, 3))(x)
    x = layers.Activation("relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(nb_classes)(x)
    x = layers.Activation("softmax")(x)
    return keras.Model(x_in, x)
  x = QConv2D(18, (3, 3),
              kernel_quantizer="stochastic_ternary",
              bias_quantizer="ternary", name="first_conv2d")(x)
  x = QActivation("quantized_relu(3)")(x)
  x = QSeparableConv2D(32, (3, 3),
                       depthwise_quantizer=quantized_bits(4, 0, 1),
                       pointwise_quantizer=quantized_bits(3, 0, 1),
                       bias_quantizer=quantized_bits(3),
                       depthwise_activation=quantized_tanh(6, 2, 1))(x)
  x = QActivation("quantized_relu(3)")(x)
  x = layers.Flatten()(x)
  x = QDense(nb_classes,
             kernel_quantizer=quantized_bits(3),
             bias_quantizer=quantized_bits(3))(x)
  x = QActivation("quantized_bits(20, 5)")(x)
  x = layers.Activation("softmax")(x)
  return keras.Model(x_in, x)


def train(model, data, epochs, seed=0):
  """Compiles and fits ``model``; returns its test accuracy."""
  x_train, y_train, x_test, y_test = data
  keras.utils.set_random_seed(seed)
  model.compile(optimizer=keras.optimizers.Adam(0.005),
                loss="categorical_crossentropy", metrics=["accuracy"])
  model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
  return model.evaluate(x_test, y_test, verbose=0)[1]


def quantizer_summary(model, out):
  """One line per Q-layer: its quantizers."""
  for layer in model.layers:
    if not hasattr(layer, "get_quantizers"):
      continue
    quantizers = ", ".join(str(q) for q in layer.get_quantizers()
                           if q is not None)
    print(f"  {layer.name:>24} {type(layer).__name__:>18}  {quantizers}",
          file=out)


def digits_demo(out, epochs, seed=0):
  print("5. The QKeras README network on scikit-learn's digits "
        f"({epochs} epochs)", file=out)
  data = load_digits_data(seed)
  keras.utils.set_random_seed(seed)  # the initial weights too
  float_model = seed_network(quantized=False)
  float_acc = train(float_model, data, epochs, seed)
  keras.utils.set_random_seed(seed)
  qmodel = seed_network(quantized=True)
  q_acc = train(qmodel, data, epochs, seed)
  print(f"  float accuracy {float_acc:.4f}   quantized accuracy {q_acc:.4f}",
        file=out)
  quantizer_summary(qmodel, out)
  x_test = data[2]
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "seed_network.keras")
    qmodel.save(path)
    restored = keras.models.load_model(path)
    same = np.array_equal(qmodel.predict(x_test, verbose=0),
                          restored.predict(x_test, verbose=0))
  print(f"  saved and reloaded {os.path.basename(path)}: identical "
        f"predictions = {same}", file=out)
  print("  print_qstats(quantized model):", file=out)
  from qkeras.estimate import print_qstats  # pylint: disable=g-import-not-at-top
  with contextlib.redirect_stdout(out):
    print_qstats(qmodel)
  return float_acc, q_acc, float_model, qmodel


# model_quantize configuration of section 7 (QKeras's format).
CONVERT_CONFIG = {
    "QConv2D": {"kernel_quantizer": "quantized_bits(4,0,1)",
                "bias_quantizer": "quantized_bits(4,0,1)"},
    "QSeparableConv2D": {"depthwise_quantizer": "quantized_bits(4,0,1)",
                         "pointwise_quantizer": "quantized_bits(4,0,1)",
                         "bias_quantizer": "quantized_bits(4,0,1)"},
    "QDense": {"kernel_quantizer": "quantized_bits(4,0,1)",
               "bias_quantizer": "quantized_bits(4,0,1)"},
    "QActivation": {"relu": "quantized_relu(4,2)"},
}


def convert_demo(out, float_model, epochs, seed=0):
  """model_quantize + QNoiseScheduler + model_save_quantized_weights."""
  from qkeras.callbacks import QNoiseScheduler  # pylint: disable=g-import-not-at-top
  from qkeras.utils import model_quantize  # pylint: disable=g-import-not-at-top
  from qkeras.utils import model_save_quantized_weights  # pylint: disable=g-import-not-at-top
  tune_epochs = max(1, epochs // 4)
  print("7. model_quantize: the trained float network at 4 bits "
        f"({tune_epochs} fine-tuning epochs)", file=out)
  x_train, y_train, x_test, y_test = load_digits_data(seed)
  qmodel = model_quantize(float_model, CONVERT_CONFIG, 4,
                          transfer_weights=True)
  quantizer_summary(qmodel, out)
  keras.utils.set_random_seed(seed)
  qmodel.compile(optimizer=keras.optimizers.Adam(0.001),
                 loss="categorical_crossentropy", metrics=["accuracy"])
  before = qmodel.evaluate(x_test, y_test, verbose=0)[1]
  # The quantization noise rises from 0 (float) at the first epoch to 1
  # (fully quantized) at the last one.
  scheduler = QNoiseScheduler(start=0, finish=tune_epochs - 1,
                              freq_type="epoch")
  qmodel.fit(x_train, y_train, epochs=tune_epochs, batch_size=32, verbose=0,
             callbacks=[scheduler])
  after = qmodel.evaluate(x_test, y_test, verbose=0)[1]
  print(f"  accuracy right after conversion {before:.4f}, after gradual "
        f"fine-tuning {after:.4f}", file=out)
  with contextlib.redirect_stdout(io.StringIO()):
    saved = model_save_quantized_weights(qmodel)
  entry = saved["first_conv2d"]
  kernel = qmodel.get_layer("first_conv2d").kernel_quantizer_internal
  # QKeras exports w * m / m_i; the integer codes are w / step.
  lsb = 2.0**float(kernel.integer) / 2.0**(kernel.bits - kernel.keep_negative)
  codes = np.unique(entry["weights"][0] * lsb / entry["scales"][0])
  print(f"  exported first_conv2d kernel: integer codes {codes.min():.0f}.."
        f"{codes.max():.0f}, power-of-two steps per filter "
        f"{sorted(set(np.ravel(entry['scales'][0]).tolist()))}", file=out)
  return before, after, qmodel


def model_energy(model, source, weights_type=None, arithmetic_type=None):
  """QTools energy (pJ) of one inference, weights and activations in SRAM."""
  from qkeras.qtools import QTools  # pylint: disable=g-import-not-at-top
  from qkeras.qtools import settings as qtools_settings  # pylint: disable=g-import-not-at-top
  with contextlib.redirect_stdout(io.StringIO()):
    qtools = QTools(model, process="horowitz", source_quantizers=source,
                    keras_quantizer=weights_type,
                    keras_accumulator=arithmetic_type)
    energy = qtools.pe(weights_on_memory="sram",
                       activations_on_memory="sram", min_sram_size=0,
                       rd_wr_on_io=False)
  return qtools.extract_energy_sum(qtools_settings.cfg.include_energy, energy)


def energy_demo(out, float_model, readme_qmodel, converted_qmodel):
  print("8. QTools: estimated energy of one inference (Horowitz 45 nm, "
        "SRAM)", file=out)
  float_pj = model_energy(float_model, "fp32", "fp32", "fp32")
  rows = [("float network (fp32)", float_pj),
          ("README network, quantized", model_energy(
              readme_qmodel, "quantized_bits(8,0,1)")),
          ("float network at 4 bits (section 7)", model_energy(
              converted_qmodel, "quantized_bits(8,0,1)"))]
  for name, pj in rows:
    print(f"  {name:38} {pj:10d} pJ  ({float_pj / max(pj, 1):5.1f}x less "
          "than float)", file=out)
  return rows


# AutoQKeras search of section 9: energy goal, limits per layer class.
AUTOQK_GOAL = {
    "type": "energy",
    "params": {"delta_p": 8.0, "delta_n": 8.0, "rate": 2.0, "stress": 1.0,
               "process": "horowitz",
               "parameters_on_memory": ["sram", "sram"],
               "activations_on_memory": ["sram", "sram"],
               "rd_wr_on_io": [False, False], "min_sram_size": [0, 0],
               "source_quantizers": ["int8"], "reference_internal": "int8",
               "reference_accumulator": "int32"},
}
AUTOQK_LIMIT = {"Conv2D": [4, 8, 4], "SeparableConv2D": [4, 8, 4],
                "Dense": [8, 8, 4], "Activation": [4]}


def autoqkeras_demo(out, float_model, float_acc, float_pj, epochs, seed=0,
                    trials=3):
  """A few AutoQKeras trials on the trained float network (energy goal)."""
  from qkeras.autoqkeras import AutoQKeras  # pylint: disable=g-import-not-at-top
  search_epochs = max(1, epochs // 10)
  print(f"9. AutoQKeras: {trials} random trials of per-layer quantizers for "
        f"low energy ({search_epochs} epochs each)", file=out)
  x_train, y_train, x_test, y_test = load_digits_data(seed)
  keras.utils.set_random_seed(seed)
  log = io.StringIO()
  with tempfile.TemporaryDirectory() as tmp:
    # The search prints its search space and QTools notes; the demo shows
    # only the one line per trial.
    with contextlib.redirect_stdout(log):
      autoqk = AutoQKeras(float_model, metrics=["accuracy"],
                          goal=AUTOQK_GOAL,
                          output_dir=os.path.join(tmp, "search"),
                          mode="random", max_trials=trials, seed=seed,
                          transfer_weights=True, limit=AUTOQK_LIMIT)
      autoqk.fit(x_train, y_train, validation_data=(x_test, y_test),
                 epochs=search_epochs, batch_size=32, verbose=0)
      best = autoqk.get_best_model()
    reference_pj = autoqk.target.get_reference(float_model)
  for line in log.getvalue().splitlines():
    if line.startswith("AutoQKeras trial"):
      print("  " + line, file=out)
  _, acc, _, score = best.evaluate(x_test, y_test, verbose=0)
  best_pj = model_energy(best, "quantized_bits(8,0,1)")
  print(f"  best model (score {score:.4f}):", file=out)
  quantizer_summary(best, out)
  print(f"  test accuracy {acc:.4f} (float {float_acc:.4f}); energy "
        f"{best_pj} pJ, {float_pj / max(best_pj, 1):.1f}x less than float "
        f"({float_pj} pJ; the search's int8 reference: {reference_pj:.0f} "
        "pJ)", file=out)
  return acc, best_pj, best


def sequence_data(n=600, steps=12, seed=0):
  """Noisy rising (label 1) or falling (label 0) sequences, ``(n, steps, 1)``."""
  rng = np.random.RandomState(seed)
  slope = rng.choice([-1.0, 1.0], size=n)
  t = np.linspace(0.0, 1.0, steps)
  x = slope[:, None] * t[None] + rng.normal(scale=0.3, size=(n, steps))
  return x[..., None].astype(np.float32), (slope > 0).astype(np.float32)


def qlstm_classifier(steps=12):
  """QLSTM(8) with 4-bit weights and an 8-bit state -> QDense(1)."""
  from qkeras import QDense, QLSTM  # pylint: disable=g-import-not-at-top
  inputs = keras.Input((steps, 1))
  x = QLSTM(8, kernel_quantizer="quantized_bits(4,0,1)",
            recurrent_quantizer="quantized_bits(4,0,1)",
            bias_quantizer="quantized_bits(4,0,1)",
            state_quantizer="quantized_bits(8,0,1,alpha=1)")(inputs)
  outputs = QDense(1, kernel_quantizer="quantized_bits(4,0,1)",
                   activation="sigmoid")(x)
  return keras.Model(inputs, outputs)


def rnn_demo(out, epochs, seed=0):
  print(f"6. A QLSTM sequence classifier on generated data ({epochs} "
        "epochs)", file=out)
  x, y = sequence_data(seed=seed)
  keras.utils.set_random_seed(seed)
  model = qlstm_classifier(x.shape[1])
  model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy",
                metrics=["accuracy"])
  model.fit(x[:500], y[:500], epochs=epochs, batch_size=50, verbose=0)
  accuracy = model.evaluate(x[500:], y[500:], verbose=0)[1]
  print(f"  test accuracy {accuracy:.4f} (rising vs falling)", file=out)
  quantizer_summary(model, out)
  return accuracy


def main(argv=None):
  parser = _parser()
  args = parser.parse_args(argv)
  if args.epochs < 1:
    parser.error(f"--epochs must be at least 1, got {args.epochs}")
  out = sys.stdout
  print(f"qkeras {qkeras.__version__} on Keras {keras.__version__} "
        f"({keras.backend.backend()} backend)\n", file=out)
  transfer_table(out)
  weight_table(out, args.seed)
  parser_demo(out)
  serialization_demo(out)
  print(file=out)
  float_acc, _, float_model, readme_qmodel = digits_demo(out, args.epochs,
                                                         args.seed)
  print(file=out)
  rnn_demo(out, args.epochs, args.seed)
  print(file=out)
  _, _, converted = convert_demo(out, float_model, args.epochs, args.seed)
  print(file=out)
  energies = energy_demo(out, float_model, readme_qmodel, converted)
  print(file=out)
  autoqkeras_demo(out, float_model, float_acc, energies[0][1], args.epochs,
                  args.seed)
  return 0


if __name__ == "__main__":
  sys.exit(main())
