"""Quantised ``dot_general`` ops for Linear layers (FP8, int8) and the gradient-overwrite protocol they use.

* `DotGeneralOp` / `DefaultDotGeneralOp` (defined in `haliax.dot_general`, below the layers that take them):
  the hook of `haliax.nn.Linear`, `haliax.nn.MLP`, `haliax.dot` and `haliax.einsum`.
* `Fp8DotGeneralOp`: FP8 quantise-dequantise with delayed scaling (a port of Flax's FP8 ops), with its
  helpers `dot_general_with_precision`, `in_qdq`, `out_qdq`, `qdq`, `compute_scale`, `compute_amax_history`.
* `Int8DotGeneralOp`: int8 quantised training written with `jax.lax` (no AQT).
* `QuantizationConfig` and `quantize_linear_layers`: put those ops into the Linear layers of a model.
* The gradient-overwrite protocol (`OverwriteWithGradient`, `partition_for_grad_overwrite`, `apply_updates`):
  a stateful op's "gradient" is its next state, which a training step installs instead of applying.

A training step with FP8 layers::

    grads = eqx.filter_grad(loss)(model)
    overwrites, grads = partition_for_grad_overwrite(grads)
    updates, opt_state = optimizer.update(grads, opt_state, model)
    model = apply_updates(model, updates, overwrites)

Nothing here needs a package beyond JAX and Equinox.
"""

from __future__ import annotations

from ._quantization_config import QuantizationConfig, quantize_linear_layers
from ._quantization_fp8 import (
    Fp8DotGeneralOp,
    compute_amax_history,
    compute_scale,
    dot_general_with_precision,
    in_qdq,
    out_qdq,
    qdq,
)
from ._quantization_int8 import Int8DotGeneralOp
from ._quantization_overwrite import OverwriteWithGradient, apply_updates, partition_for_grad_overwrite
from .dot_general import DefaultDotGeneralOp as DefaultDotGeneralOp, DotGeneralOp as DotGeneralOp

__all__ = [
    "DotGeneralOp",
    "DefaultDotGeneralOp",
    "OverwriteWithGradient",
    "partition_for_grad_overwrite",
    "apply_updates",
    "QuantizationConfig",
    "quantize_linear_layers",
    "Fp8DotGeneralOp",
    "Int8DotGeneralOp",
    "dot_general_with_precision",
    "in_qdq",
    "out_qdq",
    "qdq",
    "compute_scale",
    "compute_amax_history",
]
