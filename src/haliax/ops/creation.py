"""Creation routines: ``zeros``, ``ones``, ``full``, ``*_like``, ``arange``, ``linspace``, ...

Shapes accept a single Axis, a sequence of Axis, or a shape dict ``{name: size}``. A shape that names an axis twice
is a ``ValueError`` naming the function, the argument and the axis (Haliax leaves it to the ``NamedArray``
constructor, whose message names neither).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from ..axis import Axis, AxisSpec, unique_axes
from ..core import NamedArray
from ..partitioning import auto_sharded, explicit_out_sharding

__all__ = [
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "arange",
    "linspace",
    "logspace",
    "geomspace",
]


def _shape(shape: AxisSpec, fn: str, arg: str = "shape") -> tuple[tuple[Axis, ...], tuple[int, ...]]:
    # Haliax lets NamedArray's constructor complain about a repeated name, naming neither function nor argument
    axes = unique_axes(shape, fn, arg)
    return axes, tuple(a.size for a in axes)


def _like(a: Any, fn: str) -> NamedArray:
    if not isinstance(a, NamedArray):
        raise TypeError(f"{fn}: argument 'a' must be a NamedArray, got {type(a).__name__}")
    return a


def zeros(shape: AxisSpec, dtype: Any = None) -> NamedArray:
    """Zeros over the given axes; the default dtype is float32 (also under x64).

    Examples:
        >>> import haliax as hax
        >>> hax.zeros(hax.Axis("X", 2)).tolist()
        [0.0, 0.0]
    """
    axes, s = _shape(shape, "zeros")
    sharding = explicit_out_sharding(axes, "zeros")  # None unless the mesh is explicit
    return auto_sharded(NamedArray(jnp.zeros(s, jnp.float32 if dtype is None else dtype, out_sharding=sharding), axes))


def ones(shape: AxisSpec, dtype: Any = None) -> NamedArray:
    """Ones over the given axes; the default dtype is float32 (also under x64).

    Examples:
        >>> import haliax as hax
        >>> hax.ones({"X": 2, "Y": 1}).shape
        {'X': 2, 'Y': 1}
    """
    axes, s = _shape(shape, "ones")
    sharding = explicit_out_sharding(axes, "ones")  # None unless the mesh is explicit
    return auto_sharded(NamedArray(jnp.ones(s, jnp.float32 if dtype is None else dtype, out_sharding=sharding), axes))


def full(shape: AxisSpec, fill_value: Any, dtype: Any = None) -> NamedArray:
    """``fill_value`` everywhere. Without ``dtype`` it is inferred from the value (a Python int gives
    int32, or int64 under x64).

    Examples:
        >>> import haliax as hax
        >>> x = hax.full(hax.Axis("X", 2), 3)
        >>> x.tolist(), x.dtype
        ([3, 3], dtype('int32'))
    """
    axes, s = _shape(shape, "full")
    if fill_value is None or isinstance(fill_value, (str, bytes)):  # NumPy would say "data type 'x' not understood"
        raise TypeError(f"full: argument 'fill_value' must be a number or a scalar array, got {fill_value!r}")
    sharding = explicit_out_sharding(axes, "full")  # None unless the mesh is explicit
    return auto_sharded(NamedArray(jnp.full(s, fill_value, dtype, out_sharding=sharding), axes))


def zeros_like(a: NamedArray, dtype: Any = None) -> NamedArray:
    """Zeros with ``a``'s axes (and dtype unless given).

    Examples:
        >>> import haliax as hax
        >>> hax.zeros_like(hax.arange(hax.Axis("X", 2))).tolist()
        [0, 0]
    """
    a = _like(a, "zeros_like")
    return NamedArray(jnp.zeros_like(a.array, dtype=dtype), a.axes)


def ones_like(a: NamedArray, dtype: Any = None) -> NamedArray:
    """Ones with ``a``'s axes (and dtype unless given).

    Examples:
        >>> import haliax as hax
        >>> hax.ones_like(hax.arange(hax.Axis("X", 2)), dtype=float).tolist()
        [1.0, 1.0]
    """
    a = _like(a, "ones_like")
    return NamedArray(jnp.ones_like(a.array, dtype=dtype), a.axes)


def full_like(a: NamedArray, fill_value: Any, dtype: Any = None) -> NamedArray:
    """``fill_value`` with ``a``'s axes (and dtype unless given).

    Examples:
        >>> import haliax as hax
        >>> hax.full_like(hax.zeros(hax.Axis("X", 2)), 7).tolist()
        [7.0, 7.0]
    """
    a = _like(a, "full_like")
    return NamedArray(jnp.full_like(a.array, fill_value, dtype=dtype), a.axes)


def empty_like(a: NamedArray, dtype: Any = None) -> NamedArray:
    """An array with ``a``'s axes and unspecified contents (JAX fills it with zeros).

    Examples:
        >>> import haliax as hax
        >>> hax.empty_like(hax.zeros(hax.Axis("X", 2))).shape
        {'X': 2}
    """
    a = _like(a, "empty_like")
    return NamedArray(jnp.empty_like(a.array, dtype=dtype), a.axes)


def arange(axis: AxisSpec, *, start: Any = 0, step: Any = 1, dtype: Any = None) -> NamedArray:
    """``start, start + step, ...`` over ``axis``; several axes are filled row-major from one range.

    ``start`` may be traced. The default dtype is ``result_type(start, step)``: int32 for ints (int64 under
    x64), float32 if either is a float.

    Args:
        axis: the axis or axes of the result (with sizes).
        start: the first value (may be traced).
        step: the difference between consecutive values.
        dtype: the dtype of the result (default: ``result_type(start, step)``).

    Examples:
        >>> import haliax as hax
        >>> hax.arange(hax.Axis("X", 3), start=2).tolist()
        [2, 3, 4]
        >>> hax.arange(hax.make_axes(X=2, Y=2), step=0.5).tolist()
        [[0.0, 0.5], [1.0, 1.5]]
    """
    axes, s = _shape(axis, "arange", "axis")
    n = 1
    for d in s:
        n *= d
    if dtype is None:
        dtype = jnp.result_type(start, step)
    arr = jnp.arange(n, dtype=dtype)
    if not (isinstance(step, int) and step == 1):
        arr = arr * jnp.asarray(step, dtype)
    if not (isinstance(start, int) and start == 0):
        arr = arr + jnp.asarray(start, dtype)
    return auto_sharded(NamedArray(arr.reshape(s), axes))


def _space(fn: Callable[..., Any], name: str, axis: Axis | str, **kw: Any) -> NamedArray:
    if isinstance(axis, str):
        axis = Axis(axis, 50)
    if not isinstance(axis, Axis):
        raise TypeError(f"{name}: argument 'axis' must be an Axis or a name (50 samples), got {axis!r}")
    return auto_sharded(NamedArray(fn(num=axis.size, **kw), (axis,)))


def linspace(axis: Axis | str, *, start: float, stop: float, endpoint: bool = True, dtype: Any = None) -> NamedArray:
    """Evenly spaced values over one axis (a str axis means 50 samples).

    Args:
        axis: the axis of the result (a str means 50 samples).
        start: the first value.
        stop: the last value (excluded when ``endpoint`` is False).
        endpoint: whether ``stop`` is included.
        dtype: the dtype of the result.

    Examples:
        >>> import haliax as hax
        >>> hax.linspace(hax.Axis("X", 3), start=0.0, stop=1.0).tolist()
        [0.0, 0.5, 1.0]
    """
    return _space(jnp.linspace, "linspace", axis, start=start, stop=stop, endpoint=endpoint, dtype=dtype)


def logspace(
    axis: Axis | str, *, start: float, stop: float, endpoint: bool = True, base: float = 10.0, dtype: Any = None
) -> NamedArray:
    """Values spaced evenly on a log scale, ``base ** linspace(start, stop)`` (a str axis means 50 samples).

    Args:
        axis: the axis of the result (a str means 50 samples).
        start: the exponent of the first value.
        stop: the exponent of the last value (excluded when ``endpoint`` is False).
        endpoint: whether ``stop`` is included.
        base: the base of the powers.
        dtype: the dtype of the result.

    Examples:
        >>> import haliax as hax
        >>> hax.logspace(hax.Axis("X", 3), start=0.0, stop=2.0).tolist()
        [1.0, 10.0, 100.0]
    """
    return _space(jnp.logspace, "logspace", axis, start=start, stop=stop, endpoint=endpoint, base=base, dtype=dtype)


def geomspace(axis: Axis | str, *, start: float, stop: float, endpoint: bool = True, dtype: Any = None) -> NamedArray:
    """A geometric progression from ``start`` to ``stop`` (a str axis means 50 samples).

    Args:
        axis: the axis of the result (a str means 50 samples).
        start: the first value.
        stop: the last value (excluded when ``endpoint`` is False).
        endpoint: whether ``stop`` is included.
        dtype: the dtype of the result.

    Examples:
        >>> import haliax as hax
        >>> [round(v, 3) for v in hax.geomspace(hax.Axis("X", 3), start=1.0, stop=100.0).tolist()]
        [1.0, 10.0, 100.0]
    """
    return _space(jnp.geomspace, "geomspace", axis, start=start, stop=stop, endpoint=endpoint, dtype=dtype)
