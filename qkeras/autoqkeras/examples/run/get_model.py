# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The ConvBlockNetwork of each example data set.

    model = get_model("cifar10")      # uncompiled float keras.Model
"""

from qkeras.autoqkeras.examples.run.get_data import check_dataset

# ConvBlockNetwork arguments per data set.
CONFIGS = {
    "digits": dict(shape=(8, 8, 1), nb_classes=10, kernel_size=3,
                   filters=[16, 32]),
    "mnist": dict(shape=(28, 28, 1), nb_classes=10, kernel_size=3,
                  filters=[16, 32, 64], dropout_rate=0.1),
    "fashion_mnist": dict(shape=(28, 28, 1), nb_classes=10, kernel_size=3,
                          filters=[32, 64, 64], dropout_rate=0.2),
    "cifar10": dict(shape=(32, 32, 3), nb_classes=10, kernel_size=3,
                    filters=[32, 64, 128], dropout_rate=0.2),
    "cifar100": dict(shape=(32, 32, 3), nb_classes=100, kernel_size=3,
                     filters=[64, 128, 256], dropout_rate=0.3),
}


def get_model(dataset_name, **overrides):
  """The uncompiled float ``ConvBlockNetwork`` model of a data set.

  ``overrides`` replace entries of ``CONFIGS[dataset_name]`` (e.g.
  ``use_separable="dsp"``). Raises ValueError for an unknown name.
  """
  check_dataset(dataset_name)
  from qkeras.autoqkeras.examples.run.networks import ConvBlockNetwork  # pylint: disable=g-import-not-at-top
  config = dict(CONFIGS[dataset_name], **overrides)
  return ConvBlockNetwork(**config).build()
