# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QKeras's experimental package (see ``qkeras.experimental.quantizers``)."""
