"""Type aliases shared by haliax signatures (and imported by client code such as Levanter).

These are plain aliases: at run time they are ordinary `typing` objects, useful in annotations only.

Examples:
    >>> import jax.numpy as jnp
    >>> from haliax.types import Scalar
    >>> def double(x: Scalar) -> Scalar:
    ...     return x * 2
    >>> double(3), float(double(jnp.array(1.5)))
    (6, 3.0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PyTree

__all__ = [
    "Scalar",
    "IntScalar",
    "PrecisionLike",
    "GatherScatterModeStr",
    "FilterSpec",
    "FilterTree",
    "DType",
    "DTypeLike",
]

Scalar: TypeAlias = float | int | jnp.ndarray
"""A Python number or a (0-d) JAX array."""

IntScalar: TypeAlias = int | jnp.ndarray
"""A Python int or a (0-d, integer) JAX array."""

PrecisionLike: TypeAlias = (
    None | str | jax.lax.Precision | tuple[str, str] | tuple[jax.lax.Precision, jax.lax.Precision]
)
"""What ``precision=`` of `jax.lax.dot_general` accepts."""

GatherScatterModeStr: TypeAlias = Literal["promise_in_bounds", "clip", "drop", "fill"]
"""The out-of-bounds modes of JAX gathers and scatters, as strings."""

FilterSpec: TypeAlias = bool | Callable[[Any], bool]
"""An Equinox-style filter for one leaf: a bool, or a predicate on the leaf."""

FilterTree: TypeAlias = FilterSpec | PyTree[FilterSpec]
"""A filter spec, or a pytree (prefix) of them."""

DType: TypeAlias = np.dtype
"""A concrete NumPy/JAX dtype object."""

DTypeLike: TypeAlias = jax.typing.DTypeLike
"""Anything `jax.numpy.dtype` accepts (a dtype, a scalar type, a string...)."""
