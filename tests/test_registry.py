"""qkeras.registry and qkeras.quantizer_registry."""

import pytest

from qkeras import quantizer_registry
from qkeras import quantizers
from qkeras.registry import Registry


def test_register_and_lookup():
  registry = Registry()

  class Foo:
    pass

  registry.register(Foo)
  registry.register(len, name="length")
  assert registry.lookup("Foo") is Foo
  assert registry.lookup("length") is len
  assert "Foo" in registry and len(registry) == 2
  assert registry.names() == ["Foo", "length"]
  with pytest.raises(KeyError):
    registry.lookup("Bar")
  with pytest.raises(AttributeError):
    registry.register(object())  # no __name__


def test_quantizer_registry_holds_the_quantizer_classes():
  names = ["quantized_linear", "quantized_bits", "bernoulli", "ternary",
           "stochastic_ternary", "binary", "stochastic_binary",
           "quantized_relu", "quantized_ulaw", "quantized_tanh",
           "quantized_sigmoid", "quantized_po2", "quantized_relu_po2",
           "quantized_hswish"]
  for name in names:
    assert quantizer_registry.lookup_quantizer(name) is getattr(
        quantizers, name)


def test_register_quantizer_decorator():

  @quantizer_registry.register_quantizer
  class my_test_quantizer:  # pylint: disable=invalid-name
    pass

  try:
    assert quantizer_registry.lookup_quantizer(
        "my_test_quantizer") is my_test_quantizer
  finally:
    del quantizer_registry._QUANTIZERS_REGISTRY._container[  # pylint: disable=protected-access
        "my_test_quantizer"]
