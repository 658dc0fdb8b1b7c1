"""Reductions (``sum``, ``mean``, ... and their ``nan*`` forms), axis-wise ops (cumulative, sort) and top-k."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from ..axis import Axis, AxisSelection, AxisSelector, axis_not_found_error
from ..core import NamedArray
from .broadcast import broadcast_to

__all__ = ["wrap_reduction_call", "wrap_axiswise_call", "top_k", "REDUCTIONS", "AXISWISE"]


def _is_named_leaf(x: Any) -> bool:
    return isinstance(x, NamedArray)


def resolve_indices(a: NamedArray, axis: AxisSelection, fn: str) -> tuple[int, ...]:
    """Positions of the selected axes of ``a``; a missing axis or wrong size raises ``ValueError``."""
    if isinstance(axis, (Axis, str)):
        sels: tuple[AxisSelector, ...] = (axis,)
    elif isinstance(axis, Mapping):
        sels = tuple(n if s is None else Axis(n, s) for n, s in axis.items())
    else:
        sels = tuple(axis)
    out = []
    for s in sels:
        name = s.name if isinstance(s, Axis) else s
        if not isinstance(name, str):
            raise TypeError(f"{fn}: expected an axis name or Axis, got {s!r}")
        i = a._lookup(name)
        if i is None:
            raise axis_not_found_error(name, a.axes, fn, "axis")
        if isinstance(s, Axis) and a.axes[i].size != s.size:
            raise ValueError(f"{fn}: axis {name} has size {a.axes[i].size} in the array, but {s.size} was given")
        out.append(i)
    return tuple(out)


def wrap_reduction_call(
    fn: Callable[..., Any],
    a: Any,
    axis: AxisSelection | None,
    where: Any = None,
    single_axis_only: bool = False,
    supports_where: bool = True,
    **kwargs: Any,
) -> Any:
    """The shared reduction engine: reduce ``a`` over named ``axis`` (None = everything) with ``fn``.

    Maps over pytrees of NamedArrays. ``axis=None`` gives a 0-d NamedArray. ``where`` must be a NamedArray
    (broadcast strictly to ``a``'s axes).

    Example:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.wrap_reduction_call(jnp.sum, hax.ones((X, Y)), "Y").tolist()
        [3.0, 3.0]
    """
    name = getattr(fn, "__name__", "reduction")
    if where is not None and not supports_where:
        raise ValueError(f"{name} does not support `where`")

    def one(x: Any) -> Any:
        if not isinstance(x, NamedArray):
            if where is not None:
                kwargs["where"] = where
            return fn(x, axis=axis, **kwargs)
        kw = dict(kwargs)
        if where is not None:
            if not isinstance(where, NamedArray):
                raise TypeError(f"{name}: `where` must be a NamedArray when the input is one, got {type(where)}")
            kw["where"] = broadcast_to(where, x.axes).array
        if axis is None:
            return NamedArray(fn(x.array, axis=None, **kw), ())
        idx = resolve_indices(x, axis, name)
        if single_axis_only and len(idx) != 1:
            raise ValueError(f"{name} only supports a single axis")
        ax_arg = idx[0] if single_axis_only else idx
        result = fn(x.array, axis=ax_arg, **kw)
        drop = set(idx)
        return NamedArray(result, tuple(ax for i, ax in enumerate(x.axes) if i not in drop))

    return jax.tree_util.tree_map(one, a, is_leaf=_is_named_leaf)


def wrap_axiswise_call(
    fn: Callable[..., Any], a: Any, axis: AxisSelection | None, *, single_axis_only: bool, **kwargs: Any
) -> Any:
    """Apply a shape-preserving ``fn(array, axis=...)`` along named axes. ``axis=None`` returns a raw array."""
    name = getattr(fn, "__name__", "op")
    if not isinstance(a, NamedArray):
        return fn(a, axis=axis, **kwargs)
    if axis is None:
        return fn(a.array, axis=None, **kwargs)
    idx = resolve_indices(a, axis, name)
    if single_axis_only:
        if len(idx) != 1:
            raise ValueError(f"{name} only supports a single axis")
        return NamedArray(fn(a.array, axis=idx[0], **kwargs), a.axes)
    return NamedArray(fn(a.array, axis=idx, **kwargs), a.axes)


def _make_reduction(name: str, jfn: Callable[..., Any], where_ok: bool, extra: tuple[str, ...]) -> Callable[..., Any]:
    if "ddof" in extra:

        def red_ddof(
            array: Any, axis: AxisSelection | None = None, *, where: Any = None, ddof: int = 0, dtype: Any = None
        ) -> Any:
            return wrap_reduction_call(jfn, array, axis, where, supports_where=where_ok, ddof=ddof, dtype=dtype)

        fn = red_ddof
    elif "dtype" in extra:

        def red_dtype(array: Any, axis: AxisSelection | None = None, *, where: Any = None, dtype: Any = None) -> Any:
            return wrap_reduction_call(jfn, array, axis, where, supports_where=where_ok, dtype=dtype)

        fn = red_dtype
    else:

        def red(array: Any, axis: AxisSelection | None = None, *, where: Any = None) -> Any:
            return wrap_reduction_call(jfn, array, axis, where, supports_where=where_ok)

        fn = red
    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = (
        f"Named version of `jax.numpy.{jfn.__name__}`: reduces over ``axis`` (a name, Axis, or several; "
        "None = all axes, giving a 0-d NamedArray)."
    )
    return fn


# name -> (jnp function, supports where, extra params)
REDUCTIONS: dict[str, tuple[Callable[..., Any], bool, tuple[str, ...]]] = {
    "sum": (jnp.sum, True, ("dtype",)),
    "mean": (jnp.mean, True, ("dtype",)),
    "prod": (jnp.prod, True, ("dtype",)),
    "product": (jnp.prod, True, ("dtype",)),
    "max": (jnp.max, True, ()),
    "min": (jnp.min, True, ()),
    "amax": (jnp.max, True, ()),
    "amin": (jnp.min, True, ()),
    "all": (jnp.all, True, ()),
    "any": (jnp.any, True, ()),
    "ptp": (jnp.ptp, False, ()),
    "std": (jnp.std, True, ("ddof", "dtype")),
    "var": (jnp.var, True, ("ddof", "dtype")),
    "nansum": (jnp.nansum, True, ("dtype",)),
    "nanmean": (jnp.nanmean, True, ("dtype",)),
    "nanprod": (jnp.nanprod, True, ("dtype",)),
    "nanmax": (jnp.nanmax, True, ()),
    "nanmin": (jnp.nanmin, True, ()),
    "nanstd": (jnp.nanstd, True, ("ddof", "dtype")),
    "nanvar": (jnp.nanvar, True, ("ddof", "dtype")),
}

_module = sys.modules[__name__]
for _n, (_f, _w, _e) in REDUCTIONS.items():
    setattr(_module, _n, _make_reduction(_n, _f, _w, _e))
__all__ += list(REDUCTIONS)


def _make_arg(name: str, jfn: Callable[..., Any]) -> Callable[..., Any]:
    def fn(array: Any, axis: AxisSelector | None = None) -> Any:
        if axis is not None and not isinstance(axis, (str, Axis)):
            if len(tuple(axis)) != 1:
                raise ValueError(f"{name} only supports a single axis")
        return wrap_reduction_call(jfn, array, axis, None, single_axis_only=True, supports_where=False)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"Index of the {name[3:]} along one named axis (None = flat index over all axes, as a 0-d array)."
    return fn


for _n in ("argmax", "argmin", "nanargmax", "nanargmin"):
    setattr(_module, _n, _make_arg(_n, getattr(jnp, _n)))
__all__ += ["argmax", "argmin", "nanargmax", "nanargmin"]


def _make_axiswise(name: str, jfn: Callable[..., Any]) -> Callable[..., Any]:
    def fn(a: Any, axis: AxisSelector | None = None, *, dtype: Any = None) -> Any:
        return wrap_axiswise_call(jfn, a, axis, single_axis_only=True, dtype=dtype)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"Named `jax.numpy.{name}` along one axis (axes kept). ``axis=None`` returns a raw array."
    return fn


AXISWISE = {"cumsum": jnp.cumsum, "cumprod": jnp.cumprod, "nancumsum": jnp.nancumsum, "nancumprod": jnp.nancumprod}
for _n, _f in AXISWISE.items():
    setattr(_module, _n, _make_axiswise(_n, _f))
__all__ += list(AXISWISE) + ["sort", "argsort"]


def sort(a: Any, axis: AxisSelector | None = None) -> Any:
    """Sort along one named axis (axes kept). ``axis=None`` returns a raw sorted flat array."""
    return wrap_axiswise_call(jnp.sort, a, axis, single_axis_only=True)


def argsort(a: Any, axis: AxisSelector | None = None, *, stable: bool = False) -> Any:
    """Indices that sort along one named axis (axes kept)."""
    return wrap_axiswise_call(jnp.argsort, a, axis, single_axis_only=True, stable=stable)


def top_k(arr: NamedArray, axis: AxisSelector, k: int, new_axis: AxisSelector | None = None) -> tuple[NamedArray, NamedArray]:
    """The ``k`` largest values along ``axis`` and their indices.

    The axis is resized to ``k`` (or renamed to ``new_axis``: a str, or an Axis of size ``k``).

    Example:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 5)
        >>> vals, idx = hax.top_k(hax.arange(X), "X", 2)
        >>> vals.tolist(), idx.tolist()
        ([4, 3], [4, 3])
    """
    (i,) = resolve_indices(arr, axis, "top_k")
    if not 0 <= k <= arr.axes[i].size:
        raise ValueError(f"top_k: k={k} must be between 0 and the size of axis {arr.axes[i]}")
    if new_axis is None:
        out_ax = arr.axes[i].resize(k)
    elif isinstance(new_axis, str):
        out_ax = Axis(new_axis, k)
    else:
        if new_axis.size != k:
            raise ValueError(f"top_k: new_axis {new_axis} must have size k={k}")
        out_ax = new_axis
    x = jnp.moveaxis(arr.array, i, -1)
    vals, idx = jax.lax.top_k(x, k)
    axes = arr.axes[:i] + (out_ax,) + arr.axes[i + 1 :]
    return NamedArray(jnp.moveaxis(vals, -1, i), axes), NamedArray(jnp.moveaxis(idx, -1, i), axes)
