"""Broadcasting by name: the strict subset rule for operators, and explicit broadcast helpers."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from ..axis import Axis, AxisSelection, axis_not_found_error, name_index
from ..core import NamedArray

__all__ = [
    "broadcast_to",
    "broadcast_axis",
    "broadcast_arrays",
    "broadcast_arrays_and_return_axes",
    "align_to",
    "binary_plan",
]


@functools.lru_cache(maxsize=8192)
def _align_plan(src: tuple[Axis, ...], dst: tuple[Axis, ...]) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """How to make an array with axes ``src`` (a subset of ``dst`` by name) broadcastable against ``dst``:
    a transpose permutation (None if identity) and a reshape target (None if not needed)."""
    pos = name_index(dst)
    order = sorted(range(len(src)), key=lambda i: pos[src[i].name])
    perm = tuple(order) if order != list(range(len(src))) else None
    if len(src) == len(dst):
        return perm, None
    present = {a.name for a in src}
    shape = tuple(a.size if a.name in present else 1 for a in dst)
    return perm, shape


def align_to(array: Any, src: tuple[Axis, ...], dst: tuple[Axis, ...]) -> Any:
    """Transpose/reshape a raw array with axes ``src`` so it broadcasts (NumPy-style) against ``dst``."""
    if src == dst:
        return array
    perm, shape = _align_plan(src, dst)
    if perm is not None:
        array = jnp.transpose(array, perm)
    if shape is not None:
        array = jnp.reshape(array, shape)
    return array


def _no_subset(fn: str, a: tuple[Axis, ...], b: tuple[Axis, ...]) -> ValueError:
    sa = tuple(str(x) for x in a)
    sb = tuple(str(x) for x in b)
    detail = ""
    names_b = {x.name: x for x in b}
    for x in a:
        y = names_b.get(x.name)
        if y is not None and y.size != x.size:
            detail = f" Axis {x.name} has size {x.size} in the first operand and {y.size} in the second."
            break
    return ValueError(
        f"{fn}: Cannot broadcast {sa} and {sb}: no subset relationship.{detail} If you want to broadcast anyway, "
        "use the broadcast_axis function to explicitly add axes"
    )


@functools.lru_cache(maxsize=8192)
def binary_plan(a: tuple[Axis, ...], b: tuple[Axis, ...], fn: str) -> tuple[Axis, ...]:
    """Result axes of a binary op under the strict subset rule (cached by the two axes tuples)."""
    sa, sb = set(a), set(b)
    if sb <= sa:
        return a
    if sa <= sb:
        return b
    raise _no_subset(fn, a, b)


def broadcast_arrays_and_return_axes(
    *arrays: Any, require_subset: bool = True, ensure_order: bool = True
) -> tuple[tuple[Any, ...], tuple[Axis, ...]]:
    """Broadcast NamedArrays to a common axes tuple; return them and that tuple.

    The common order is that of the array with the largest element count (ties: the earliest). With
    ``require_subset=False`` axes missing from it are put in front. None entries and scalars pass through.
    """
    named_arrays = [a for a in arrays if isinstance(a, NamedArray)]
    if not named_arrays:
        return tuple(arrays), ()
    biggest = max(named_arrays, key=lambda x: (x.size, len(x.axes)))
    full = biggest.axes
    full_set = set(full)
    extra: list[Axis] = []
    for x in named_arrays:
        for ax in x.axes:
            if ax not in full_set:
                if require_subset:
                    raise _no_subset("broadcast_arrays", x.axes, biggest.axes)
                for e in list(full) + extra:
                    if e.name == ax.name:
                        raise ValueError(
                            f"broadcast_arrays: axis {ax.name} has sizes {e.size} and {ax.size} in different arrays"
                        )
                extra.append(ax)
                full_set.add(ax)
    out_axes = tuple(extra) + full
    out = tuple(broadcast_to(a, out_axes, ensure_order=ensure_order) if isinstance(a, NamedArray) else a for a in arrays)
    return out, out_axes


def broadcast_arrays(*arrays: Any, require_subset: bool = True, ensure_order: bool = True) -> tuple[Any, ...]:
    """Broadcast NamedArrays to a common set of axes; see `broadcast_arrays_and_return_axes`."""
    return broadcast_arrays_and_return_axes(*arrays, require_subset=require_subset, ensure_order=ensure_order)[0]


def broadcast_to(
    a: Any, axes: Any, ensure_order: bool = True, enforce_no_extra_axes: bool = True
) -> NamedArray:
    """Broadcast ``a`` to ``axes`` (Axis objects and names of axes already in ``a``).

    With ``ensure_order`` the result follows ``axes`` (extra axes of ``a``, if allowed, go at the end).

    Example:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.broadcast_to(hax.arange(X), (Y, X)).axes == (Y, X)
        True
    """
    if not isinstance(a, NamedArray):
        a = NamedArray(jnp.asarray(a), ())
    if isinstance(axes, (Axis, str)):
        axes = (axes,)
    elif isinstance(axes, dict):
        axes = tuple(Axis(n, s) for n, s in axes.items())
    resolved: list[Axis] = []
    for ax in axes:
        if isinstance(ax, str):
            i = name_index(a.axes).get(ax)
            if i is None:
                raise axis_not_found_error(ax, a.axes, "broadcast_to", "axes")
            resolved.append(a.axes[i])
        else:
            i = name_index(a.axes).get(ax.name)
            if i is not None and a.axes[i].size != ax.size:
                raise ValueError(
                    f"broadcast_to: axis {ax.name} has size {a.axes[i].size} in the array but {ax.size} in the target"
                )
            resolved.append(ax)
    target = tuple(resolved)
    tnames = name_index(target)
    extra = tuple(x for x in a.axes if x.name not in tnames)
    if extra and enforce_no_extra_axes:
        raise ValueError(
            f"broadcast_to: Cannot broadcast array with axes {tuple(str(x) for x in a.axes)} to "
            f"{tuple(str(x) for x in target)}: extra axes present {[str(x) for x in extra]}"
        )
    if ensure_order:
        out_axes = target + extra
    else:
        missing = tuple(x for x in target if x.name not in name_index(a.axes))
        out_axes = missing + a.axes
    if out_axes == a.axes:
        return a
    arr = align_to(a.array, a.axes, out_axes)
    arr = jnp.broadcast_to(arr, tuple(x.size for x in out_axes))
    return NamedArray(arr, out_axes)


def _is_subsequence(sub: Sequence[str], seq: Sequence[str]) -> bool:
    it = iter(seq)
    return all(any(s == t for t in it) for s in sub)


def broadcast_axis(a: NamedArray, axis: AxisSelection) -> NamedArray:
    """Add any missing axes of ``axis`` (in front, in the given order) and make the given axes appear in the
    given relative order.

    If ``axis`` is already a subsequence of the result, nothing is transposed; otherwise the result is ``axis``
    followed by the other axes in their original order.

    Example:
        >>> import haliax as hax
        >>> X, Z = hax.make_axes(X=2, Z=3)
        >>> [ax.name for ax in hax.arange(Z).broadcast_axis(X).axes]
        ['X', 'Z']
    """
    if isinstance(axis, Axis):
        if axis in a.axes:
            return a
        axis = (axis,)
    elif isinstance(axis, dict):
        axis = tuple(Axis(n, s) for n, s in axis.items())
    axis = tuple(axis)
    for ax in axis:
        if not isinstance(ax, Axis):
            raise TypeError(f"broadcast_axis: expected Axis objects (sizes are needed), got {ax!r}")
    present = name_index(a.axes)
    for ax in axis:
        i = present.get(ax.name)
        if i is not None and a.axes[i].size != ax.size:
            raise ValueError(f"broadcast_axis: axis {ax.name} has size {a.axes[i].size} in the array, not {ax.size}")
    missing = tuple(ax for ax in axis if ax.name not in present)
    new_axes = missing + a.axes
    names = [x.name for x in new_axes]
    want = [x.name for x in axis]
    if not _is_subsequence(want, names):
        wset = set(want)
        new_axes = axis + tuple(x for x in new_axes if x.name not in wset)
    if new_axes == a.axes:
        return a
    arr = align_to(a.array, a.axes, new_axes)
    arr = jnp.broadcast_to(arr, tuple(x.size for x in new_axes))
    return NamedArray(arr, new_axes)


def _unused() -> None:  # pragma: no cover
    jax.numpy  # noqa: B018
