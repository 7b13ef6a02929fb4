# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras example code (``run/``: data, models, a search script and
history plots)."""
