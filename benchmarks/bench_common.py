# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Helpers shared by the benchmark scripts (imported from their directory)."""

import os
import platform

import keras
import tensorflow as tf


def machine_info():
  """The machine, Python and library versions, recorded with the results."""
  return {
      "python": platform.python_version(),
      "platform": platform.platform(),
      "cpu_count": os.cpu_count(),
      "cpu_affinity": (len(os.sched_getaffinity(0))
                       if hasattr(os, "sched_getaffinity") else None),
      "tensorflow": tf.__version__,
      "keras": keras.__version__,
      "keras_backend": keras.backend.backend(),
      "devices": [d.name for d in tf.config.list_logical_devices()],
      "load_avg_1m": (round(os.getloadavg()[0], 2)
                      if hasattr(os, "getloadavg") else None),
  }
