"""How the GPU backends round f32 division and transcendentals (tools/gpu_check.sh).

Prints, for the backend in KERAS_BACKEND on the default (GPU) device, how many
of a million random f32 divisions differ from IEEE division (NumPy on the
CPU), for a tensor divisor and a Python-number divisor, and the largest ulp
error of tanh / sigmoid / exp against float64 rounded to f32.
"""
import os
import sys

import numpy as np

backend = os.environ.get("KERAS_BACKEND", "tensorflow")
rng = np.random.default_rng(0)
a = rng.standard_normal(1_000_000).astype(np.float32) * 10
b = (rng.standard_normal(1_000_000).astype(np.float32) + 3.0)
ref = a / b
ref_c = a / np.float32(14.0)
ref_t = np.tanh(a.astype(np.float64) / 10).astype(np.float32)
ref_s = (1 / (1 + np.exp(-a.astype(np.float64) / 10))).astype(np.float32)


def ulps(x, y):
  xi = x.view(np.int32).astype(np.int64)
  yi = y.view(np.int32).astype(np.int64)
  return int(np.max(np.abs(xi - yi)))


def report(name, got, want):
  got = np.asarray(got, np.float32)
  print(f"{backend:5s} {name:32s} mismatches {int(np.sum(got != want)):7d}"
        f"  max ulps {ulps(got, want)}")


if backend == "jax":
  import jax
  import jax.numpy as jnp
  print("jax", jax.__version__, jax.devices())
  ja, jb = jnp.asarray(a), jnp.asarray(b)
  report("a / b (jit)", jax.jit(lambda u, v: u / v)(ja, jb), ref)
  report("a / 14.0 (jit)", jax.jit(lambda u: u / 14.0)(ja), ref_c)
  report("a / (14 + 0*sign(a)) (jit)",
         jax.jit(lambda u: u / (14.0 + 0.0 * jnp.sign(u)))(ja), ref_c)
  report("tanh", jax.jit(lambda u: jnp.tanh(u / 10))(ja), ref_t)
  report("sigmoid", jax.jit(lambda u: jax.nn.sigmoid(u / 10))(ja), ref_s)
  print("XLA_FLAGS", os.environ.get("XLA_FLAGS"))
elif backend == "torch":
  import torch
  print("torch", torch.__version__, torch.cuda.get_device_name(0))
  ta, tb = torch.tensor(a, device="cuda"), torch.tensor(b, device="cuda")
  report("a / b", (ta / tb).cpu().numpy(), ref)
  report("a / 14.0 (python scalar)", (ta / 14.0).cpu().numpy(), ref_c)
  report("a / cuda 0-d tensor", (ta / torch.full((), 14.0, device="cuda"))
         .cpu().numpy(), ref_c)
  report("tanh", torch.tanh(ta / 10).cpu().numpy(), ref_t)
  report("sigmoid", torch.sigmoid(ta / 10).cpu().numpy(), ref_s)
  import keras  # pylint: disable=g-import-not-at-top
  from qkeras import _qmath  # pylint: disable=g-import-not-at-top
  report("_qmath.divide(a, 14.0)",
         keras.ops.convert_to_numpy(_qmath.divide(ta, 14.0)), ref_c)
sys.stdout.flush()
