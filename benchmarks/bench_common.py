# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Helpers shared by the benchmark scripts (imported from their directory)."""

import importlib
import os
import platform

import keras


def _devices(backend, module):
  """Device names of the backend, where listing them is cheap."""
  if backend == "tensorflow":
    return [d.name for d in module.config.list_logical_devices()]
  if backend == "jax":
    return [str(d) for d in module.devices()]
  if backend == "torch":
    cuda = module.cuda.device_count() if module.cuda.is_available() else 0
    return ["cpu"] + [f"cuda:{i}" for i in range(cuda)]
  return None


def machine_info():
  """The machine, Python and library versions, recorded with the results.

  The version (and devices) reported are those of the Keras backend in use
  (key ``tensorflow``, ``jax`` or ``torch``); only that backend's module is
  imported, so this works without TensorFlow on the JAX and PyTorch backends.
  """
  backend = keras.backend.backend()
  module = importlib.import_module(backend)
  return {
      "python": platform.python_version(),
      "platform": platform.platform(),
      "cpu_count": os.cpu_count(),
      "cpu_affinity": (len(os.sched_getaffinity(0))
                       if hasattr(os, "sched_getaffinity") else None),
      backend: getattr(module, "__version__", None),
      "keras": keras.__version__,
      "keras_backend": backend,
      "devices": _devices(backend, module),
      "load_avg_1m": (round(os.getloadavg()[0], 2)
                      if hasattr(os, "getloadavg") else None),
  }
