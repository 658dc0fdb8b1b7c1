"""haliax.nn: Equinox-compatible neural-network modules over named axes.

This module only re-exports (explicitly, ``X as X``). As in Haliax, the attention functions live in
`haliax.nn.attention` and are not re-exported here; ``__all__`` lists the layers, losses, pooling and
activation functions, and the ``attention`` submodule. Other public names (the µP reparameterisations,
rotary embeddings, `MultiHeadAttention`, the fused cross-entropy) are attributes here and live in their
submodules.
"""

from . import (
    activations as activations,
    attention as attention,
    attention_masks as attention_masks,
    blockseq as blockseq,
    blockwise_attention as blockwise_attention,
    conv as conv,
    embedding as embedding,
    fused_ce as fused_ce,
    layer_stack as layer_stack,
    linear as linear,
    loss as loss,
    mlp as mlp,
    multihead as multihead,
    mup as mup,
    normalization as normalization,
    pool as pool,
    rotary as rotary,
    scan as scan,
    stacked as stacked,
)
from .activations import (
    celu as celu,
    elu as elu,
    gelu as gelu,
    glu as glu,
    hard_sigmoid as hard_sigmoid,
    hard_silu as hard_silu,
    hard_swish as hard_swish,
    hard_tanh as hard_tanh,
    leaky_relu as leaky_relu,
    log_sigmoid as log_sigmoid,
    log_softmax as log_softmax,
    logsumexp as logsumexp,
    one_hot as one_hot,
    quick_gelu as quick_gelu,
    relu as relu,
    relu6 as relu6,
    relu_squared as relu_squared,
    selu as selu,
    sigmoid as sigmoid,
    silu as silu,
    soft_sign as soft_sign,
    softmax as softmax,
    softplus as softplus,
    standardize as standardize,
    swish as swish,
)
from .conv import (
    Conv as Conv,
    ConvTranspose as ConvTranspose,
)
from .dropout import (
    Dropout as Dropout,
    dropout as dropout,
)
from .embedding import (
    Embedding as Embedding,
)
from .fused_ce import (
    fused_cross_entropy_loss as fused_cross_entropy_loss,
    fused_cross_entropy_loss_and_log_normalizers as fused_cross_entropy_loss_and_log_normalizers,
)
from .linear import (
    Linear as Linear,
    MoELinear as MoELinear,
)
from .loss import (
    binary_cross_entropy_loss as binary_cross_entropy_loss,
    cross_entropy_loss as cross_entropy_loss,
    cross_entropy_loss_and_log_normalizers as cross_entropy_loss_and_log_normalizers,
    maybe_reduce_loss as maybe_reduce_loss,
    reduce_loss as reduce_loss,
)
from .mlp import (
    MLP as MLP,
)
from .multihead import (
    KVCache as KVCache,
    MultiHeadAttention as MultiHeadAttention,
    init_cache as init_cache,
)
from .mup import (
    AbstractEmbeddingReparam as AbstractEmbeddingReparam,
    AbstractLinearReparam as AbstractLinearReparam,
    AbstractReparam as AbstractReparam,
    EmbeddingMup as EmbeddingMup,
    EmbeddingStandardParam as EmbeddingStandardParam,
    HiddenLinearMup as HiddenLinearMup,
    InputLinearMup as InputLinearMup,
    LinearStandardParam as LinearStandardParam,
    OutputLinearMup as OutputLinearMup,
    ReparamEnabled as ReparamEnabled,
)
from .normalization import (
    LayerNorm as LayerNorm,
    LayerNormBase as LayerNormBase,
    RmsNorm as RmsNorm,
)
from .pool import (
    adaptive_max_pool as adaptive_max_pool,
    adaptive_mean_pool as adaptive_mean_pool,
    adaptive_min_pool as adaptive_min_pool,
    max_pool as max_pool,
    mean_pool as mean_pool,
    min_pool as min_pool,
)
from .rotary import (
    Llama3RotaryScaling as Llama3RotaryScaling,
    RotaryEmbedding as RotaryEmbedding,
    apply_rotary as apply_rotary,
    rotary_frequencies as rotary_frequencies,
)
from .scan import (
    BlockFoldable as BlockFoldable,
    BlockSeq as BlockSeq,
    ModuleInit as ModuleInit,
    ScanCheckpointPolicy as ScanCheckpointPolicy,
    ScanCheckpointSpec as ScanCheckpointSpec,
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
