"""qkeras.base_quantizer.BaseQuantizer."""

import keras
import numpy as np
import pytest
from multibackend import np_out
from qkeras.base_quantizer import BaseQuantizer


class Doubler(BaseQuantizer):
  """A tiny quantizer for the tests."""

  def __init__(self, qnoise_factor=1.0, use_variables=False, var_name=None):
    super().__init__()
    self.qnoise_factor = qnoise_factor
    self.use_variables = use_variables
    self.var_name = var_name

  def call(self, x, training=None):
    return x * 2.0 * self.qnoise_factor

  def get_config(self):
    return {"qnoise_factor": self.qnoise_factor}


def test_call_converts_and_builds():
  q = Doubler()
  assert not q.built
  y = q([1, 2])
  assert q.built
  assert keras.backend.standardize_dtype(y.dtype) == "float32"
  np.testing.assert_array_equal(np_out(y), [2.0, 4.0])


def test_variables_are_created_but_not_exposed():
  q = Doubler(qnoise_factor=0.5, use_variables=True, var_name="dbl")
  q(np.ones(2, np.float32))
  assert isinstance(q.qnoise_factor, keras.Variable)
  assert q.qnoise_factor.path == "dbl/qnoise_factor"
  assert not q.qnoise_factor.trainable
  assert q.variables == () and q.trainable_variables == ()
  assert q.non_trainable_variables == ()
  q.update_qnoise_factor(0.25)
  np.testing.assert_array_equal(np_out(q(np.ones(2, np.float32))),
                                [0.5, 0.5])


def test_from_config_and_errors():
  assert Doubler.from_config({"qnoise_factor": 0.5}).qnoise_factor == 0.5
  with pytest.raises(ValueError, match="unknown config key"):
    Doubler.from_config({"qnoise": 0.5})
  with pytest.raises(NotImplementedError):
    BaseQuantizer()(np.ones(1))


def test_default_hooks():
  q = Doubler()
  q._set_trainable_parameter()  # pylint: disable=protected-access
  assert "Doubler" in repr(q) or repr(q).startswith("<")
