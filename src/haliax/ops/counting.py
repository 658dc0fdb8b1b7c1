"""Counting and searching by name: ``unique`` (and its shortcuts), ``bincount`` and ``searchsorted``.

Every output length comes from an `Axis` argument (``Unique``, ``Counts``) or from an input axis, so all of
these work under ``jax.jit``. Each is a thin layer over the ``jax.numpy`` function of the same name.
"""

from __future__ import annotations

from typing import Any, cast

import jax.numpy as jnp

from ..axis import Axis, AxisSelector, locate_axis, lookup_axis, replace_axis
from ..core import NamedArray
from ..partitioning import explicit_out_sharding, explicit_reshard, explicit_unshard_dims
from .broadcast import broadcast_to

__all__ = [
    "unique",
    "unique_values",
    "unique_counts",
    "unique_inverse",
    "unique_all",
    "bincount",
    "searchsorted",
]

_SIDES = ("left", "right")
_METHODS = ("scan", "scan_unrolled", "sort", "compare_all")


class _UnnamedArrayError(TypeError, ValueError):
    """A plain array with dimensions where a NamedArray (or a scalar) is needed.

    A ``TypeError`` (the wrong kind of argument) and, for code written against Haliax, which raises a
    ``ValueError`` here, also a ``ValueError``.
    """


def _named_arg(fn: str, arg: str, x: Any) -> NamedArray:
    if not isinstance(x, NamedArray):
        raise TypeError(f"{fn}: argument {arg!r} must be a NamedArray, got {type(x).__name__}")
    return x


def _sized_axis(fn: str, arg: str, ax: Any) -> Axis:
    if not isinstance(ax, Axis):
        hint = f", e.g. hax.Axis({ax!r}, n)" if isinstance(ax, str) else ""
        raise TypeError(
            f"{fn}: argument {arg!r} must be a sized Axis (its size is the output length), got {ax!r}{hint}"
        )
    return ax


def _raw(x: Any) -> Any:
    return x.array if isinstance(x, NamedArray) else x


def _typed(raw: Any, axes: tuple[Axis, ...], fn: str) -> NamedArray:
    """An output, on an explicit mesh resharded to the typed sharding its names give (else unchanged)."""
    return NamedArray(explicit_reshard(raw, explicit_out_sharding(axes, fn)), axes)


# --------------------------------------------------------------------------------------------------
# unique


