"""haliax: named tensors for JAX.

This module only re-exports; see the submodules for the implementations.
"""

from . import axis as axis
from . import debug as debug
from . import haxtyping as haxtyping
from . import jax_utils as jax_utils
from . import nn as nn
from . import partitioning as partitioning
from . import quantization as quantization
from . import random as random
from . import state_dict as state_dict
from . import tree as tree
from . import tree_util as tree_util
from . import util as util
from .axis import *  # noqa: F403
from .core import *  # noqa: F403
from .field import *  # noqa: F403
from .haxtyping import *  # noqa: F403
from .hof import *  # noqa: F403
from .jax_utils import *  # noqa: F403
from .jit import *  # noqa: F403
from .ops.broadcast import *  # noqa: F403
from .ops.creation import *  # noqa: F403
from .ops.dslice import *  # noqa: F403
from .ops.einsum import *  # noqa: F403
from .ops.elementwise import *  # noqa: F403
from .ops.elementwise import ReductionFunction as ReductionFunction
from .ops.elementwise import SimpleReductionFunction as SimpleReductionFunction
from .ops.elementwise import ndim as ndim
from .ops.indexing import *  # noqa: F403
from .ops.linalg import *  # noqa: F403
from .ops.reductions import *  # noqa: F403
from .ops.shape import *  # noqa: F403
from .partitioning import *  # noqa: F403
from .util import is_named_array as is_named_array
