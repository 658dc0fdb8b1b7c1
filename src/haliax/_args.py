"""Private helpers for the arguments of public functions: finding a selected axis, spreading a pytree prefix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax

from .axis import Axis, AxisSelector, axis_not_found_error, name_index
from .core import NamedArray


def axis_position(array: NamedArray, axis: AxisSelector, fn: str, arg: str) -> int:
    """Position of ``axis`` (a name, or an Axis whose size must match) in ``array``'s axes.

    A selector that is not a name or Axis raises ``TypeError``; a missing axis the `axis_not_found_error`
    ``ValueError`` (naming ``fn`` and the argument ``arg``, with the closest name); a same-name Axis of another
    size a ``ValueError`` "... does not match the array's axis ...".
    """
    name = axis.name if isinstance(axis, Axis) else axis
    if not isinstance(name, str):
        raise TypeError(f"{fn}: {arg} must be an axis name or Axis, got {axis!r}")
    i = name_index(array.axes).get(name)
    if i is None:
        raise axis_not_found_error(name, array.axes, fn, arg)
    if isinstance(axis, Axis) and array.axes[i].size != axis.size:
        raise ValueError(
            f"{fn}: {arg} {axis} does not match the array's axis {array.axes[i]} "
            f"(axes {tuple(str(a) for a in array.axes)})"
        )
    return i


def prefix_leaves(
    prefix: Any, tree: Any, fn: str, what: str, is_leaf: Callable[[Any], bool] | None = None
) -> list[Any]:
    """One value per leaf of ``tree`` (leaves as `jax.tree_util.tree_leaves` with ``is_leaf`` finds them): each
    leaf of the pytree prefix ``prefix`` (``None`` counts as a leaf) is repeated over the subtree it covers.

    A ``prefix`` that is not a pytree prefix of ``tree`` raises ``ValueError("<fn>: <what>=<prefix> is not a
    pytree prefix of the arguments: ...")``.
    """
    p_leaves, p_def = jax.tree_util.tree_flatten(prefix, is_leaf=lambda x: x is None)
    try:
        subtrees = p_def.flatten_up_to(tree)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{fn}: {what}={prefix!r} is not a pytree prefix of the arguments: {e}") from e
    out: list[Any] = []
    for value, sub in zip(p_leaves, subtrees, strict=True):
        out.extend([value] * len(jax.tree_util.tree_leaves(sub, is_leaf=is_leaf)))
    return out


def pad_pair(entry: Any) -> tuple[int, int] | None:
    """One axis of a padding spec as ``(low, high)``: an int ``p`` is ``(p, p)``, a pair of ints is itself; any
    other entry (bools included) gives None, for the caller to report with its own message."""
    if isinstance(entry, int) and not isinstance(entry, bool):
        return (entry, entry)
    if isinstance(entry, Sequence) and len(entry) == 2 and all(isinstance(v, int) for v in entry):
        return (int(entry[0]), int(entry[1]))
    return None