def unique(
    array: NamedArray,
    Unique: Axis,
    *,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: AxisSelector | None = None,
    fill_value: Any = None,
) -> NamedArray | tuple[NamedArray, ...]:
    """The sorted unique values of ``array`` (``jnp.unique`` with ``size=Unique.size``).

    The output length is ``Unique.size``, fixed in advance, so this works under ``jax.jit``. With fewer
    distinct values than that, the rest is filled with ``fill_value`` (by default the smallest value, or
    with ``axis`` the first slice); with more, the result is truncated.

    * ``axis=None``: the array is flattened (in its own axis order) and the values have axes ``(Unique,)``.
    * ``axis`` given: the unique slices along that axis. The values have the array's axes with ``axis``
      replaced in place by ``Unique``; ``Unique`` may reuse the name of ``axis`` but not of another axis.

    Extra outputs, in this order, when asked for:

    * ``index`` ``(Unique,)``: the first occurrence, as a flat index (``axis=None``) or along ``axis``;
    * ``inverse``: with ``axis=None`` the input's axes, otherwise ``(axis,)``; taking the values at it
      gives back the input;
    * ``counts`` ``(Unique,)``.

    With no flag set a single NamedArray is returned, otherwise a tuple (values first).

    Haliax raises ``AttributeError`` when ``Unique`` is a str; we raise a ``TypeError`` saying that a
    sized Axis is needed.

    Args:
        array: the input.
        Unique: the output axis; its size is the number of values returned.
        return_index: also return the first-occurrence indices.
        return_inverse: also return the indices that rebuild the input from the values.
        return_counts: also return how often each value occurs.
        axis: the axis along which to find unique slices, or None to flatten.
        fill_value: the padding value when there are fewer distinct values than ``Unique.size``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.counting import unique
        >>> x = hax.named([3, 1, 3, 2, 1, 3], "X")
        >>> unique(x, hax.Axis("U", 5), fill_value=-1).tolist()
        [1, 2, 3, -1, -1]
        >>> values, counts = unique(x, hax.Axis("U", 3), return_counts=True)
        >>> values.tolist(), counts.tolist()
        ([1, 2, 3], [2, 1, 3])
    """
    fn = "unique"
    array = _named_arg(fn, "array", array)
    Unique = _sized_axis(fn, "Unique", Unique)
    fill_value = _raw(fill_value)
    raw = explicit_unshard_dims(array.array, range(array.ndim))  # an explicit mesh: JAX sorts unsharded dims only
    if axis is None:
        out = jnp.unique(
            raw,
            return_index=True,
            return_inverse=True,
            return_counts=True,
            size=Unique.size,
            fill_value=fill_value,
        )
        values_axes: tuple[Axis, ...] = (Unique,)
        inverse_axes = array.axes
    else:
        i = locate_axis(array.axes, axis, fn, "axis", capitalize=True)
        j = lookup_axis(array.axes, Unique.name, fn, "Unique")
        if j is not None and j != i:
            raise ValueError(
                f"{fn}: argument 'Unique': Axis {Unique.name} already present in the array's axes "
                f"({', '.join(str(a) for a in array.axes)}); only the axis being replaced "
                f"({array.axes[i].name}) may share its name"
            )
        out = jnp.unique(
            raw,
            return_index=True,
            return_inverse=True,
            return_counts=True,
            axis=i,
            size=Unique.size,
            fill_value=fill_value,
        )
        values_axes = replace_axis(array.axes, array.axes[i], Unique)
        inverse_axes = (array.axes[i],)
    values, index, inverse, counts = out
    result = [_typed(values, values_axes, fn)]
    if return_index:
        result.append(_typed(index, (Unique,), fn))
    if return_inverse:
        result.append(_typed(jnp.reshape(inverse, [a.size for a in inverse_axes]), inverse_axes, fn))
    if return_counts:
        result.append(_typed(counts, (Unique,), fn))
    return result[0] if len(result) == 1 else tuple(result)


def unique_values(
    array: NamedArray, Unique: Axis, *, axis: AxisSelector | None = None, fill_value: Any = None
) -> NamedArray:
    """The sorted unique values: `unique` with no extra outputs.

    Args:
        array: the array whose unique values are found.
        Unique: the output axis; its size is the number of unique values returned (needed under `jax.jit`).
        axis: find unique slices along this axis instead of unique elements of the flattened array.
        fill_value: the value that pads the output when there are fewer unique values than ``Unique.size``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.counting import unique_values
        >>> x = hax.named([3, 1, 3, 2], "X")
        >>> unique_values(x, hax.Axis("U", 3)).tolist()
        [1, 2, 3]
    """
    return cast(NamedArray, unique(array, Unique, axis=axis, fill_value=fill_value))


def unique_counts(
    array: NamedArray, Unique: Axis, *, axis: AxisSelector | None = None, fill_value: Any = None
) -> tuple[NamedArray, NamedArray]:
    """``(values, counts)``: `unique` with ``return_counts=True``.

    Args:
        array: the array whose unique values are found.
        Unique: the output axis; its size is the number of unique values returned (needed under `jax.jit`).
        axis: find unique slices along this axis instead of unique elements of the flattened array.
        fill_value: the value that pads the output when there are fewer unique values than ``Unique.size``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.counting import unique_counts
        >>> x = hax.named([3, 1, 3, 2], "X")
        >>> values, counts = unique_counts(x, hax.Axis("U", 3))
        >>> counts.tolist()
        [1, 1, 2]
    """
    values, counts = unique(array, Unique, return_counts=True, axis=axis, fill_value=fill_value)
    return values, counts


