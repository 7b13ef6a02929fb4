# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Formats of the sums of products of a dense/convolution layer (QKeras
``accumulator_impl``)."""

import numpy as np

from qkeras.qtools.quantized_operators import quantizer_impl


def po2_to_qbits(quantizer):
  """``(bits, int_bits)`` of the fixed-point format holding a po2 format:
  ``int_bits = max_exp``, ``bits = is_signed - min_exp + max_exp`` (see
  ``quantizer_impl.get_exp``)."""
  neg_min_exp, max_exp = quantizer.get_min_max_exp()
  return (int(int(quantizer.is_signed) + neg_min_exp + max_exp), int(max_exp))


def _check_kernel_shape(kernel_shape):
  shape = tuple(kernel_shape)
  if len(shape) not in (2, 3, 4):
    raise ValueError(
        "Accumulator: kernel_shape must be a dense (2-D), Conv1D (3-D) or "
        f"Conv2D (4-D) kernel shape, got {kernel_shape!r}.")
  return shape


class IAccumulator:
  """A sum of products with format ``output``."""

  @staticmethod
  def implemented_as():
    return "add"


class FloatingPointAccumulator(IAccumulator):
  """Float products are summed in the products' float format."""

  def __init__(self, multiplier):
    super().__init__()
    self.multiplier = multiplier
    self.output = quantizer_impl.FloatingPoint(bits=multiplier.output.bits)
    self.output.is_signed = multiplier.output.is_signed
    self.output.op_type = "accumulator"


class FixedPointAccumulator(IAccumulator):
  """Sum of ``prod(kernel_shape[:-1])`` products (+1 bias when
  ``use_bias``): with ``log_add_ops = ceil(log2(add_ops))``, ``bits =
  log_add_ops + product bits`` and ``int_bits = log_add_ops + product
  int_bits``."""

  def __init__(self, kernel_shape, multiplier, use_bias=True):
    super().__init__()
    shape = _check_kernel_shape(kernel_shape)
    if multiplier.output.is_floating_point:
      raise ValueError("FixedPointAccumulator: the products are floats; use "
                       "FloatingPointAccumulator.")
    add_ops = int(np.prod(shape[:-1])) + (1 if use_bias else 0)
    self.log_add_ops = int(np.ceil(np.log2(add_ops)))
    self.multiplier = multiplier
    self.output = quantizer_impl.QuantizedBits()
    self._set_output(*self._product_bits(multiplier.output))

  @staticmethod
  def _product_bits(product):
    return product.bits, product.int_bits

  def _set_output(self, product_bits, product_int_bits):
    self.output.bits = self.log_add_ops + int(product_bits)
    self.output.int_bits = self.log_add_ops + int(product_int_bits)
    self.output.is_signed = self.multiplier.output.is_signed
    self.output.is_floating_point = False
    self.output.op_type = "accumulator"


class Po2Accumulator(FixedPointAccumulator):
  """Power-of-two products are converted to fixed point (``po2_to_qbits``)
  first, then summed as by ``FixedPointAccumulator``."""

  @staticmethod
  def _product_bits(product):
    if not product.is_po2:
      raise ValueError("Po2Accumulator: the products are not powers of two.")
    return po2_to_qbits(product)
