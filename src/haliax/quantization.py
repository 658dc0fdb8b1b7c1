"""Quantised ``dot_general`` ops for Linear layers, and the pluggable ``dot_general`` hook itself.

* `DotGeneralOp` / `DefaultDotGeneralOp`: the hook of `haliax.nn.Linear`, `haliax.nn.MLP`, `haliax.dot` and
  `haliax.einsum` (plain `jax.lax.dot_general` by default).
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

from typing import Any, Protocol

import equinox as eqx
import jax

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


class DotGeneralOp(Protocol):
    """A callable with `jax.lax.dot_general`'s signature: the ``dot_general`` hook of Linear, MLP, ``dot``, ``einsum``.

    Prefer an Equinox module over a bare function: it compares and hashes cleanly for jit caching.

    Examples:
        >>> import equinox as eqx
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> class HighestPrecision(eqx.Module):
        ...     def __call__(self, lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
        ...         return jax.lax.dot_general(lhs, rhs, dimension_numbers, precision=jax.lax.Precision.HIGHEST,
        ...                                    preferred_element_type=preferred_element_type)
        >>> In, Out = hax.make_axes(In=3, Out=2)
        >>> layer = hnn.Linear.init(In, Out, key=jax.random.PRNGKey(0), dot_general=HighestPrecision())
        >>> layer(hax.ones(In)).axes == (Out,)
        True
        >>> hax.quantization.DotGeneralOp.default()
        DefaultDotGeneralOp()
    """

    def __call__(
        self, lhs: Any, rhs: Any, dimension_numbers: Any, precision: Any = None, preferred_element_type: Any = None
    ) -> jax.Array: ...

    @staticmethod
    def default() -> DefaultDotGeneralOp:
        """The process-wide `DefaultDotGeneralOp` singleton."""
        return DefaultDotGeneralOp.get()


class DefaultDotGeneralOp(eqx.Module):
    """A field-free Equinox module that calls `jax.lax.dot_general`.

    Being a module (not a bare function) keeps a default Linear free of callable leaves, and instances
    compare and hash cleanly for jit caching.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.quantization import DefaultDotGeneralOp
        >>> op = DefaultDotGeneralOp.get()
        >>> op(jnp.ones((2, 3)), jnp.ones((3, 4)), (((1,), (0,)), ((), ()))).tolist()
        [[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]]
        >>> op == DefaultDotGeneralOp(), hash(op) == hash(DefaultDotGeneralOp())
        (True, True)
    """

    def __call__(
        self, lhs: Any, rhs: Any, dimension_numbers: Any, precision: Any = None, preferred_element_type: Any = None
    ) -> jax.Array:
        return jax.lax.dot_general(
            lhs, rhs, dimension_numbers, precision=precision, preferred_element_type=preferred_element_type
        )

    @staticmethod
    def get() -> DefaultDotGeneralOp:
        """The process-wide singleton."""
        return _DEFAULT


_DEFAULT = DefaultDotGeneralOp()
