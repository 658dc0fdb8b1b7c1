"""Compatibility alias module: ``haliax._src.util`` is a private path that Levanter imports from.

Only `index_where` lives here; nothing in haliax imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["index_where"]

T = TypeVar("T")


def index_where(pred: Callable[[T], Any], xs: Sequence[T], start: int = 0) -> int:
    """The first index ``i >= start`` such that ``pred(xs[i])`` is true.

    Raises:
        ValueError: if no element from ``start`` on satisfies ``pred``.

    Examples:
        >>> from haliax._src.util import index_where
        >>> index_where(lambda x: x > 2, [1, 3, 5]), index_where(lambda x: x > 2, [1, 3, 5], start=2)
        (1, 2)
    """
    for i in range(start, len(xs)):
        if pred(xs[i]):
            return i
    raise ValueError(f"index_where: No element satisfies predicate (argument 'xs', searched from start={start})")
