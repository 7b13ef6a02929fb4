"""What tests need from the Keras backend they run on (KERAS_BACKEND).

The suite runs on TensorFlow (the default), JAX and PyTorch (see
tests/conftest.py). Tests that differentiate, compile or look at tensors go
through these helpers instead of calling TensorFlow, so that the same test
checks every backend.
"""

import keras
from keras import ops
import numpy as np

BACKEND = keras.backend.backend()
TENSORFLOW = BACKEND == "tensorflow"
JAX = BACKEND == "jax"
TORCH = BACKEND == "torch"
F32 = np.float32


def np_out(x):
  """A tensor, variable or array as a NumPy array."""
  if isinstance(x, keras.Variable):
    x = x.value
  return np.asarray(ops.convert_to_numpy(x))


def tensor(x, dtype="float32"):
  """``x`` as a tensor of the backend."""
  return ops.convert_to_tensor(np.asarray(x, dtype))


def gradient(fn, x, upstream=None):
  """``d/dx sum(fn(x) * upstream)`` as float32 NumPy (zeros if unconnected).

  ``upstream`` defaults to ones of the output's shape.
  """
  x = np.asarray(x, F32)

  def loss(v):
    y = fn(v)
    w = np.ones(tuple(y.shape), F32) if upstream is None else np.asarray(
        upstream, F32)
    return ops.sum(y * ops.convert_to_tensor(w))

  if TENSORFLOW:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    v = tf.constant(x)
    with tf.GradientTape() as tape:
      tape.watch(v)
      value = loss(v)
    g = tape.gradient(value, v)
  elif JAX:
    import jax  # pylint: disable=g-import-not-at-top
    g = jax.grad(loss)(jax.numpy.asarray(x))
  else:
    import torch  # pylint: disable=g-import-not-at-top
    v = ops.convert_to_tensor(x).detach().requires_grad_()  # default device
    loss(v).backward()
    g = v.grad
  return np.zeros(x.shape, F32) if g is None else np_out(g).astype(F32)


def variable_gradients(loss_fn, variables):
  """Gradients of the scalar ``loss_fn()`` w.r.t. Keras ``variables``."""
  variables = list(variables)
  if TENSORFLOW:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    with tf.GradientTape() as tape:
      value = loss_fn()
    grads = tape.gradient(value, [v.value for v in variables])
  elif JAX:
    import jax  # pylint: disable=g-import-not-at-top

    def stateless(values):
      with keras.StatelessScope(state_mapping=list(zip(variables, values))):
        return loss_fn()

    grads = jax.grad(stateless)([v.value for v in variables])
  else:
    for v in variables:
      v.value.grad = None
    loss_fn().backward()
    grads = [v.value.grad for v in variables]
  return [None if g is None else np_out(g) for g in grads]


def compiled(fn, xla=False):
  """``fn`` as the backend compiles it: ``tf.function`` (``jit_compile=xla``)
  on TensorFlow, ``jax.jit`` on JAX (always XLA); PyTorch runs eagerly
  (Keras's default there)."""
  if TENSORFLOW:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.function(fn, jit_compile=xla)
  if JAX:
    import jax  # pylint: disable=g-import-not-at-top
    return jax.jit(fn)
  return fn


def compiled_modes():
  """The compiled modes of this backend, as ``compiled`` keyword arguments."""
  if TENSORFLOW:
    return [{"xla": False}, {"xla": True}]
  if JAX:
    return [{"xla": True}]
  return []


def stateful_compiled(fn, variables):
  """``fn(*args)`` compiled, with the Keras ``variables`` it reads and
  assigns (seed generators, ...) carried through as JAX requires.

  Returns a function of the same arguments; after each call the variables
  hold their new values, as if ``fn`` had run eagerly.
  """
  variables = list(variables)
  if not JAX:
    return compiled(fn)
  import jax  # pylint: disable=g-import-not-at-top

  def pure(values, *args):
    with keras.StatelessScope(
        state_mapping=list(zip(variables, values))) as scope:
      out = fn(*args)
    new = [scope.get_current_value(v) for v in variables]
    return out, [v if n is None else n for v, n in zip(values, new)]

  jitted = jax.jit(pure)

  def call(*args):
    out, values = jitted([v.value for v in variables], *args)
    for v, value in zip(variables, values):
      v.assign(value)
    return out

  return call
