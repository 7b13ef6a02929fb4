# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Converting a two-input float Keras model with qkeras.utils.model_quantize.

    python examples/example_keras_to_qkeras.py [--dataset digits]
        [--epochs 5] [--dump-dir DIR] [--dump-samples 4]

The float model reads the image and a second input, the image's row means,
and joins the two branches before the classifier. It is trained, then
converted with ``model_quantize(..., transfer_weights=True)`` using entries
by class (``"QConv2D"``, ``"QDense"``, ``"QActivation"``) and by layer name
(``"classifier"`` gets 8-bit weights, ``"stats_act"`` its own activation),
fine-tuned, and described with ``print_qstats``. Finally
``quantized_model_dump`` writes every layer's output on a few test samples
as raw float32 files ``<layer>.bin`` into ``--dump-dir`` (default: a new
temporary directory).
"""

import argparse
import os
import sys
import tempfile

import _data  # examples/_data.py

# Keras and qkeras are imported where they are used, after the arguments
# are checked: --help and bad input answer without loading TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
positive_int = _data._positive_int  # pylint: disable=protected-access

# Per-class entries first, then per-name ones (a name wins over a class).
QUANTIZER_CONFIG = {
    "QConv2D": {"kernel_quantizer": "quantized_bits(4,0,1)",
                "bias_quantizer": "quantized_bits(4,0,1)"},
    "QDense": {"kernel_quantizer": "quantized_bits(4,0,1)",
               "bias_quantizer": "quantized_bits(4,0,1)"},
    "QActivation": {"relu": "quantized_relu(4,0)"},
    "classifier": {"kernel_quantizer": "quantized_bits(8,0,1)",
                   "bias_quantizer": "quantized_bits(8,0,1)"},
    "stats_act": "quantized_relu(6,2)",
}


def two_inputs(images):
  """``[images, row means]``: the model's two inputs."""
  return [images, images.mean(axis=(2, 3))]


def build_float_model(shape, num_classes):
  """A conv branch on the image and a dense branch on its row means,
  concatenated before the softmax classifier."""
  import keras  # pylint: disable=g-import-not-at-top
  image = keras.Input(shape, name="image")
  stats = keras.Input((shape[0],), name="row_means")
  x = keras.layers.Conv2D(16, 3, padding="same", name="conv")(image)
  x = keras.layers.Activation("relu", name="conv_act")(x)
  x = keras.layers.MaxPooling2D(2, name="pool")(x)
  x = keras.layers.Flatten(name="flatten")(x)
  s = keras.layers.Dense(16, name="stats_dense")(stats)
  s = keras.layers.Activation("relu", name="stats_act")(s)
  x = keras.layers.Concatenate(name="join")([x, s])
  x = keras.layers.Dense(num_classes, name="classifier")(x)
  x = keras.layers.Activation("softmax", name="softmax")(x)
  return keras.Model([image, stats], x, name="float_model")


def check_dump_dir(path, prog):
  """Creates ``path`` (or a temporary directory when None) and checks that
  it is writable; a one-line error otherwise."""
  if path is None:
    return tempfile.mkdtemp(prefix="qkeras_dump_")
  try:
    os.makedirs(path, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
      pass
  except OSError as e:
    _data.fail(f"--dump-dir {path!r} is not a writable directory "
               f"({e.strerror or e})", prog)
  return path


def parse_args(argv):
  parser = argparse.ArgumentParser(prog=os.path.basename(__file__),
                                   description=__doc__.split("\n")[0])
  _data.add_arguments(parser, epochs=5)
  parser.add_argument("--dump-dir", default=None,
                      help="where quantized_model_dump writes the layer "
                      "outputs (default: a new temporary directory)")
  parser.add_argument("--dump-samples", type=positive_int, default=4,
                      help="test samples to dump (default 4)")
  parser.add_argument("--batch-size", type=positive_int, default=64,
                      help="training batch size (default 64)")
  return parser, parser.parse_args(argv)


def train(model, x_train, y_train, x_test, y_test, args, title):
  """Compiles, fits and prints the test accuracy of ``model``."""
  accuracy = _data.train_and_evaluate(
      model, (x_train, y_train, x_test, y_test), args.epochs,
      batch_size=args.batch_size)
  print(f"{title} test accuracy: {accuracy:.4f}")


def main(argv=None):
  parser, args = parse_args(argv)
  dump_dir = check_dump_dir(args.dump_dir, parser.prog)
  x_train, y_train, x_test, y_test, info = _data.load_or_fail(args,
                                                              parser.prog)
  print(info)
  # pylint: disable=g-import-not-at-top
  from qkeras.estimate import print_qstats
  from qkeras.utils import model_quantize, quantized_model_dump
  x_train, x_test = two_inputs(x_train), two_inputs(x_test)
  model = build_float_model(x_train[0].shape[1:], y_train.shape[1])
  train(model, x_train, y_train, x_test, y_test, args, "float model")

  qmodel = model_quantize(model, QUANTIZER_CONFIG, activation_bits=4,
                          transfer_weights=True)
  qmodel.summary()
  for layer in qmodel.layers:
    if hasattr(layer, "get_quantizers"):
      quantizers = [str(q) for q in layer.get_quantizers() if q]
      print(f"{layer.name:12} {type(layer).__name__:12} {quantizers}")
  train(qmodel, x_train, y_train, x_test, y_test, args, "quantized model")
  print_qstats(qmodel)

  samples = [x[:args.dump_samples] for x in x_test]
  quantized_model_dump(qmodel, samples, output_dir=dump_dir)
  print(f"layer outputs of {len(samples[0])} samples written to {dump_dir}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
