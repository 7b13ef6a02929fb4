"""Test configuration shared by the whole suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


def pytest_configure(config):
  config.addinivalue_line(
      "markers", "slow: a longer test (still part of the default run)")


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
