"""haliax.nn: Equinox-compatible neural-network modules over named axes.

This module only re-exports (explicitly, ``X as X``). As in Haliax, the attention functions live in
`haliax.nn.attention` and are not re-exported here; ``__all__`` lists the layers, losses, pooling and
activation functions, and the ``attention`` submodule. Other public names (the µP reparameterisations,
rotary embeddings, `MultiHeadAttention`, the fused cross-entropy) are attributes here and live in their
submodules.
"""

from . import activations as activations
from . import attention as attention
from . import attention_masks as attention_masks
from . import blockseq as blockseq
from . import blockwise_attention as blockwise_attention
from . import conv as conv
from . import embedding as embedding
from . import fused_ce as fused_ce
from . import layer_stack as layer_stack
from . import linear as linear
from . import loss as loss
from . import mlp as mlp
from . import multihead as multihead
from . import mup as mup
from . import normalization as normalization
from . import pool as pool
from . import rotary as rotary
from . import scan as scan
from . import stacked as stacked
from .activations import (
    celu as celu,
)
from .activations import (
    elu as elu,
)
from .activations import (
    gelu as gelu,
)
from .activations import (
    glu as glu,
)
from .activations import (
    hard_sigmoid as hard_sigmoid,
)
from .activations import (
    hard_silu as hard_silu,
)
from .activations import (
    hard_swish as hard_swish,
)
from .activations import (
    hard_tanh as hard_tanh,
)
from .activations import (
    leaky_relu as leaky_relu,
)
from .activations import (
    log_sigmoid as log_sigmoid,
)
from .activations import (
    log_softmax as log_softmax,
)
from .activations import (
    logsumexp as logsumexp,
)
from .activations import (
    one_hot as one_hot,
)
from .activations import (
    quick_gelu as quick_gelu,
)
from .activations import (
    relu as relu,
)
from .activations import (
    relu6 as relu6,
)
from .activations import (
    relu_squared as relu_squared,
)
from .activations import (
    selu as selu,
)
from .activations import (
    sigmoid as sigmoid,
)
from .activations import (
    silu as silu,
)
from .activations import (
    soft_sign as soft_sign,
)
from .activations import (
    softmax as softmax,
)
from .activations import (
    softplus as softplus,
)
from .activations import (
    standardize as standardize,
)
from .activations import (
    swish as swish,
)
from .conv import (
    Conv as Conv,
)
from .conv import (
    ConvTranspose as ConvTranspose,
)
from .dropout import (
    Dropout as Dropout,
)
from .dropout import (
    dropout as dropout,
)
from .embedding import (
    Embedding as Embedding,
)
from .fused_ce import (
    fused_cross_entropy_loss as fused_cross_entropy_loss,
)
from .fused_ce import (
    fused_cross_entropy_loss_and_log_normalizers as fused_cross_entropy_loss_and_log_normalizers,
)
from .linear import (
    Linear as Linear,
)
from .linear import (
    MoELinear as MoELinear,
)
from .loss import (
    binary_cross_entropy_loss as binary_cross_entropy_loss,
)
from .loss import (
    cross_entropy_loss as cross_entropy_loss,
)
from .loss import (
    cross_entropy_loss_and_log_normalizers as cross_entropy_loss_and_log_normalizers,
)
from .loss import (
    maybe_reduce_loss as maybe_reduce_loss,
)
from .loss import (
    reduce_loss as reduce_loss,
)
from .mlp import (
    MLP as MLP,
)
from .multihead import (
    KVCache as KVCache,
)
from .multihead import (
    MultiHeadAttention as MultiHeadAttention,
)
from .multihead import (
    init_cache as init_cache,
)
from .mup import (
    AbstractEmbeddingReparam as AbstractEmbeddingReparam,
)
from .mup import (
    AbstractLinearReparam as AbstractLinearReparam,
)
from .mup import (
    AbstractReparam as AbstractReparam,
)
from .mup import (
    EmbeddingMup as EmbeddingMup,
)
from .mup import (
    EmbeddingStandardParam as EmbeddingStandardParam,
)
from .mup import (
    HiddenLinearMup as HiddenLinearMup,
)
from .mup import (
    InputLinearMup as InputLinearMup,
)
from .mup import (
    LinearStandardParam as LinearStandardParam,
)
from .mup import (
    OutputLinearMup as OutputLinearMup,
)
from .mup import (
    ReparamEnabled as ReparamEnabled,
)
from .normalization import (
    LayerNorm as LayerNorm,
)
from .normalization import (
    LayerNormBase as LayerNormBase,
)
from .normalization import (
    RmsNorm as RmsNorm,
)
from .pool import (
    adaptive_max_pool as adaptive_max_pool,
)
from .pool import (
    adaptive_mean_pool as adaptive_mean_pool,
)
from .pool import (
    adaptive_min_pool as adaptive_min_pool,
)
from .pool import (
    max_pool as max_pool,
)
from .pool import (
    mean_pool as mean_pool,
)
from .pool import (
    min_pool as min_pool,
)
from .rotary import (
    Llama3RotaryScaling as Llama3RotaryScaling,
)
from .rotary import (
    RotaryEmbedding as RotaryEmbedding,
)
from .rotary import (
    apply_rotary as apply_rotary,
)
from .rotary import (
    rotary_frequencies as rotary_frequencies,
)
from .scan import (
    BlockFoldable as BlockFoldable,
)
from .scan import (
    BlockSeq as BlockSeq,
)
from .scan import (
    ModuleInit as ModuleInit,
)
from .scan import (
    ScanCheckpointPolicy as ScanCheckpointPolicy,
)
from .scan import (
    ScanCheckpointSpec as ScanCheckpointSpec,
)
from .scan import (
    Stacked as Stacked,
)

__all__ = [
    "Conv",
    "ConvTranspose",
    "Dropout",
    "dropout",
    "Embedding",
    "LayerNorm",
    "RmsNorm",
    "Linear",
    "MoELinear",
    "MLP",
    "Stacked",
    "BlockSeq",
    "ScanCheckpointPolicy",
    "one_hot",
    "cross_entropy_loss",
    "cross_entropy_loss_and_log_normalizers",
    "binary_cross_entropy_loss",
    "reduce_loss",
    "max_pool",
    "mean_pool",
    "min_pool",
    "logsumexp",
    "softmax",
    "log_softmax",
    "standardize",
    "relu",
    "relu6",
    "sigmoid",
    "softplus",
    "soft_sign",
    "silu",
    "swish",
    "log_sigmoid",
    "leaky_relu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "elu",
    "celu",
    "selu",
    "gelu",
    "quick_gelu",
    "relu_squared",
    "glu",
    "attention",
]
