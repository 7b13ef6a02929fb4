# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""ConvBlockNetwork: a float CNN of convolution blocks for AutoQKeras.

    model = ConvBlockNetwork((28, 28, 1), 10, 3, [16, 32, 64]).build()
"""

import keras

SEPARABLE_CHOICES = (False, "dsp", "mobilenet")


class ConvBlockNetwork:
  """A stack of convolution blocks, then Flatten, Dense and softmax.

  Block ``i`` (one per entry of ``filters``) is, by default::

      conv2d_i -> bn_i -> act_i (relu) -> pool_i -> drop_i

  and with ``use_xnornet_trick=True`` (XNOR-Net's ordering: the pooling
  sees the pre-activation values, and the batch normalization sits right
  before the, later quantized, activation and normalizes the pooled
  values)::

      conv2d_i -> pool_i -> bn_i -> act_i (relu) -> drop_i

  The head is ``flatten -> dense (nb_classes) -> softmax``; the input layer
  is ``input``. Layers that a configuration leaves out are simply missing
  (``bn_i`` without batch normalization, ``pool_i`` without pooling or with
  ``all_conv``, ``drop_i`` when ``dropout_rate`` is 0), the other names do
  not change, so AutoQKeras ``limit`` regexes (``"^conv2d_0$"``,
  ``"^act_[0-9]+$"``) and scheduler blocks can address them.

  The convolution of a block depends on ``use_separable``:

  * ``False``: ``Conv2D`` named ``conv2d_i``;
  * ``"dsp"``: ``SeparableConv2D`` named ``sepconv2d_i``;
  * ``"mobilenet"``: ``DepthwiseConv2D`` named ``dwconv2d_i`` followed by a
    1x1 ``Conv2D`` named ``conv2d_i`` (the pointwise convolution).

  Convolutions use ``padding="same"`` and no bias when a batch
  normalization follows the block's convolution (its beta is the bias).

  Args:
    shape: input shape ``(height, width, channels)``.
    nb_classes: number of classes (units of ``dense``).
    kernel_size: kernel size of every block's (depthwise) convolution, an
      int or a ``(h, w)`` pair, or a list with one such entry per block.
    filters: list of output channels, one entry (and one block) per block.
    dropout_rate: rate of the ``Dropout`` ending each block (0: none).
    with_maxpooling: end each block with ``MaxPooling2D(2)`` (``pool_i``,
      ``padding="same"``).
    with_batchnorm: add ``BatchNormalization`` (``bn_i``) to each block.
    kernel_initializer, bias_initializer: for every convolution and the
      dense layer.
    use_separable: ``False``, ``"dsp"`` or ``"mobilenet"`` (see above).
    use_xnornet_trick: XNOR-Net block ordering (see above).
    all_conv: no pooling layers; each block's convolution (the depthwise
      one for ``"mobilenet"``) downsamples with ``strides=2`` instead, so
      ``with_maxpooling`` is ignored.
  """

  def __init__(self, shape, nb_classes, kernel_size, filters,
               dropout_rate=0.0, with_maxpooling=True, with_batchnorm=True,
               kernel_initializer="he_normal", bias_initializer="zeros",
               use_separable=False, use_xnornet_trick=False, all_conv=False):
    shape = tuple(shape)
    if len(shape) != 3 or not all(
        isinstance(d, int) and d > 0 for d in shape):
      raise ValueError("ConvBlockNetwork: shape must be (height, width, "
                       f"channels) of positive ints, got {shape!r}.")
    if not isinstance(nb_classes, int) or nb_classes < 1:
      raise ValueError("ConvBlockNetwork: nb_classes must be a positive "
                       f"int, got {nb_classes!r}.")
    filters = list(filters) if isinstance(filters, (list, tuple)) else None
    if not filters or not all(isinstance(f, int) and f > 0 for f in filters):
      raise ValueError("ConvBlockNetwork: filters must be a non-empty list "
                       "of positive ints (one per block).")
    if isinstance(kernel_size, list):
      if len(kernel_size) != len(filters):
        raise ValueError("ConvBlockNetwork: a kernel_size list needs one "
                         f"entry per block ({len(filters)}), got "
                         f"{len(kernel_size)}.")
      kernel_sizes = kernel_size
    else:
      kernel_sizes = [kernel_size] * len(filters)
    if not 0.0 <= dropout_rate < 1.0:
      raise ValueError("ConvBlockNetwork: dropout_rate must be in [0, 1), "
                       f"got {dropout_rate!r}.")
    if use_separable is None:
      use_separable = False
    if use_separable not in SEPARABLE_CHOICES:
      raise ValueError("ConvBlockNetwork: use_separable must be False, "
                       f"'dsp' or 'mobilenet', got {use_separable!r}.")
    self.shape = shape
    self.nb_classes = nb_classes
    self.kernel_size = kernel_size
    self.kernel_sizes = kernel_sizes
    self.filters = filters
    self.dropout_rate = dropout_rate
    self.with_maxpooling = with_maxpooling
    self.with_batchnorm = with_batchnorm
    self.kernel_initializer = kernel_initializer
    self.bias_initializer = bias_initializer
    self.use_separable = use_separable
    self.use_xnornet_trick = use_xnornet_trick
    self.all_conv = all_conv

  def _conv(self, x, i):
    """The block's convolution(s)."""
    layers = keras.layers
    strides = 2 if self.all_conv else 1
    common = dict(padding="same", use_bias=not self.with_batchnorm,
                  bias_initializer=self.bias_initializer)
    kernel_size = self.kernel_sizes[i]
    if self.use_separable == "dsp":
      return layers.SeparableConv2D(
          self.filters[i], kernel_size, strides=strides,
          depthwise_initializer=self.kernel_initializer,
          pointwise_initializer=self.kernel_initializer,
          name=f"sepconv2d_{i}", **common)(x)
    if self.use_separable == "mobilenet":
      x = layers.DepthwiseConv2D(
          kernel_size, strides=strides, padding="same", use_bias=False,
          depthwise_initializer=self.kernel_initializer,
          name=f"dwconv2d_{i}")(x)
      kernel_size, strides = 1, 1
    return layers.Conv2D(
        self.filters[i], kernel_size, strides=strides,
        kernel_initializer=self.kernel_initializer, name=f"conv2d_{i}",
        **common)(x)

  def build(self):
    """The float model (a functional ``keras.Model``, not compiled)."""
    layers = keras.layers
    inputs = keras.Input(self.shape, name="input")
    x = inputs
    pool = self.with_maxpooling and not self.all_conv
    for i in range(len(self.filters)):
      x = self._conv(x, i)
      if self.use_xnornet_trick and pool:
        x = layers.MaxPooling2D(2, padding="same", name=f"pool_{i}")(x)
      if self.with_batchnorm:
        x = layers.BatchNormalization(name=f"bn_{i}")(x)
      x = layers.Activation("relu", name=f"act_{i}")(x)
      if pool and not self.use_xnornet_trick:
        x = layers.MaxPooling2D(2, padding="same", name=f"pool_{i}")(x)
      if self.dropout_rate > 0:
        x = layers.Dropout(self.dropout_rate, name=f"drop_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(self.nb_classes,
                     kernel_initializer=self.kernel_initializer,
                     bias_initializer=self.bias_initializer, name="dense")(x)
    outputs = layers.Activation("softmax", name="softmax")(x)
    return keras.Model(inputs, outputs, name="conv_block_network")
