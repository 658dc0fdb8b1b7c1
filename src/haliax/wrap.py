"""Helpers to lift plain `jax.numpy` functions to NamedArrays (the public home of the ``wrap_*`` family).

The functions are defined next to the operations that use them (`haliax.ops.elementwise`,
`haliax.ops.reductions`); this module gathers them under one name. Every object here is the same object as
``haliax.<name>``.

Examples:
    >>> import jax.numpy as jnp
    >>> import haliax as hax
    >>> from haliax.wrap import wrap_elemwise_unary, wrap_reduction_call
    >>> X, Y = hax.make_axes(X=2, Y=3)
    >>> wrap_elemwise_unary(jnp.negative, hax.ones(X)).tolist()
    [-1.0, -1.0]
    >>> wrap_reduction_call(jnp.sum, hax.ones((X, Y)), "X").axes == (Y,)
    True
"""

from __future__ import annotations

from .ops.elementwise import (
    ReductionFunction,
    SimpleReductionFunction,
    unwrap_namedarrays,
    wrap_elemwise_binary,
    wrap_elemwise_unary,
)
from .ops.reductions import wrap_axiswise_call, wrap_reduction_call

__all__ = [
    "wrap_elemwise_unary",
    "wrap_reduction_call",
    "wrap_axiswise_call",
    "wrap_elemwise_binary",
    "unwrap_namedarrays",
    "ReductionFunction",
    "SimpleReductionFunction",
]
