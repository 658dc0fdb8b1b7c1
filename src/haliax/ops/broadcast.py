"""Broadcasting by name: the strict subset rule for operators, and explicit broadcast helpers.

Rules (the same as Haliax's):

* a binary op needs one operand's axis *set* (names and sizes) to be a subset of the other's; the result
  takes the bigger operand's order, the left one's when the sets are equal (`binary_plan`);
* `broadcast_to` / `broadcast_axis` prepend missing axes, and transpose only if the requested axes are not
  already a subsequence of the result (then: requested axes, then the others in their original order);
* `broadcast_arrays` uses the order of the array with the most elements (ties: the earliest argument).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from ..axis import (
    Axis,
    AxisSelection,
    conflicting_sizes_error,
    locate_axis,
    lookup_axis,
    name_index,
    to_selectors,
)
from ..core import NamedArray

__all__ = [
    "broadcast_to",
    "broadcast_axis",
    "broadcast_arrays",
    "broadcast_arrays_and_return_axes",
]


@functools.lru_cache(maxsize=8192)
def _align_plan(
    src: tuple[Axis, ...], dst: tuple[Axis, ...], full_rank: bool
) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """How to make an array with axes ``src`` (a subset of ``dst`` by name) broadcast NumPy-style against
    ``dst``: a transpose permutation (None if identity) and a reshape target (None if not needed; without
    ``full_rank`` also when the transposed axes are a suffix of ``dst``, as leading dims broadcast anyway)."""
    pos = name_index(dst)
    order = sorted(range(len(src)), key=lambda i: pos[src[i].name])
    perm = tuple(order) if order != list(range(len(src))) else None
    if len(src) == len(dst):
        return perm, None
    ordered = tuple(src[i] for i in order)
    if not full_rank and ordered == dst[len(dst) - len(src) :]:
        return perm, None
    present = {a.name for a in src}
    shape = tuple(a.size if a.name in present else 1 for a in dst)
    return perm, shape


_Plan = tuple[tuple[int, ...] | None, tuple[int, ...] | None]


def realign(array: Any, plan: _Plan | None) -> Any:
    """Apply an alignment plan (a transpose permutation and a reshape target, each None when not needed) to a
    raw array; a None plan leaves it unchanged."""
    if plan is None:
        return array
    perm, shape = plan
    if perm is not None:
        array = jnp.transpose(array, perm)
    if shape is not None:
        array = jnp.reshape(array, shape)
    return array


def align_to(array: Any, src: tuple[Axis, ...], dst: tuple[Axis, ...]) -> Any:
    """Transpose (and if needed reshape) a raw array with axes ``src`` so that it broadcasts NumPy-style
    against an array with axes ``dst``: the result has ``len(dst)`` dimensions, size 1 for the axes ``src``
    lacks. Every name of ``src`` must be in ``dst``, with the same size.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.ops.broadcast import align_to
        >>> X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)
        >>> align_to(jnp.zeros((4, 2)), (Z, X), (X, Y, Z)).shape
        (2, 1, 4)
    """
    return array if src == dst else realign(array, _align_plan(src, dst, True))


def _no_subset(fn: str, a: tuple[Axis, ...], b: tuple[Axis, ...]) -> ValueError:
    sa = tuple(str(x) for x in a)
    sb = tuple(str(x) for x in b)
    detail = ""
    for x in a:
        j = lookup_axis(b, x.name, fn, None)
        if j is not None and b[j].size != x.size:
            detail = f"; {conflicting_sizes_error(x.name, {'first operand': x.size, 'second operand': b[j].size})}"
            break
    return ValueError(
        f"{fn}: Cannot broadcast {sa} and {sb}: no subset relationship. If you want to broadcast anyway, "
        f"use the broadcast_axis function to explicitly add axes{detail}"
    )


@functools.lru_cache(maxsize=8192)
def binary_plan(a: tuple[Axis, ...], b: tuple[Axis, ...], fn: str) -> tuple[Axis, ...]:
    """Result axes of a binary op on operands with axes ``a`` and ``b`` under the strict subset rule
    (cached). ``fn`` names the operation in the error.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.broadcast import binary_plan
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> binary_plan((Y,), (X, Y), "add")
        (Axis(name='X', size=2), Axis(name='Y', size=3))
    """
    sa, sb = set(a), set(b)
    if sb <= sa:
        return a
    if sa <= sb:
        return b
    raise _no_subset(fn, a, b)


_BINARY_ALIGN: dict[Any, Any] = {}


def binary_align(
    a: tuple[Axis, ...], b: tuple[Axis, ...], fn: str
) -> tuple[tuple[Axis, ...], _Plan | None, _Plan | None]:
    """`binary_plan` plus how to align each operand to the result (`realign` applies it), in one cached lookup:
    the eager path of every binary op pays one dictionary hit. When ``jax_numpy_rank_promotion`` is ``"allow"``
    the plans leave out leading size-1 dimensions, which NumPy broadcasting adds without an eager reshape
    dispatch; otherwise jnp would refuse (or warn about) the implicit rank promotion, so they keep full rank.
    Errors name ``fn`` and are never cached.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.broadcast import binary_align
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> binary_align((Y,), (X, Y), "add")[0]
        (Axis(name='X', size=2), Axis(name='Y', size=3))
    """
    promo = jax.config.jax_numpy_rank_promotion  # type: ignore[attr-defined]
    key = (a, b, promo)
    hit = _BINARY_ALIGN.get(key)
    if hit is None:
        out = binary_plan(a, b, fn)
        full = promo != "allow"
        plans = [None if src == out else _align_plan(src, out, full) for src in (a, b)]
        if len(_BINARY_ALIGN) >= 4096:
            _BINARY_ALIGN.clear()
        hit = _BINARY_ALIGN[key] = (out, plans[0], plans[1])
    return hit


def _common_axes(
    a: tuple[Axis, ...], b: tuple[Axis, ...], require_subset: bool, origin: dict[str, int], k: int
) -> tuple[Axis, ...]:
    """Fold step of `broadcast_arrays`: ``a`` is the running result (from bigger arrays), ``b`` the axes of
    ``arrays[k]``; ``origin`` maps each name of ``a`` to the argument it came from (updated here)."""
    if a == b or not b:
        return a
    if not a:
        origin.update((x.name, k) for x in b)
        return b
    if require_subset:
        return binary_plan(a, b, "broadcast_arrays")
    new: list[Axis] = []
    for x in b:
        i = lookup_axis(a, x.name, "broadcast_arrays", None)
        if i is None:
            new.append(x)
            origin[x.name] = k
        elif a[i].size != x.size:
            sizes = {f"arrays[{origin[x.name]}]": a[i].size, f"arrays[{k}]": x.size}
            raise conflicting_sizes_error(x.name, sizes, "broadcast_arrays")
    return tuple(new) + a


def broadcast_arrays_and_return_axes(
    *arrays: Any, require_subset: bool = True, ensure_order: bool = True
) -> tuple[tuple[Any, ...], tuple[Axis, ...]]:
    """Broadcast NamedArrays to common axes; return them and the common axes tuple.

    The common order is that of the array with the most elements (ties: the earliest argument), as in
    Haliax. With ``require_subset=False`` the union is used: axes missing from the bigger arrays are
    put in front. None entries and scalars pass through unchanged.

    Examples:
        >>> import haliax as hax
        >>> X, Z = hax.make_axes(X=2, Z=3)
        >>> (a, b), axes = hax.broadcast_arrays_and_return_axes(hax.ones((Z, X)), hax.arange(X))
        >>> [ax.name for ax in axes], b.shape
        (['Z', 'X'], {'Z': 3, 'X': 2})
    """
    named_arrays = [(k, a) for k, a in enumerate(arrays) if isinstance(a, NamedArray)]
    if not named_arrays:
        return tuple(arrays), ()
    by_size = sorted(named_arrays, key=lambda p: p[1].size, reverse=True)  # stable: ties keep argument order
    full: tuple[Axis, ...] = ()
    origin: dict[str, int] = {}
    for k, x in by_size:
        full = _common_axes(full, x.axes, require_subset, origin, k)
    out = tuple(broadcast_to(a, full, ensure_order=ensure_order) if isinstance(a, NamedArray) else a for a in arrays)
    return out, full


def broadcast_arrays(*arrays: Any, require_subset: bool = True, ensure_order: bool = True) -> tuple[Any, ...]:
    """Broadcast NamedArrays to common axes; see `broadcast_arrays_and_return_axes`.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> a, b = hax.broadcast_arrays(hax.ones((X, Y)), hax.arange(Y))
        >>> b.shape
        {'X': 2, 'Y': 3}
    """
    return broadcast_arrays_and_return_axes(*arrays, require_subset=require_subset, ensure_order=ensure_order)[0]


def _as_named(a: Any, fn: str) -> NamedArray:
    if isinstance(a, NamedArray):
        return a
    arr = jnp.asarray(a)
    if arr.ndim != 0:
        raise ValueError(
            f"{fn}: argument 'a' must be a NamedArray or a scalar, got a plain array of shape {arr.shape}; "
            "wrap it with hax.named(...) first"
        )
    return NamedArray(arr, ())


def _is_subsequence(sub: Sequence[str], seq: Sequence[str]) -> bool:
    it = iter(seq)
    return all(any(s == t for t in it) for s in sub)


def _expand(a: NamedArray, new_axes: tuple[Axis, ...]) -> NamedArray:
    """Materialise ``a`` with axes ``new_axes`` (a superset of its axes, by name and size)."""
    if new_axes == a.axes:
        return a
    arr = align_to(a.array, a.axes, new_axes)
    if len(new_axes) != len(a.axes):
        arr = jnp.broadcast_to(arr, tuple(x.size for x in new_axes))
    return NamedArray(arr, new_axes)


def _place(a: NamedArray, target: tuple[Axis, ...], extra: tuple[Axis, ...], ensure_order: bool) -> NamedArray:
    """Prepend missing axes of ``target``; transpose to ``target + extra`` only if ``target`` is not already a
    subsequence of the result (Haliax's order)."""
    present = name_index(a.axes)
    missing = tuple(x for x in target if x.name not in present)
    new_axes = missing + a.axes
    if ensure_order and not _is_subsequence([x.name for x in target], [x.name for x in new_axes]):
        new_axes = target + extra
    return _expand(a, new_axes)


def _check_unique(axes: tuple[Axis, ...], fn: str, arg: str) -> None:
    if len(name_index(axes)) != len(axes):
        raise ValueError(f"{fn}: argument {arg!r} names an axis twice: {tuple(str(x) for x in axes)}")


def broadcast_to(
    a: Any, axes: AxisSelection, ensure_order: bool = True, enforce_no_extra_axes: bool = True
) -> NamedArray:
    """Broadcast ``a`` to ``axes``: Axis objects, or names of axes that ``a`` already has.

    Missing axes are added in front. With ``ensure_order`` the result is transposed to follow ``axes`` when
    they are not already in that relative order (then any extra axes of ``a`` follow, in their original
    order, as in Haliax). Extra axes of ``a`` raise ``ValueError`` unless ``enforce_no_extra_axes=False``.
    A non-NamedArray ``a`` must be a scalar and is treated as 0-d.

    Args:
        a: a NamedArray, or a scalar.
        axes: the target axes: Axis objects, or names of axes that ``a`` already has.
        ensure_order: transpose the result to follow the order of ``axes``.
        enforce_no_extra_axes: raise if ``a`` has axes that are not in ``axes``.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.broadcast_to(hax.arange(X), (Y, X)).axes == (Y, X)
        True
    """
    a = _as_named(a, "broadcast_to")
    resolved: list[Axis] = []
    for ax in to_selectors(axes, "broadcast_to", "axes"):
        if isinstance(ax, str):
            resolved.append(a.axes[locate_axis(a.axes, ax, "broadcast_to", "axes")])
        else:
            lookup_axis(a.axes, ax, "broadcast_to", "axes")  # checks the size (and the type)
            resolved.append(ax)
    target = tuple(resolved)
    if target == a.axes:
        return a
    _check_unique(target, "broadcast_to", "axes")
    tnames = name_index(target)
    extra = tuple(x for x in a.axes if x.name not in tnames)
    if extra and enforce_no_extra_axes:
        raise ValueError(
            f"broadcast_to: Cannot broadcast array with axes {tuple(str(x) for x in a.axes)} to "
            f"{tuple(str(x) for x in target)}: extra axes present {[str(x) for x in extra]}"
        )
    return _place(a, target, extra, ensure_order)


def broadcast_axis(a: Any, axis: AxisSelection) -> NamedArray:
    """Add any missing axes of ``axis`` and make the given axes appear in the given relative order.

    Missing axes go in front, in the given order; if ``axis`` is then not a subsequence of the axes, the
    result is ``axis`` followed by the other axes in their original order (as in Haliax). A single Axis that
    is already present returns ``a`` unchanged. Sizes of present axes must match.

    Examples:
        >>> import haliax as hax
        >>> X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)
        >>> x = hax.zeros((X, Z))
        >>> [ax.name for ax in x.broadcast_axis((Y, Z)).axes], [ax.name for ax in x.broadcast_axis((Z, Y)).axes]
        (['Y', 'X', 'Z'], ['Z', 'Y', 'X'])
    """
    a = _as_named(a, "broadcast_axis")
    target: list[Axis] = []
    for ax in to_selectors(axis, "broadcast_axis", "axis"):
        if not isinstance(ax, Axis):
            raise TypeError(f"broadcast_axis: argument 'axis': expected Axis objects (sizes are needed), got {ax!r}")
        lookup_axis(a.axes, ax, "broadcast_axis", "axis")  # checks the size
        target.append(ax)
    axis = tuple(target)
    _check_unique(axis, "broadcast_axis", "axis")
    names = name_index(axis)
    extra = tuple(x for x in a.axes if x.name not in names)
    return _place(a, axis, extra, ensure_order=True)
