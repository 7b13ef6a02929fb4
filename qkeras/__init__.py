# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""qkeras: QKeras quantization-aware training, native on Keras 3.

``from qkeras import *`` gives the Q-layers, the quantizers, their helper
functions and the parser helpers, as in QKeras 0.9 (without QKeras's leaked third-party names
such as ``tf``, ``np`` or ``K``). Importing qkeras changes no global state:
no environment variables, no Keras configuration, no eager-mode assertion.
"""

import sys as _sys
import types as _types

from qkeras import _install_check

_install_check.warn_if_mixed()

from qkeras import b2t
from qkeras import base_quantizer
from qkeras import bn_folding_utils
from qkeras import estimate
from qkeras import qconv2d_batchnorm
from qkeras import qdense_batchnorm
from qkeras import qdepthwiseconv2d_batchnorm
from qkeras import qconvolutional
from qkeras import qdepthwise_conv2d_transpose
from qkeras import qlayers
from qkeras import qmac
from qkeras import qnormalization
from qkeras import qoctave
from qkeras import qpooling
from qkeras import qrecurrent
from qkeras import qseparable_conv2d_transpose
from qkeras import quantizer_registry
from qkeras import quantizers
from qkeras import registry
from qkeras import safe_eval as _safe_eval_module
from qkeras import utils
from qkeras import qtools  # an attribute after import, as in QKeras
from qkeras.b2t import BinaryToThermometer
from qkeras.base_quantizer import BaseQuantizer
from qkeras.bn_folding_utils import unfold_model
from qkeras.estimate import analyze_accumulator
from qkeras.estimate import analyze_accumulator_from_sample
from qkeras.estimate import create_activation_cache
from qkeras.estimate import extract_model_operations
from qkeras.estimate import get_model_sparsity
from qkeras.estimate import get_operation_type
from qkeras.estimate import get_quant_mode
from qkeras.estimate import print_qstats
from qkeras.qconv2d_batchnorm import QConv2DBatchnorm
from qkeras.qconvolutional import *  # noqa: F401,F403
from qkeras.qdense_batchnorm import QDenseBatchnorm
from qkeras.qdepthwiseconv2d_batchnorm import QDepthwiseConv2DBatchnorm
from qkeras.qdepthwise_conv2d_transpose import QDepthwiseConv2DTranspose
from qkeras.qlayers import *  # noqa: F401,F403
from qkeras.qmac import *  # noqa: F401,F403
from qkeras.qnormalization import *  # noqa: F401,F403
from qkeras.qoctave import *  # noqa: F401,F403
from qkeras.qpooling import *  # noqa: F401,F403
from qkeras.qrecurrent import *  # noqa: F401,F403
from qkeras.qseparable_conv2d_transpose import QSeparableConv2DTranspose
from qkeras.quantizers import *  # noqa: F401,F403
from qkeras.registry import Registry
from qkeras.safe_eval import Bool
from qkeras.safe_eval import GetArg
from qkeras.safe_eval import GetParams
from qkeras.safe_eval import IsBool
from qkeras.safe_eval import IsListofNums
from qkeras.safe_eval import IsNone
from qkeras.safe_eval import IsNum
from qkeras.safe_eval import ListofNums
from qkeras.safe_eval import Num
from qkeras.safe_eval import Str

__version__ = "0.9.0"


class _CallableModule(_types.ModuleType):
  """A module that can also be called (see ``qkeras.safe_eval`` below)."""

  def __call__(self, *args, **kwargs):
    return self.safe_eval(*args, **kwargs)


# In QKeras, ``from qkeras import *`` rebinds ``qkeras.safe_eval`` to the
# *function* safe_eval, hiding the module. Here ``qkeras.safe_eval`` stays the
# module (``qkeras.safe_eval.GetParams`` works) and calling it calls the
# function, so code written either way keeps working.
_safe_eval_module.__class__ = _CallableModule
safe_eval = _sys.modules["qkeras.safe_eval"]
