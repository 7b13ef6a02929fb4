# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""An AutoQKeras search on a ConvBlockNetwork, ready to run.

* ``get_data.get_data(name, fast=False)``: scaled, mean-subtracted images
  with one-hot labels (``"digits"`` offline; mnist, fashion_mnist, cifar10,
  cifar100 through ``keras.datasets``);
* ``get_model.get_model(name)``: the ``networks.ConvBlockNetwork`` of a
  data set (uncompiled);
* ``plot_history``: ``save_history_csv`` / ``load_history_csv`` of
  ``AutoQKeras.history()`` and ``plot_history(filenames)`` of such CSVs;
* ``autoqkeras_example``: the search script
  (``python -m qkeras.autoqkeras.examples.run.autoqkeras_example --help``).

Nothing here is imported eagerly, so the script can check its arguments
before TensorFlow is loaded.
"""
