"""Creation routines: ``zeros``, ``ones``, ``full``, ``*_like``, ``arange``, ``linspace``, ..."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from ..axis import Axis, AxisSpec, axis_spec_to_tuple
from ..core import NamedArray
from ..partitioning import auto_sharded

__all__ = ["zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "empty_like", "arange", "linspace",
           "logspace", "geomspace"]


def _shape(shape: AxisSpec) -> tuple[tuple[Axis, ...], tuple[int, ...]]:
    axes = axis_spec_to_tuple(shape)
    return axes, tuple(a.size for a in axes)


def zeros(shape: AxisSpec, dtype: Any = None) -> NamedArray:
    """Zeros over the given axes; the default dtype is float32 (also under x64).

    Example:
        >>> import haliax as hax
        >>> hax.zeros(hax.Axis("X", 2)).tolist()
        [0.0, 0.0]
    """
    axes, s = _shape(shape)
    return auto_sharded(NamedArray(jnp.zeros(s, dtype or jnp.float32), axes))


def ones(shape: AxisSpec, dtype: Any = None) -> NamedArray:
    """Ones over the given axes; the default dtype is float32 (also under x64)."""
    axes, s = _shape(shape)
    return auto_sharded(NamedArray(jnp.ones(s, dtype or jnp.float32), axes))


def full(shape: AxisSpec, fill_value: Any, dtype: Any = None) -> NamedArray:
    """``fill_value`` everywhere; the dtype is inferred from the value when not given (int -> int32)."""
    axes, s = _shape(shape)
    return auto_sharded(NamedArray(jnp.full(s, fill_value, dtype), axes))


def zeros_like(a: NamedArray, dtype: Any = None) -> NamedArray:
    """Zeros with ``a``'s axes (and dtype unless given)."""
    return NamedArray(jnp.zeros_like(a.array, dtype=dtype), a.axes)


def ones_like(a: NamedArray, dtype: Any = None) -> NamedArray:
    """Ones with ``a``'s axes (and dtype unless given)."""
    return NamedArray(jnp.ones_like(a.array, dtype=dtype), a.axes)


def full_like(a: NamedArray, fill_value: Any, dtype: Any = None) -> NamedArray:
    """``fill_value`` with ``a``'s axes (and dtype unless given)."""
    return NamedArray(jnp.full_like(a.array, fill_value, dtype=dtype), a.axes)


def empty_like(a: NamedArray, dtype: Any = None) -> NamedArray:
    """Like ``zeros_like`` (JAX has no uninitialised memory)."""
    return NamedArray(jnp.empty_like(a.array, dtype=dtype), a.axes)


def arange(axis: AxisSpec, *, start: Any = 0, step: Any = 1, dtype: Any = None) -> NamedArray:
    """``start, start + step, ...`` over ``axis``; several axes are filled row-major.

    ``start`` may be traced. The default dtype is ``result_type(start, step)``.

    Example:
        >>> import haliax as hax
        >>> hax.arange(hax.Axis("X", 3), start=2).tolist()
        [2, 3, 4]
    """
    axes, s = _shape(axis)
    n = 1
    for d in s:
        n *= d
    if dtype is None:
        dtype = jnp.result_type(start, step)
    arr = (jnp.arange(n, dtype=dtype) * jnp.asarray(step, dtype) + jnp.asarray(start, dtype)).reshape(s)
    return NamedArray(arr, axes)


def _space(fn: Any, axis: Any, **kw: Any) -> NamedArray:
    if isinstance(axis, str):
        axis = Axis(axis, 50)
    return NamedArray(fn(num=axis.size, **kw), (axis,))


def linspace(axis: Axis | str, *, start: float, stop: float, endpoint: bool = True, dtype: Any = None) -> NamedArray:
    """Evenly spaced values over one axis (a str axis means 50 samples)."""
    return _space(jnp.linspace, axis, start=start, stop=stop, endpoint=endpoint, dtype=dtype)


def logspace(axis: Axis | str, *, start: float, stop: float, endpoint: bool = True, base: float = 10.0,
             dtype: Any = None) -> NamedArray:
    """Log-spaced values over one axis (a str axis means 50 samples)."""
    return _space(jnp.logspace, axis, start=start, stop=stop, endpoint=endpoint, base=base, dtype=dtype)


def geomspace(axis: Axis | str, *, start: float, stop: float, endpoint: bool = True, dtype: Any = None) -> NamedArray:
    """Geometrically spaced values over one axis (a str axis means 50 samples)."""
    return _space(jnp.geomspace, axis, start=start, stop=stop, endpoint=endpoint, dtype=dtype)
