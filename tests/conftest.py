"""Test configuration shared by the whole suite.

The suite runs on the Keras backend named by ``KERAS_BACKEND`` (TensorFlow
when unset): ``KERAS_BACKEND=jax python3 -m pytest tests`` runs it on JAX.
Tests marked ``tensorflow_only`` (they compare with TensorFlow's own kernels,
read TensorFlow-written files with TensorFlow, ...) are skipped on the other
backends with their reason; tests marked ``default_backend_only`` exercise
code that has no backend-specific path and is heavy (notebooks, g++ builds,
multi-process searches), and run on TensorFlow only to keep CI short.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

BACKEND = os.environ["KERAS_BACKEND"]


def pytest_configure(config):
  config.addinivalue_line(
      "markers", "slow: a longer test (still part of the default run)")
  config.addinivalue_line(
      "markers", "tensorflow_only(reason): needs TensorFlow itself; skipped "
      "on the other backends")
  config.addinivalue_line(
      "markers", "default_backend_only(reason): heavy and backend-neutral; "
      "runs on TensorFlow only")


def pytest_report_header(config):
  del config
  return f"Keras backend: {BACKEND}"


def pytest_collection_modifyitems(config, items):
  del config
  if BACKEND == "tensorflow":
    return
  for item in items:
    for name in ("tensorflow_only", "default_backend_only"):
      marker = item.get_closest_marker(name)
      if marker is not None:
        reason = marker.args[0] if marker.args else name
        item.add_marker(pytest.mark.skip(reason=f"{name}: {reason}"))
        break


@pytest.fixture(autouse=True)
def _restore_keras_globals():
  """Tests may change the internal sigmoid or Keras settings; undo that."""
  import keras  # pylint: disable=g-import-not-at-top
  from qkeras import quantizers  # pylint: disable=g-import-not-at-top
  sigmoid = quantizers._sigmoid  # pylint: disable=protected-access
  data_format = keras.config.image_data_format()
  eps = keras.config.epsilon()
  yield
  quantizers._sigmoid = sigmoid  # pylint: disable=protected-access
  keras.config.set_image_data_format(data_format)
  keras.config.set_epsilon(eps)
