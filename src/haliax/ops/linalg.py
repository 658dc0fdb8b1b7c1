"""Contractions by name: ``dot`` (and ``trace``/``tril``/``triu``). ``einsum`` lives in ``ops/einsum.py``."""

from __future__ import annotations

import functools
import string
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from ..axis import Axis, AxisSelection, AxisSelector, axis_not_found_error, rearrange_for_partial_order
from ..core import NamedArray
from ..partitioning import auto_sharded
from .reductions import resolve_indices

__all__ = ["dot", "trace", "tril", "triu", "contraction_plan"]

_LETTERS = string.ascii_letters


def _sel_names(axis: AxisSelection) -> tuple[tuple[str, int | None], ...]:
    if isinstance(axis, Axis):
        return ((axis.name, axis.size),)
    if isinstance(axis, str):
        return ((axis, None),)
    if isinstance(axis, Mapping):
        return tuple(axis.items())
    return tuple((a.name, a.size) if isinstance(a, Axis) else (a, None) for a in axis)


@functools.lru_cache(maxsize=4096)
def contraction_plan(
    axes_list: tuple[tuple[Axis, ...], ...], contract: tuple[tuple[str, int | None], ...] | None, fn: str = "dot"
) -> tuple[str, tuple[Axis, ...]]:
    """An einsum subscript string and the output axes for contracting named axes (cached)."""
    letters: dict[str, str] = {}
    sizes: dict[str, int] = {}
    order: list[Axis] = []
    for axes in axes_list:
        for ax in axes:
            if ax.name in sizes:
                if sizes[ax.name] != ax.size:
                    raise ValueError(f"{fn}: Axis {ax.name} has multiple sizes: {sizes[ax.name]} and {ax.size}")
            else:
                if len(letters) >= len(_LETTERS):
                    raise ValueError(f"{fn}: too many distinct axes ({len(letters) + 1})")
                sizes[ax.name] = ax.size
                letters[ax.name] = _LETTERS[len(letters)]
                order.append(ax)
    if contract is None:
        contracted = set(sizes)
    else:
        contracted = set()
        for name, size in contract:
            if name not in sizes:
                raise ValueError(
                    f"{fn}: Axis {name} not present in axis spec of any argument "
                    f"{tuple(tuple(str(a) for a in axes) for axes in axes_list)}"
                )
            if size is not None and sizes[name] != size:
                raise ValueError(f"{fn}: axis {name} has size {sizes[name]}, but {size} was asked for")
            contracted.add(name)
    out_axes = tuple(ax for ax in order if ax.name not in contracted)
    lhs = ",".join("".join(letters[a.name] for a in axes) for axes in axes_list)
    rhs = "".join(letters[a.name] for a in out_axes)
    return f"{lhs}->{rhs}", out_axes


def dot(
    *arrays: Any,
    axis: AxisSelection | None = ...,  # type: ignore[assignment]
    precision: Any = None,
    preferred_element_type: Any = None,
    out_axes: Sequence[Any] | None = None,
    dot_general: Callable[..., Any] = jax.lax.dot_general,
) -> NamedArray:
    """Contract named axes: a generalised einsum over names.

    Output axes are the union of the inputs' axes in order of first appearance, minus the contracted
    ones. Axes shared but not contracted are batch axes; ``axis=None`` contracts everything (0-d
    result); ``axis=()`` contracts nothing. ``out_axes`` is a partial order (may hold ``...``).

    Example:
        >>> import haliax as hax
        >>> B, E, H = hax.make_axes(B=2, E=3, H=4)
        >>> x, w = hax.ones((B, E)), hax.ones((E, H))
        >>> y = hax.dot(x, w, axis="E")
        >>> [a.name for a in y.axes], float(y.array[0, 0])
        (['B', 'H'], 3.0)
    """
    if axis is ...:
        if arrays and not isinstance(arrays[0], NamedArray):
            warnings.warn("dot(axis, *arrays) is deprecated; use dot(*arrays, axis=...)", DeprecationWarning, stacklevel=2)
            axis, arrays = arrays[0], arrays[1:]
        else:
            raise ValueError("Must provide an axis to dot")
    if not arrays:
        raise ValueError("dot: at least one array is required")
    for i, a in enumerate(arrays):
        if not isinstance(a, NamedArray):
            raise TypeError(f"dot: argument {i} must be a NamedArray, got {type(a).__name__}")
    contract = None if axis is None else _sel_names(axis)
    spec, result_axes = contraction_plan(tuple(a.axes for a in arrays), contract)
    if len(arrays) == 1 and spec.split("->")[0] == spec.split("->")[1]:
        out = arrays[0].array
    else:
        with jax.named_scope(f"contract {spec}"):
            out = jnp.einsum(
                spec,
                *(a.array for a in arrays),
                precision=precision,
                preferred_element_type=preferred_element_type,
                _dot_general=dot_general,
            )
    result = NamedArray(out, result_axes)
    if out_axes is not None:
        from .shape import rearrange

        result = rearrange(result, out_axes)
    return auto_sharded(result)


def trace(array: NamedArray, axis1: AxisSelector, axis2: AxisSelector, offset: int = 0, dtype: Any = None) -> NamedArray:
    """Sum along a diagonal of two named axes; both are removed."""
    i, j = resolve_indices(array, (axis1, axis2), "trace")
    out = jnp.trace(array.array, offset=offset, axis1=i, axis2=j, dtype=dtype)
    return NamedArray(out, tuple(a for k, a in enumerate(array.axes) if k not in (i, j)))


def _tri(fn: Callable[..., Any], name: str, array: NamedArray, axis1: AxisSelector, axis2: AxisSelector, k: int) -> NamedArray:
    i, j = resolve_indices(array, (axis1, axis2), name)
    if i == j:
        raise ValueError(f"{name}: axis1 and axis2 must differ, got {array.axes[i]} twice")
    other = tuple(a for n, a in enumerate(array.axes) if n not in (i, j))
    new_axes = other + (array.axes[i], array.axes[j])
    perm = tuple(n for n in range(len(array.axes)) if n not in (i, j)) + (i, j)
    return NamedArray(fn(jnp.transpose(array.array, perm), k=k), new_axes)


def tril(array: NamedArray, axis1: AxisSelector, axis2: AxisSelector, k: int = 0) -> NamedArray:
    """Lower triangle over (axis1, axis2); those two axes move to the end."""
    return _tri(jnp.tril, "tril", array, axis1, axis2, k)


def triu(array: NamedArray, axis1: AxisSelector, axis2: AxisSelector, k: int = 0) -> NamedArray:
    """Upper triangle over (axis1, axis2); those two axes move to the end."""
    return _tri(jnp.triu, "triu", array, axis1, axis2, k)


_ = (axis_not_found_error, rearrange_for_partial_order)
