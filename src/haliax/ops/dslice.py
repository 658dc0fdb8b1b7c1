"""Dynamic slices: ``size`` elements from a start that may be traced, as an index of named arrays.

`dslice` (alias `ds`) and `dblock` are index values for ``x["X", hax.ds(i, 4)]``, `haliax.slice` and
`haliax.updated_slice`; the indexing planner in `haliax.ops.indexing` interprets them.
"""

from __future__ import annotations

from typing import Any

from ..axis import Axis

__all__ = ["dslice", "ds", "dblock"]


class dslice:
    """A dynamic slice: ``size`` elements starting at ``start`` (which may be traced; the size is static).

    Used as an index (``x["X", hax.ds(i, 4)]``): reads out of range are filled with 0, writes out of range
    are dropped. ``ds`` is a short alias.

    Examples:
        >>> import haliax as hax
        >>> s = hax.dslice(3, hax.Axis("X", 2))
        >>> s.start, s.size, s.to_slice()
        (3, 2, slice(3, 5, None))
    """

    __slots__ = ("start", "size")

    def __init__(self, start: Any, length: int | Axis):
        self.start = start
        # an Axis gives its size; a NumPy/JAX integer is an integer (its own .size would be 1)
        self.size = int(length.size if isinstance(length, Axis) else length)

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
