# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Runnable QTools examples (``python -m qkeras.qtools.examples.<name>``)."""
