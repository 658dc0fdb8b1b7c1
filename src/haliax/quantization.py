"""The dot-general hook: a pluggable ``lax.dot_general`` for Linear, MLP, ``dot`` and ``einsum``.

AQT/FP8 quantization is out of scope; nothing here imports optional packages.
"""

from __future__ import annotations

from typing import Any, Protocol

import equinox as eqx
import jax

__all__ = ["DotGeneralOp", "DefaultDotGeneralOp"]


class DotGeneralOp(Protocol):
    """A callable with `jax.lax.dot_general`'s signature."""

    def __call__(self, lhs: Any, rhs: Any, dimension_numbers: Any, precision: Any = None,
                 preferred_element_type: Any = None) -> jax.Array: ...

    @staticmethod
    def default() -> "DefaultDotGeneralOp":
        """The process-wide `DefaultDotGeneralOp` singleton."""
        return DefaultDotGeneralOp.get()


class DefaultDotGeneralOp(eqx.Module):
    """A field-free Equinox module that calls `jax.lax.dot_general`.

    Being a module (not a bare function) keeps a default Linear free of callable leaves, and instances
    compare and hash cleanly for jit caching.
    """

    def __call__(self, lhs: Any, rhs: Any, dimension_numbers: Any, precision: Any = None,
                 preferred_element_type: Any = None) -> jax.Array:
        return jax.lax.dot_general(lhs, rhs, dimension_numbers, precision=precision,
                                   preferred_element_type=preferred_element_type)

    @staticmethod
    def get() -> "DefaultDotGeneralOp":
        return _DEFAULT


_DEFAULT = DefaultDotGeneralOp()
