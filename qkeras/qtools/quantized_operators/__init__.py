# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QTools data-type algebra: number formats (``IQuantizer``) and the
formats of products, sums, quotients, merges and batch norms."""

from qkeras.qtools.quantized_operators.accumulator_factory import AccumulatorFactory
from qkeras.qtools.quantized_operators.accumulator_impl import FixedPointAccumulator
from qkeras.qtools.quantized_operators.accumulator_impl import FloatingPointAccumulator
from qkeras.qtools.quantized_operators.accumulator_impl import IAccumulator
from qkeras.qtools.quantized_operators.accumulator_impl import Po2Accumulator
from qkeras.qtools.quantized_operators.adder_factory import IAdder
from qkeras.qtools.quantized_operators.divider_factory import IDivider
from qkeras.qtools.quantized_operators.divider_factory import UnacceptedQuantizerError
from qkeras.qtools.quantized_operators.fused_bn_factory import FusedBNFactory
from qkeras.qtools.quantized_operators.merge_factory import MergeFactory
from qkeras.qtools.quantized_operators.multiplier_factory import MultiplierFactory
from qkeras.qtools.quantized_operators.multiplier_impl import Adder
from qkeras.qtools.quantized_operators.multiplier_impl import AndGate
from qkeras.qtools.quantized_operators.multiplier_impl import FixedPointMultiplier
from qkeras.qtools.quantized_operators.multiplier_impl import FloatingPointMultiplier
from qkeras.qtools.quantized_operators.multiplier_impl import IMultiplier
from qkeras.qtools.quantized_operators.multiplier_impl import Mux
from qkeras.qtools.quantized_operators.multiplier_impl import Shifter
from qkeras.qtools.quantized_operators.multiplier_impl import XorGate
from qkeras.qtools.quantized_operators.qbn_factory import QBNFactory
from qkeras.qtools.quantized_operators.quantizer_factory import QuantizerFactory
from qkeras.qtools.quantized_operators.quantizer_factory import TagMissingError
from qkeras.qtools.quantized_operators.quantizer_impl import Binary
from qkeras.qtools.quantized_operators.quantizer_impl import FloatingPoint
from qkeras.qtools.quantized_operators.quantizer_impl import IQuantizer
from qkeras.qtools.quantized_operators.quantizer_impl import PowerOfTwo
from qkeras.qtools.quantized_operators.quantizer_impl import QuantizedBits
from qkeras.qtools.quantized_operators.quantizer_impl import QuantizedRelu
from qkeras.qtools.quantized_operators.quantizer_impl import ReluPowerOfTwo
from qkeras.qtools.quantized_operators.quantizer_impl import Ternary
from qkeras.qtools.quantized_operators.subtractor_factory import ISubtractor

__all__ = [
    "AccumulatorFactory", "Adder", "AndGate", "Binary", "FixedPointAccumulator",
    "FixedPointMultiplier", "FloatingPoint", "FloatingPointAccumulator",
    "FloatingPointMultiplier", "FusedBNFactory", "IAccumulator", "IAdder",
    "IDivider", "IMultiplier", "IQuantizer", "ISubtractor", "MergeFactory",
    "MultiplierFactory", "Mux", "Po2Accumulator", "PowerOfTwo", "QBNFactory",
    "QuantizedBits", "QuantizedRelu", "QuantizerFactory", "ReluPowerOfTwo",
    "Shifter", "TagMissingError", "Ternary", "UnacceptedQuantizerError",
    "XorGate",
]
