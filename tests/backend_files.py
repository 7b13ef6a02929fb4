"""The model behind the cross-backend file tests (tests/test_backends.py).

One functional model with every kind of Q-layer state a file must carry:
quantized convolutions (plain, depthwise, separable, transposed, folded batch
norm), ``QBatchNormalization``, pooling, ``QDense``, ``QAdaptiveActivation``
(whose EMAs and integer bits are weights), a ``QLSTM`` and quantizer objects
of every family as activations. Every float result passes through a
quantizer before the outputs, so its predictions are exact numbers that every
backend computes alike; ``tests/data/backends/<backend>.keras`` were written
by ``python3 tests/backend_files.py`` on each backend
(``KERAS_BACKEND=<backend>``), with ``<backend>.npz`` holding the inputs, the
saving backend's predictions and its weights.
"""

import os

import keras
import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                    "backends")
BACKENDS = ("tensorflow", "jax", "torch")


def build_model():
  """The model, with deterministic (seeded, on-grid) weights."""
  # pylint: disable=g-import-not-at-top
  import qkeras as q
  from qkeras import quantizers as Q
  keras.utils.set_random_seed(7)
  image = keras.Input((8, 8, 3), name="image")
  x = q.QConv2D(6, 3, padding="same", kernel_quantizer="quantized_bits(4,0,1)",
                bias_quantizer="quantized_bits(6,2,1)", name="conv")(image)
  x = q.QBatchNormalization(name="bn")(x)
  x = q.QActivation("quantized_relu(4,2)", name="relu")(x)
  x = q.QDepthwiseConv2D(3, padding="same",
                         depthwise_quantizer=Q.quantized_bits(4, 0, 1,
                                                              alpha=1),
                         bias_quantizer="quantized_bits(4,2,1)",
                         name="dw")(x)
  x = q.QActivation(Q.quantized_po2(5, 4), name="po2")(x)
  x = q.QSeparableConv2D(4, 3, padding="same",
                         depthwise_quantizer="quantized_bits(4,0,1)",
                         pointwise_quantizer="ternary",
                         activation="quantized_bits(6,3,1)", name="sep")(x)
  x = q.QConv2DBatchnorm(4, 3, padding="same",
                         kernel_quantizer="quantized_bits(5,0,1)",
                         bias_quantizer="quantized_bits(8,3,1)",
                         name="folded")(x)
  x = q.QActivation("quantized_bits(6,2,1)", name="bits")(x)
  x = q.QConv2DTranspose(2, 2, strides=2,
                         kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
                         bias_quantizer="quantized_bits(4,2,1)",
                         name="up")(x)
  x = q.QAveragePooling2D(2, average_quantizer="quantized_bits(8,0,1)",
                          activation="quantized_bits(8,3,1)", name="pool")(x)
  x = keras.layers.Flatten(name="flat")(x)
  x = q.QDense(8, kernel_quantizer="binary(alpha='auto_po2')",
               bias_quantizer="quantized_bits(4,2,1)",
               activation=Q.quantized_relu_po2(4, 4), name="dense")(x)
  x = q.QAdaptiveActivation("quantized_relu", 6, name="adaptive")(x)

  sequence = keras.Input((4, 3), name="sequence")
  h = q.QLSTM(5, kernel_quantizer="quantized_bits(4,0,1)",
              recurrent_quantizer="quantized_bits(4,0,1)",
              bias_quantizer="quantized_bits(4,2,1)",
              state_quantizer="quantized_bits(8,2,1)",
              activation="quantized_tanh(6)", name="lstm")(sequence)
  merged = keras.layers.Concatenate(name="concat")([x, h])
  out = q.QDense(3, kernel_quantizer="quantized_bits(6,0,1)",
                 bias_quantizer="quantized_bits(6,2,1)", name="head")(merged)
  out = q.QActivation("quantized_bits(8,3,1)", name="out")(out)
  model = keras.Model([image, sequence], out, name="backends")
  rng = np.random.RandomState(3)
  for w in model.weights:
    value = rng.uniform(-1, 1, w.shape)
    if "variance" in w.path:
      value = rng.uniform(0.5, 2, w.shape)
    elif w.path.endswith(("iteration", "step")):
      value = np.full(w.shape, 5)
    elif "integer_bits" in w.path:
      value = np.full(w.shape, 2)
    # Values on a 1/64 grid: float sums of them are exact on every backend.
    w.assign((np.round(value * 64) / 64).astype(w.dtype))
  return model


def weight_values(model):
  """Every variable a file stores, in ``model.weights`` order."""
  return [keras.ops.convert_to_numpy(w.value) for w in model.weights]


def inputs():
  rng = np.random.RandomState(11)
  image = (np.round(rng.uniform(-2, 2, (6, 8, 8, 3)) * 8) / 8)
  sequence = (np.round(rng.uniform(-1, 1, (6, 4, 3)) * 8) / 8)
  return {"image": image.astype("float32"),
          "sequence": sequence.astype("float32")}


def main():
  backend = keras.backend.backend()
  os.makedirs(DATA, exist_ok=True)
  model = build_model()
  x = inputs()
  y = model.predict(x, verbose=0)
  model.save(os.path.join(DATA, backend + ".keras"))
  arrays = {f"w_{i}": w for i, w in enumerate(weight_values(model))}
  np.savez(os.path.join(DATA, backend + ".npz"), y=y, **x, **arrays)
  print(backend, "saved", len(arrays), "weights; predictions:")
  print(y)


if __name__ == "__main__":
  main()
