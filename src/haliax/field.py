"""`haliax.field`: `equinox.field` plus logical axis names for plain-array fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import equinox as eqx

from .axis import Axis

__all__ = ["field"]

AXIS_NAMES_KEY = "axis_names"
"""The metadata key under which `field` stores ``axis_names`` (a tuple of str)."""


def field(
    *,
    converter: Callable[[Any], Any] | None = None,
    static: bool = False,
    axis_names: str | Axis | Sequence[str | Axis] | None = None,
    **kwargs: Any,
) -> Any:
    """Declare an Equinox module field, optionally naming the axes of the plain array it holds.

    ``axis_names`` (names or Axis objects, one per dimension of the array) is stored in the dataclass field's
    ``metadata["axis_names"]`` as a tuple of str; `haliax.partitioning.pspec_for` uses it to shard plain-array fields
    by name. Other keyword arguments (``default``, ``default_factory``, ``metadata``, ...) go to `equinox.field`.

    Args:
        converter: a function applied to the value when the module is built (as in `equinox.field`).
        static: mark the field static (part of the tree structure, not a leaf).
        axis_names: the names of the dimensions of the plain array the field holds (names or Axis objects).
        **kwargs: further options of `equinox.field` (``default``, ``default_factory``, ``metadata``, ...).

    Raises:
        ValueError: if ``static=True`` and ``axis_names`` are both given (a static field holds no array).

    Examples:
        >>> import dataclasses
        >>> import equinox as eqx
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> class M(eqx.Module):
        ...     w: jnp.ndarray = hax.field(axis_names=("embed", "mlp"))
        >>> dataclasses.fields(M)[0].metadata["axis_names"]
        ('embed', 'mlp')
    """
    if static and axis_names is not None:
        raise ValueError(
            f"field: a static field cannot have axis_names (got static=True and axis_names={axis_names!r}); "
            "static fields hold no arrays"
        )
    metadata = dict(kwargs.pop("metadata", None) or {})
    if axis_names is not None:
        if isinstance(axis_names, (str, Axis)):
            axis_names = (axis_names,)
        elif not isinstance(axis_names, Iterable):  # an int would fail with "'int' object is not iterable"
            raise TypeError(
                f"field: argument 'axis_names' must be a name, an Axis or a sequence of them, got {axis_names!r}"
            )
        names = []
        for a in axis_names:
            if isinstance(a, Axis):
                names.append(a.name)
            elif isinstance(a, str):
                names.append(a)
            else:
                raise TypeError(f"field: axis_names entries must be axis names or Axis objects, got {a!r}")
        metadata[AXIS_NAMES_KEY] = tuple(names)
    return eqx.field(converter=converter, static=static, metadata=metadata, **kwargs)