def unique_inverse(
    array: NamedArray, Unique: Axis, *, axis: AxisSelector | None = None, fill_value: Any = None
) -> tuple[NamedArray, NamedArray]:
    """``(values, inverse)``: `unique` with ``return_inverse=True``.

    Args:
        array: the array whose unique values are found.
        Unique: the output axis; its size is the number of unique values returned (needed under `jax.jit`).
        axis: find unique slices along this axis instead of unique elements of the flattened array.
        fill_value: the value that pads the output when there are fewer unique values than ``Unique.size``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.counting import unique_inverse
        >>> x = hax.named([3, 1, 3, 2], "X")
        >>> values, inverse = unique_inverse(x, hax.Axis("U", 3))
        >>> inverse.axes, inverse.tolist()
        ((Axis(name='X', size=4),), [2, 0, 2, 1])
    """
    values, inverse = unique(array, Unique, return_inverse=True, axis=axis, fill_value=fill_value)
    return values, inverse


def unique_all(
    array: NamedArray, Unique: Axis, *, axis: AxisSelector | None = None, fill_value: Any = None
) -> tuple[NamedArray, NamedArray, NamedArray, NamedArray]:
    """``(values, index, inverse, counts)``: `unique` with every extra output.

    Args:
        array: the array whose unique values are found.
        Unique: the output axis; its size is the number of unique values returned (needed under `jax.jit`).
        axis: find unique slices along this axis instead of unique elements of the flattened array.
        fill_value: the value that pads the output when there are fewer unique values than ``Unique.size``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.counting import unique_all
        >>> x = hax.named([3, 1, 3, 2, 1, 3], "X")
        >>> values, index, inverse, counts = unique_all(x, hax.Axis("U", 3))
        >>> values.tolist(), index.tolist(), inverse.tolist(), counts.tolist()
        ([1, 2, 3], [1, 3, 0], [2, 0, 2, 1, 0, 2], [2, 1, 3])
    """
    values, index, inverse, counts = unique(
        array,
        Unique,
        return_index=True,
        return_inverse=True,
        return_counts=True,
        axis=axis,
        fill_value=fill_value,
    )
    return values, index, inverse, counts


# --------------------------------------------------------------------------------------------------
# bincount


def bincount(x: NamedArray, Counts: Axis, *, weights: Any = None, minlength: int = 0) -> NamedArray:
    """How often each value ``0 .. Counts.size - 1`` occurs in the 1-D integer array ``x``.

    ``jnp.bincount(x, weights, minlength, length=Counts.size)`` with axes ``(Counts,)``: the length is
    always ``Counts.size`` (so this works under ``jax.jit``, and ``minlength`` has no effect on it). Values
    ``>= Counts.size`` are dropped and negative values are counted in bin 0. The dtype is int32, or the
    weights' dtype when ``weights`` are given.

    ``weights`` may be a plain array of the same length as ``x``, or a NamedArray whose axes are a subset of
    ``x``'s (it is broadcast to them, so a 0-d NamedArray weighs every element alike).

    Haliax raises ``AttributeError`` when ``Counts`` is a str; we raise a ``TypeError`` saying that a sized
    Axis is needed.

    Args:
        x: a 1-D array of non-negative integers.
        Counts: the output axis; its size is the number of bins.
        weights: optional weights: a plain array of the length of ``x``, or a NamedArray broadcast to ``x``.
        minlength: accepted for compatibility with `jax.numpy.bincount`; the length is always ``Counts.size``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.counting import bincount
        >>> x = hax.named([0, 1, 1, 3, 2], "X")
        >>> bincount(x, hax.Axis("C", 6)).tolist()
        [1, 2, 1, 1, 0, 0]
        >>> bincount(x, hax.Axis("C", 4), weights=[1.0, 2.0, 3.0, 4.0, 5.0]).tolist()
        [1.0, 5.0, 5.0, 4.0]
    """
    fn = "bincount"
    x = _named_arg(fn, "x", x)
    Counts = _sized_axis(fn, "Counts", Counts)
    if x.ndim != 1:
        raise ValueError(
            f"{fn}: argument 'x': bincount only supports 1D arrays, got axes ({', '.join(str(a) for a in x.axes)})"
        )
    if not (jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.bool_)):
        raise TypeError(f"{fn}: argument 'x' must have an integer (or bool) dtype, got {x.dtype}")
    if isinstance(weights, NamedArray):
        extra = [a.name for a in weights.axes if lookup_axis(x.axes, a, fn, "weights") is None]
        if extra:
            raise ValueError(
                f"{fn}: argument 'weights': Cannot broadcast weights with axes "
                f"({', '.join(str(a) for a in weights.axes)}) to x's axes ({x.axes[0]}): extra axes present {extra}"
            )
        w = explicit_unshard_dims(broadcast_to(weights, x.axes).array, [0])
    elif weights is not None:
        w = jnp.asarray(weights)
        if w.shape != (x.axes[0].size,):
            raise ValueError(
                f"{fn}: argument 'weights': a plain weights array must have shape ({x.axes[0].size},) like "
                f"x's axis {x.axes[0]}, got shape {w.shape}"
            )
    else:
        w = None
    raw = explicit_unshard_dims(x.array, [0])  # an explicit mesh: JAX scatters from unsharded ids only
    return _typed(jnp.bincount(raw, w, minlength, length=Counts.size), (Counts,), fn)


