# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Setup for qkeras: QKeras quantization-aware training on Keras 3."""

import os
import re

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
  with open(os.path.join(HERE, "qkeras", "__init__.py")) as f:
    return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _long_description():
  with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
    return f.read()


setuptools.setup(
    name="qkeras",
    version=_version(),
    description="Quantization-aware training for Keras 3 (QKeras, rebuilt)",
    long_description=_long_description(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=setuptools.find_packages(include=["qkeras", "qkeras.*"]),
    python_requires=">=3.10",
    install_requires=[
        # Keras's default backend, which `import keras` needs unless
        # KERAS_BACKEND names another; pip has no default extras, so it stays
        # a requirement (README, "Backends": installing without it).
        "tensorflow>=2.16",
        "keras>=3.0",
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.2",  # the demo's offline data set (digits)
        "keras-tuner>=1.4",  # qkeras.autoqkeras drives its tuners
        "six",  # keras-tuner imports it without declaring it
    ],
    extras_require={
        # The other Keras 3 backends (CPU builds; KERAS_BACKEND=jax / torch).
        "jax": ["jax[cpu]>=0.4.20"],
        "torch": ["torch>=2.1"],
        "test": ["pytest>=7", "hypothesis>=6",
                 "pytest-xdist>=3.2",  # the README runs tests with -n auto
                 # tests/test_notebooks.py executes notebook/*.ipynb
                 "nbclient>=0.7", "nbformat>=5", "ipykernel>=6",
                 "matplotlib>=3.5",
                 # tests/test_hls4ml.py converts and compiles with hls4ml
                 "hls4ml>=1.3",
                 # tests/test_qonnx.py exports and runs with qonnx's executor
                 "onnx>=1.14", "onnxruntime>=1.16.1", "qonnx>=1.0"],
        # qkeras.qonnx.to_qonnx (docs/qonnx.md): writes ONNX with qonnx's
        # Quant/BipolarQuant nodes; onnxruntime and qonnx run it. qonnx 1.0
        # needs onnxruntime>=1.16.1 (and onnx<=1.17 on Python 3.10).
        "qonnx": ["onnx>=1.14", "onnxruntime>=1.16.1", "qonnx>=1.0"],
        # notebook/*.ipynb: open them (Jupyter Notebook) or run them headless
        # (jupyter nbconvert --execute; README, "Examples and notebooks").
        "notebook": ["notebook>=7", "nbconvert>=7", "ipykernel>=6",
                     "matplotlib>=3.5"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: Apache Software License",
        "Operating System :: OS Independent",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
