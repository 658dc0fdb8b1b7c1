"""Axis helpers that need no Axis class: the cached name lookup, partial orders and dynamic slices.

Split out of `haliax.axis` (which re-exports everything here) to keep modules small; the code duck-types
axes (``.name`` / ``.size``) so this module imports nothing from the rest of haliax.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .axis import Axis

__all__ = ["name_index", "rearrange_for_partial_order", "dslice", "ds", "dblock"]


def _name_of(a: Any) -> str:
    return a if isinstance(a, str) else a.name


# --------------------------------------------------------------------------------------------------
# cached lookup


@functools.lru_cache(maxsize=8192)
def name_index(axes: tuple[Axis, ...]) -> dict[str, int]:
    """``{name: position}`` for an axes tuple (cached by the tuple; do not mutate the result).

    Examples:
        >>> import haliax as hax
        >>> hax.axis.name_index(hax.make_axes(X=2, Y=3))
        {'X': 0, 'Y': 1}
    """
    return {a.name: i for i, a in enumerate(axes)}


# --------------------------------------------------------------------------------------------------
# partial orders


def rearrange_for_partial_order(partial_order: Sequence[Any], axes: tuple[Axis, ...]) -> tuple[Axis, ...]:
    """Order ``axes`` to follow ``partial_order``, a sequence of selectors and ``...``.

    Without ``...`` the order must name every axis. With one or more ``...``, named axes keep the given
    relative order and each unmentioned axis goes, in input order, into an ellipsis slot chosen by a
    pointer: it starts at the first ``...``; when the walk meets a named axis at slot ``p`` it moves to the
    first still-empty ``...`` slot at or after ``max(p + 1, pointer)`` (staying put if there is none).

    Examples:
        >>> import haliax as hax
        >>> a, b, c = hax.make_axes(a=1, b=2, c=3)
        >>> [x.name for x in hax.axis.rearrange_for_partial_order(("c", ...), (a, b, c))]
        ['c', 'a', 'b']
    """
    return _rearrange_cached(tuple(partial_order), axes)


@functools.lru_cache(maxsize=4096)
def _rearrange_cached(partial_order: tuple[Any, ...], axes: tuple[Axis, ...]) -> tuple[Axis, ...]:
    idx = name_index(axes)
    names_seen: set[str] = set()
    slot_of_name: dict[str, int] = {}
    for p, item in enumerate(partial_order):
        if item is Ellipsis:
            continue
        n = _name_of(item)
        if n in names_seen:
            raise ValueError(f"Axis {n} appears more than once in the partial order {partial_order}")
        names_seen.add(n)
        slot_of_name[n] = p
    missing = [n for n in slot_of_name if n not in idx]
    if missing:
        raise ValueError(
            f"The following axes are not present in output: {missing}. Axes present: {tuple(str(a) for a in axes)}"
        )
    for item in partial_order:
        if item is not Ellipsis and not isinstance(item, str) and axes[idx[item.name]].size != item.size:
            raise ValueError(f"Axis {item.name} has size {axes[idx[item.name]].size}, but {item.size} was asked for")
    ellipsis_slots = [p for p, item in enumerate(partial_order) if item is Ellipsis]
    if not ellipsis_slots:
        if len(slot_of_name) != len(axes):
            raise ValueError(
                "Partial order must be a permutation of the axes if no ellipsis is provided. "
                f"Got {tuple(_name_of(x) for x in partial_order)} for axes {tuple(a.name for a in axes)}"
            )
        return tuple(axes[idx[_name_of(x)]] for x in partial_order)
    filled: dict[int, list[Axis]] = {p: [] for p in ellipsis_slots}
    pointer = ellipsis_slots[0]
    for ax in axes:
        p = slot_of_name.get(ax.name)
        if p is None:
            filled[pointer].append(ax)
        else:
            lo = max(p + 1, pointer)
            for q in ellipsis_slots:
                if q >= lo and not filled[q]:
                    pointer = q
                    break
    out: list[Axis] = []
    for p, item in enumerate(partial_order):
        if item is Ellipsis:
            out.extend(filled[p])
        else:
            out.append(axes[idx[_name_of(item)]])
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# dynamic slices


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
        n: Any = length  # an Axis (duck-typed: no Axis import here) or an integer; a NumPy/JAX integer's .size is 1
        self.size = int(n.size if hasattr(n, "name") else n)

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
