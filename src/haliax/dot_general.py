"""The pluggable ``dot_general`` hook of `haliax.nn.Linear`, `haliax.nn.MLP`, `haliax.dot` and `haliax.einsum`.

`DotGeneralOp` is the protocol (a callable with `jax.lax.dot_general`'s signature); `DefaultDotGeneralOp` calls
`jax.lax.dot_general`. The quantised ops that implement the protocol live in `haliax.quantization`, which
re-exports both names (the import path Haliax users know).
"""

from __future__ import annotations

from typing import Any, Protocol

import equinox as eqx
import jax

__all__ = ["DotGeneralOp", "DefaultDotGeneralOp"]

DotDimensionNumbers = tuple[tuple[tuple[int, ...], tuple[int, ...]], tuple[tuple[int, ...], tuple[int, ...]]]
"""`jax.lax.dot_general`'s ``((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))`` as tuples of ints."""


def normalize_dimension_numbers(dimension_numbers: Any) -> DotDimensionNumbers:
    """``dimension_numbers`` (any sequences of ints) as a hashable `DotDimensionNumbers` of Python ints, fit to be
    a static argument of a `jax.custom_jvp` / `jax.custom_vjp` (the quantised ops of `haliax.quantization`).

    Examples:
        >>> import numpy as np
        >>> from haliax.dot_general import normalize_dimension_numbers
        >>> normalize_dimension_numbers((([np.int64(1)], [0]), ([], [])))
        (((1,), (0,)), ((), ()))
    """
    (lc, rc), (lb, rb) = dimension_numbers
    return (tuple(map(int, lc)), tuple(map(int, rc))), (tuple(map(int, lb)), tuple(map(int, rb)))


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
    ) -> jax.Array:
        """Compute the product, with `jax.lax.dot_general`'s signature.

        Args:
            lhs: the left operand.
            rhs: the right operand.
            dimension_numbers: the contracting and batch dimensions, as in `jax.lax.dot_general`.
            precision: the precision (as in `jax.lax.dot_general`).
            preferred_element_type: the accumulation and result dtype.
        """
        ...

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
        self,
        lhs: Any,
        rhs: Any,
        dimension_numbers: Any,
        precision: Any = None,
        preferred_element_type: Any = None,
        out_sharding: Any = None,
    ) -> jax.Array:
        """`jax.lax.dot_general` with the given arguments.

        Args:
            lhs: the left operand.
            rhs: the right operand.
            dimension_numbers: the contracting and batch dimensions, as in `jax.lax.dot_general`.
            precision: the precision (as in `jax.lax.dot_general`).
            preferred_element_type: the accumulation and result dtype.
            out_sharding: the output sharding on an explicit-axis mesh (as in `jax.lax.dot_general`).
        """
        if out_sharding is not None:
            return jax.lax.dot_general(
                lhs,
                rhs,
                dimension_numbers,
                precision=precision,
                preferred_element_type=preferred_element_type,
                out_sharding=out_sharding,
            )
        return jax.lax.dot_general(
            lhs, rhs, dimension_numbers, precision=precision, preferred_element_type=preferred_element_type
        )

    @staticmethod
    def get() -> DefaultDotGeneralOp:
        """The process-wide singleton."""
        return _DEFAULT


_DEFAULT = DefaultDotGeneralOp()
