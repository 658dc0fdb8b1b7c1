"""haliax.nn: Equinox-compatible neural-network modules over named axes.

This module only re-exports. Attention functions live in `haliax.nn.attention` (not re-exported here,
as in the reference); the attention *module* and rotary embeddings are re-exported.
"""

from . import activations as activations
from . import attention as attention
from . import conv as conv
from . import dropout as dropout
from . import embedding as embedding
from . import fused_ce as fused_ce
from . import linear as linear
from . import loss as loss
from . import mlp as mlp
from . import multihead as multihead
from . import mup as mup
from . import normalization as normalization
from . import pool as pool
from . import rotary as rotary
from . import scan as scan
from .activations import *  # noqa: F403
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .embedding import *  # noqa: F403
from .fused_ce import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .mlp import *  # noqa: F403
from .multihead import *  # noqa: F403
from .mup import *  # noqa: F403
from .normalization import *  # noqa: F403
from .pool import *  # noqa: F403
from .rotary import *  # noqa: F403
from .scan import *  # noqa: F403
