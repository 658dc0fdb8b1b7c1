"""Dynamic slices: ``size`` elements from a start that may be traced, as an index of named arrays.

`dslice` (alias `ds`) and `dblock` are index values for ``x["X", hax.ds(i, 4)]``, `haliax.slice` and
`haliax.updated_slice`; the indexing planner in `haliax.ops.indexing` interprets them.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..axis import Axis

__all__ = ["dslice", "ds", "dblock"]


def _check_start(start: Any) -> None:
    """A start is an integer (Python, NumPy, or an integer array, possibly traced): ``TypeError`` otherwise."""
    dtype = getattr(start, "dtype", None)
    ok = (
        np.issubdtype(dtype, np.integer)
        if dtype is not None and not isinstance(start, bool)
        else isinstance(start, int) and not isinstance(start, bool)
    )
    if not ok:
        raise TypeError(
            f"dslice: argument 'start' must be an integer (or an integer array, possibly traced), got {start!r} of "
            f"type {type(start).__name__}"
        )


def _check_length(length: Any) -> int:
    """A length is a non-negative integer: ``TypeError``/``ValueError`` otherwise (no silent truncation of 2.5)."""
    if isinstance(length, bool) or not hasattr(length, "__index__"):
        raise TypeError(
            f"dslice: argument 'length' must be an int or an Axis (the size is static), got {length!r} of type "
            f"{type(length).__name__}"
        )
    try:
        n = operator.index(length)
    except TypeError:  # a traced or non-scalar integer array
        raise TypeError(
            f"dslice: argument 'length' must be a static int or an Axis (a traced size cannot shape an array), got "
            f"{length!r}"
        ) from None
    if n < 0:
        raise ValueError(f"dslice: argument 'length' must be >= 0, got {n}")
    return n


class dslice:
    """A dynamic slice: ``size`` elements starting at ``start`` (which may be traced; the size is static).

    Used as an index (``x["X", hax.ds(i, 4)]``): reads out of range are filled with 0, writes out of range
    are dropped. ``ds`` is a short alias. A float or bool ``start`` and a float, negative or traced length are
    rejected (``TypeError``/``ValueError`` naming the argument); Haliax truncates ``dslice(0, 2.5)`` silently.

    Examples:
        >>> import haliax as hax
        >>> s = hax.dslice(3, hax.Axis("X", 2))
        >>> s.start, s.size, s.to_slice()
        (3, 2, slice(3, 5, None))
    """

    __slots__ = ("start", "size")

    def __init__(self, start: Any, length: int | Axis):
        _check_start(start)
        self.start = start
        # an Axis gives its size; a NumPy/JAX integer is an integer (its own .size would be 1)
        self.size = length.size if isinstance(length, Axis) else _check_length(length)

    @staticmethod
    def block(idx: Any, size: int) -> dslice:
        """The ``idx``-th block of ``size`` elements: ``dslice(idx * size, size)``.

        Examples:
            >>> import haliax as hax
            >>> hax.dslice.block(2, 4)
            dslice(8, 4)
        """
        return dslice(idx * size, size)

    def to_slice(self) -> slice:
        """A static Python slice (``start`` must be concrete).

        Examples:
            >>> import haliax as hax
            >>> hax.ds(1, 2).to_slice()
            slice(1, 3, None)
        """
        return slice(self.start, self.start + self.size)

    def __repr__(self) -> str:
        return f"dslice({self.start}, {self.size})"


ds = dslice


def dblock(idx: Any, size: int) -> dslice:
    """The ``idx``-th block of ``size`` elements: ``dslice(idx * size, size)``.

    Examples:
        >>> import haliax as hax
        >>> hax.dblock(1, 3)
        dslice(3, 3)
    """
    return dslice.block(idx, size)
