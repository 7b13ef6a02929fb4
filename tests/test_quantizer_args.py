# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Quantizer argument descriptions, number formats and the registry listing.

Each quantizer class describes its constructor arguments once (``_ARGS``,
``qkeras._quantizer_args``); that description drives validation,
``get_config()`` and ``str()``. Each quantizer states its number format
(``format``), read by estimate, QTools and the exporters.
"""

import inspect
import re

import keras
import numpy as np
import pytest

from qkeras import _quantizer_args as A
from qkeras import estimate
from qkeras import quantizer_registry
from qkeras import quantizers as Q
from qkeras.base_quantizer import BaseQuantizer
from qkeras.base_quantizer import QuantizerFormat

_CLASSES = list(quantizer_registry.registered_quantizers().values())

# Configurations whose every argument str() writes, so that
# get_quantizer(str(q)) rebuilds q.
_ROUND_TRIP = {
    "quantized_linear": [{}, {"bits": 4, "integer": 1, "symmetric": 0},
                         {"bits": 3, "alpha": "auto", "keep_negative": False},
                         {"bits": 5, "alpha": 0.5,
                          "use_stochastic_rounding": True}],
    "quantized_bits": [{}, {"bits": 4, "integer": 1, "symmetric": 1},
                       {"bits": 4, "alpha": "auto_po2"},
                       {"bits": 6, "alpha": 2.0, "keep_negative": False,
                        "use_stochastic_rounding": True}],
    "quantized_hswish": [{}, {"bits": 6, "integer": 2, "relu_shift": 2,
                              "relu_upper_bound": 4.5, "alpha": "auto"}],
    "binary": [{}, {"use_01": True}, {"alpha": "auto_po2", "scale_axis": 2,
                                      "elements_per_scale": 2,
                                      "min_po2_exponent": -3,
                                      "max_po2_exponent": 3},
               {"alpha": 2.0, "use_stochastic_rounding": True}],
    "stochastic_binary": [{}, {"alpha": "auto", "temperature": 3.0,
                               "use_real_sigmoid": False}],
    "bernoulli": [{}, {"alpha": 0.5, "temperature": 2.0,
                       "use_real_sigmoid": False}],
    "ternary": [{}, {"alpha": 1.5, "threshold": 0.2},
                {"alpha": "auto_po2", "use_stochastic_rounding": True,
                 "number_of_unrolls": 3}],
    "stochastic_ternary": [{}, {"alpha": "auto", "temperature": 4.0,
                                "use_real_sigmoid": False,
                                "number_of_unrolls": 7},
                           {"alpha": 2.0, "threshold": 0.3}],
    "quantized_relu": [{}, {"bits": 4, "integer": 2},
                       {"bits": 4, "integer": 1, "use_sigmoid": 1},
                       {"bits": 6, "integer": 2, "negative_slope": 0.25,
                        "use_stochastic_rounding": True}],
    "quantized_ulaw": [{}, {"bits": 4, "integer": 1, "symmetric": 1},
                       {"bits": 6, "u": 100.0}],
    "quantized_tanh": [{}, {"bits": 4, "use_stochastic_rounding": True},
                       {"bits": 5, "symmetric": True, "use_real_tanh": True}],
    "quantized_sigmoid": [{}, {"bits": 4, "symmetric": True},
                          {"bits": 5, "use_real_sigmoid": True,
                           "use_stochastic_rounding": True}],
    "quantized_po2": [{}, {"bits": 4, "max_value": 2.0},
                      {"bits": 5, "use_stochastic_rounding": True},
                      {"bits": 6, "quadratic_approximation": True,
                       "log2_rounding": "floor"}],
    "quantized_relu_po2": [{}, {"bits": 4, "max_value": 2.0},
                           {"bits": 5, "negative_slope": 0.5},
                           {"bits": 6, "max_value": 4, "negative_slope": 0.25,
                            "use_stochastic_rounding": True,
                            "quadratic_approximation": True},
                           {"bits": 4, "log2_rounding": "floor"}],
}


def _x():
  x = np.random.RandomState(0).randn(2, 3, 8).astype(np.float32) * 1.5
  x[0, 0, :3] = [0.0, 0.5, -0.25]
  return x


def _cases():
  for name, configs in _ROUND_TRIP.items():
    for config in configs:
      yield pytest.param(name, config, id=f"{name}-{config}")


def test_every_registered_quantizer_has_round_trip_cases():
  assert set(_ROUND_TRIP) == set(quantizer_registry.registered_quantizers())


@pytest.mark.parametrize("name,config", list(_cases()))
def test_get_quantizer_of_str_rebuilds_the_quantizer(name, config):
  q = getattr(Q, name)(**config)
  rebuilt = Q.get_quantizer(str(q))
  assert type(rebuilt) is type(q)
  assert str(rebuilt) == str(q)
  assert rebuilt.get_config() == q.get_config()
  x = _x()
  np.testing.assert_array_equal(
      keras.ops.convert_to_numpy(rebuilt(x)), keras.ops.convert_to_numpy(q(x)))


@pytest.mark.parametrize("cls", _CLASSES, ids=lambda c: c.__name__)
def test_every_constructor_argument_is_described(cls):
  params = [p for p in inspect.signature(cls.__init__).parameters
            if p != "self"]
  described = A.all_args(cls)  # with the parents' (passed on to them)
  assert set(params) <= set(described), set(params) - set(described)
  # get_config() holds exactly the config arguments, in _ARGS order.
  config_names = [a.name for a in A.describing_class(cls)._ARGS if a.config]  # pylint: disable=protected-access
  assert list(cls().get_config()) == config_names
  # Every argument is stated in the docstring's Args: section.
  args_section = cls.__doc__.split("Args:")[1]
  stated = set(re.findall(r"\b([a-z_0-9]+)\b[,:]", args_section))
  assert set(params) <= stated, set(params) - stated


@pytest.mark.parametrize("cls", _CLASSES, ids=lambda c: c.__name__)
def test_description_checks_each_argument_with_its_name(cls):
  # A string where a flag or number is expected is refused, naming the
  # class and the argument.
  params = dict(inspect.signature(cls.__init__).parameters)
  if cls is Q.quantized_hswish:
    del params["keep_negative"]  # only its truth is tested (QKeras)
  for arg in A.all_args(cls).values():
    if arg.name in params and arg.check in (Q.V.check_flag,
                                            Q.V.check_number):
      with pytest.raises(ValueError,
                         match=rf"^{cls.__name__}: argument '{arg.name}'"):
        cls(**{arg.name: "not a value"})


class _Toy(BaseQuantizer):
  """A quantizer described only by ``_ARGS``.

  Args:
    bits: a positional argument, always written.
    mode: an optional positional one, written when set or followed.
    flag: another optional positional one (0/1).
    scale: a keyword argument, written when changed from its default.
    hidden: not in get_config() nor str().
  """

  _ARGS = (
      A.Arg("bits", lambda o, n, v: Q.V.check_int(o, n, v, 1, 8),
            style=A.POSITIONAL),
      A.Arg("mode", style=A.OPTIONAL, text=A.quoted_text, shown=A.changed),
      A.Arg("flag", Q.V.check_flag, style=A.OPTIONAL, text=A.int_text),
      A.Arg("scale", Q.V.check_number, style=A.KEYWORD, shown=A.changed),
      A.Arg("hidden", attr="_hidden", config=False),
  )

  def __init__(self, bits=4, mode="a", flag=False, scale=1.0, hidden=None):
    super().__init__()
    self._init_args(locals())

  def call(self, x, training=None):
    return x


def test_description_drives_init_config_and_str():
  q = _Toy()
  assert str(q) == "_Toy(4)"
  assert q.get_config() == {"bits": 4, "mode": "a", "flag": False,
                            "scale": 1.0}
  assert str(_Toy(2, flag=True)) == "_Toy(2,'a',1)"
  assert str(_Toy(2, mode="b")) == "_Toy(2,'b')"
  assert str(_Toy(3, scale=0.5)) == "_Toy(3,scale=0.5)"
  assert _Toy(hidden=7)._hidden == 7  # pylint: disable=protected-access
  with pytest.raises(ValueError, match=r"^_Toy: argument 'bits' must be an "
                     r"integer in \[1, 8\], got 9\.$"):
    _Toy(9)
  with pytest.raises(ValueError, match="_Toy: argument 'flag'"):
    _Toy(flag="yes")


def test_subclass_keeps_its_parents_text():
  # A subclass that does not describe its own arguments is written as its
  # parent (QKeras wrote the class name literally).

  class my_bits(Q.quantized_bits):  # pylint: disable=invalid-name
    pass

  assert str(my_bits(4, 0, 1)) == "quantized_bits(4,0,1)"


# ----------------------------------------------------------------------------
# Number formats.
# ----------------------------------------------------------------------------
_FORMATS = [
    # (constructor text, family, mode, bits, signed, po2)
    ("quantized_linear()", None, None, 8, True, False),
    ("quantized_linear(2,1)", None, None, 2, True, False),
    ("quantized_bits(8,0,1)", "quantized_bits", 0, 8, True, False),
    ("quantized_bits(4,0,1,alpha='auto_po2')", "quantized_bits", 0, 4, True,
     False),
    ("quantized_bits(4,2,keep_negative=False)", "quantized_bits", 0, 4, True,
     False),
    ("quantized_bits(2,1,1)", "quantized_bits", 2, 2, True, False),
    ("quantized_bits(2,0,1)", "quantized_bits", 0, 2, True, False),
    ("quantized_hswish(8)", None, None, 8, True, False),
    ("binary()", "binary", 3, 1, True, False),
    ("binary(use_01=1,alpha='auto')", "binary", 3, 1, True, False),
    ("stochastic_binary()", "stochastic_binary", 3, 1, True, False),
    ("bernoulli()", "bernoulli", 4, 1, False, False),
    ("ternary()", "ternary", 2, 2, True, False),
    ("ternary(alpha='auto_po2')", "ternary", 2, 2, True, False),
    ("stochastic_ternary()", "stochastic_ternary", 2, 2, True, False),
    ("quantized_relu(4,2)", "quantized_relu", 0, 4, False, False),
    ("quantized_relu(1,1)", "quantized_relu", 4, 1, False, False),
    ("quantized_relu(2,1)", "quantized_relu", 0, 2, False, False),
    ("quantized_ulaw(8,0)", "quantized_ulaw", 0, 8, True, False),
    ("quantized_ulaw(2,1)", "quantized_ulaw", 2, 2, True, False),
    ("quantized_tanh(4)", "quantized_tanh", 0, 4, True, False),
    ("quantized_tanh(2)", "quantized_tanh", 0, 2, True, False),
    ("quantized_sigmoid(4)", None, None, 4, True, False),
    ("quantized_po2(4)", "quantized_po2", 1, 4, True, True),
    ("quantized_po2(8,1)", "quantized_po2", 1, 8, True, True),
    ("quantized_relu_po2(4,2)", "quantized_relu_po2", 1, 4, False, True),
]


@pytest.mark.parametrize("text,family,mode,bits,signed,po2", _FORMATS,
                         ids=[f[0] for f in _FORMATS])
def test_format_table(text, family, mode, bits, signed, po2):
  q = Q.get_quantizer(text)
  assert q.format == QuantizerFormat(family, mode, bits, signed, po2)
  if mode is None:
    with pytest.raises(ValueError, match="Not Found"):
      estimate.get_quant_mode(q)
  else:
    assert estimate.get_quant_mode(q) == (mode, bits, int(signed))


def test_every_registered_class_has_a_format_row():
  rows = {Q.get_quantizer(f[0]).__class__ for f in _FORMATS}
  assert rows == set(_CLASSES)


def test_format_reads_integer_variables():
  q = Q.quantized_bits(2, 1, 1)
  q.build(var_name="t", use_variables=True)
  assert isinstance(q.integer, keras.Variable)
  assert q.format.mode == 2


def test_format_is_frozen():
  fmt = Q.quantized_po2(4).format
  with pytest.raises(Exception):  # dataclasses.FrozenInstanceError
    fmt.bits = 3  # pytype: disable=not-writable


# ----------------------------------------------------------------------------
# The registered-quantizer listing.
# ----------------------------------------------------------------------------
def test_registered_quantizers():
  registered = quantizer_registry.registered_quantizers()
  assert list(registered) == [
      "quantized_linear", "quantized_bits", "quantized_hswish", "binary",
      "stochastic_binary", "bernoulli", "ternary", "stochastic_ternary",
      "quantized_relu", "quantized_ulaw", "quantized_tanh",
      "quantized_sigmoid", "quantized_po2", "quantized_relu_po2"]
  for name, cls in registered.items():
    assert cls is getattr(Q, name)
    assert quantizer_registry.lookup_quantizer(name) is cls
  registered.clear()  # a copy: the registry is unchanged
  assert len(quantizer_registry.registered_quantizers()) == 14
