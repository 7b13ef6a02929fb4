# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Float networks for the AutoQKeras examples."""

from qkeras.autoqkeras.examples.run.networks.conv_block import ConvBlockNetwork

__all__ = ["ConvBlockNetwork"]