# --------------------------------------------------------------------------------------------------
# searchsorted


def searchsorted(a: NamedArray, v: Any, *, side: str = "left", sorter: Any = None, method: str = "scan") -> NamedArray:
    """Where the values ``v`` would be inserted into the sorted 1-D array ``a`` to keep it sorted.

    ``jnp.searchsorted(a, v, side=side, sorter=sorter, method=method)``. The name of ``a``'s axis does
    not matter. The result has exactly ``v``'s axes (0-d for a scalar ``v``) and dtype int32.

    Haliax fails with an unhelpful shape error for a plain array ``v`` with dimensions, and with an
    ``AttributeError`` for a plain ``a``; we raise an error saying a NamedArray is needed (for ``v`` it is
    both a ``TypeError`` and a ``ValueError``; for ``a`` a ``TypeError``).

    Args:
        a: a sorted 1-D NamedArray (or unsorted, with ``sorter``).
        v: the values to look up: a NamedArray of any axes, or a scalar.
        side: ``"left"`` (the first suitable position) or ``"right"`` (the last).
        sorter: indices that sort ``a`` (NamedArray or plain 1-D array), e.g. from ``argsort``.
        method: JAX's algorithm: ``"scan"``, ``"scan_unrolled"``, ``"sort"`` or ``"compare_all"``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.counting import searchsorted
        >>> a = hax.named([1, 3, 5, 7, 9], "A")
        >>> v = hax.named([0, 5, 10], "V")
        >>> searchsorted(a, v).tolist()
        [0, 2, 5]
        >>> searchsorted(a, v, side="right").tolist()
        [0, 3, 5]
    """
    fn = "searchsorted"
    a = _named_arg(fn, "a", a)
    if a.ndim != 1:
        raise ValueError(
            f"{fn}: argument 'a': searchsorted only supports 1D 'a', got axes ({', '.join(str(x) for x in a.axes)})"
        )
    if side not in _SIDES:
        raise ValueError(f"{fn}: argument 'side' must be one of {_SIDES}, got {side!r}")
    if method not in _METHODS:
        raise ValueError(f"{fn}: argument 'method' must be one of {_METHODS}, got {method!r}")
    if isinstance(v, NamedArray):
        v_raw, v_axes = v.array, v.axes
    else:
        v_raw, v_axes = jnp.asarray(v), ()
        if v_raw.ndim != 0:
            raise _UnnamedArrayError(
                f"{fn}: argument 'v' must be a NamedArray or a scalar, got a plain array of shape {v_raw.shape}; "
                f"name its axes first, e.g. hax.named(v, ('V',))"
            )
    if sorter is not None:
        s = _raw(sorter)
        s_shape = jnp.shape(s)
        if s_shape != (a.axes[0].size,):
            raise ValueError(
                f"{fn}: argument 'sorter' must be 1-D with the length of a's axis {a.axes[0]}, got shape {s_shape}"
            )
        sorter = explicit_unshard_dims(s, [0]) if isinstance(sorter, NamedArray) else s
    # an explicit mesh: JAX's searches reject a sharded a, and (but "compare_all") a sharded v
    a_raw = explicit_unshard_dims(a.array, [0])
    v_raw = explicit_unshard_dims(v_raw, range(len(v_axes)))
    out = jnp.searchsorted(a_raw, v_raw, side=side, sorter=sorter, method=method)
    return _typed(out, v_axes, fn)
