"""Pooling over named axes: `max_pool`, `mean_pool`, `min_pool`, the general `pool`, and adaptive pools.

The window is an AxisSpec *with sizes*: each Axis names an input axis and gives the window length along it.
Input axes not named in the window are untouched, so batch and feature axes may stand anywhere. The output
keeps the input's axis names and order; the windowed axes get their new sizes.

`pool` itself is reachable as `haliax.nn.pool.pool` (it is not re-exported at `haliax.nn` level, where the
name `pool` is this module).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.core import Tracer

from ..axis import Axis, AxisSpec, locate_axis, to_selectors
from ..core import NamedArray
from ..partitioning import auto_sharded, explicit_auto_axes
from .layer_utils import pad_pair

__all__ = [
    "max_pool",
    "min_pool",
    "mean_pool",
    "adaptive_max_pool",
    "adaptive_mean_pool",
    "adaptive_min_pool",
]

Padding = str | int | Sequence[int | tuple[int, int]]
DEFAULT_PADDING: Padding = "VALID"


# --------------------------------------------------------------------------------------------------
# argument parsing


def _window_axes(Window: AxisSpec, fn: str, what: str = "Window") -> tuple[Axis, ...]:
    """The window as a tuple of sized Axis objects."""
    out = to_selectors(Window, fn, what)
    for a in out:
        if not isinstance(a, Axis) or not isinstance(a.size, int):
            raise ValueError(
                f"{fn}: {what} must give sizes (an Axis, a tuple of Axis or a {{name: size}} dict); "
                f"got {Window!r}, where {a!r} has no int size"
            )
        if a.size < 1:
            raise ValueError(f"{fn}: {what} sizes must be >= 1, got {a}")
    if not out:
        raise ValueError(f"{fn}: {what} must name at least one axis")
    return cast(tuple[Axis, ...], out)


def _positions(inputs: NamedArray, axes: tuple[Axis, ...], fn: str, what: str = "Window") -> list[int]:
    if not isinstance(inputs, NamedArray):
        raise TypeError(f"{fn}: inputs must be a NamedArray, got {type(inputs).__name__}")
    pos = [locate_axis(inputs.axes, a.name, fn, "inputs") for a in axes]  # window sizes are not axis sizes
    if len(set(pos)) != len(pos):
        raise ValueError(f"{fn}: {what} names an axis twice: {tuple(str(a) for a in axes)}")
    return pos


def _parse_stride(stride: int | Sequence[int] | None, n: int, fn: str) -> tuple[int, ...]:
    if stride is None:
        out: tuple[int, ...] = (1,) * n
    elif isinstance(stride, int):
        out = (stride,) * n
    else:
        try:
            out = tuple(stride)
        except TypeError:  # a float: "'float' object is not iterable"
            raise TypeError(f"{fn}: argument 'stride' must be an int or a sequence of ints, got {stride!r}") from None
        if len(out) != n:
            raise ValueError(f"{fn}: len(Window) ({n}) != len(stride) ({len(out)})")
    if any(not isinstance(s, int) or s < 1 for s in out):
        raise ValueError(f"{fn}: stride entries must be positive ints, got {stride!r}")
    return out


def _resolve_padding(
    padding: Padding, sizes: Sequence[int], window: Sequence[int], stride: Sequence[int], use_ceil: bool, fn: str
) -> tuple[list[tuple[int, int]], list[int]]:
    """Explicit ``(lo, hi)`` pads per window axis, plus the extra high padding that ``use_ceil`` adds."""
    n = len(window)
    if isinstance(padding, str):
        p = padding.upper()
        if p == "SAME":
            pads = [(lo, hi) for lo, hi in lax.padtype_to_pads(tuple(sizes), tuple(window), tuple(stride), "SAME")]
            return pads, [0] * n
        if p != "VALID":
            raise ValueError(f"{fn}: Invalid padding {padding!r}: strings must be 'SAME' or 'VALID'")
        pads = [(0, 0)] * n
    elif isinstance(padding, int) and not isinstance(padding, bool):
        pads = [(padding, padding)] * n
    elif isinstance(padding, Sequence):
        if len(padding) != n:
            raise ValueError(f"{fn}: len(Window) ({n}) != len(padding) ({len(padding)}): {padding!r}")
        pairs = [pad_pair(q) for q in padding]
        if None in pairs:
            raise ValueError(f"{fn}: padding entries must be ints or (low, high) pairs, got {padding!r}")
        pads = cast(list[tuple[int, int]], pairs)
    else:
        raise ValueError(f"{fn}: Invalid padding {padding!r}")
    extra = [0] * n
    if use_ceil:
        for i, (size, k, s, (lo, hi)) in enumerate(zip(sizes, window, stride, pads)):
            span = size + lo + hi - k
            if span < 0:
                continue
            out = -(-span // s) + 1
            if (out - 1) * s >= size + lo:  # torch: the last window must start inside the input or low pad
                out -= 1
            extra[i] = max(0, (out - 1) * s + k - (size + lo + hi))
    return pads, extra


class _PoolPlan(NamedTuple):
    """The static description of one pooling call (hashable: the jit cache key)."""

    pos: tuple[int, ...]
    window: tuple[int, ...]
    strides: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    extra: tuple[int, ...]


def _setup(
    Window: AxisSpec,
    inputs: NamedArray,
    stride: int | Sequence[int] | None,
    padding: Padding,
    use_ceil: bool,
    fn: str,
) -> _PoolPlan:
    """Positions, window sizes, strides, explicit pads and ceil extras, with the size check done."""
    win = _window_axes(Window, fn)
    pos = _positions(inputs, win, fn)
    window = [a.size for a in win]
    strides = list(_parse_stride(stride, len(win), fn))
    sizes = [inputs.axes[p].size for p in pos]
    pads, extra = _resolve_padding(padding, sizes, window, strides, use_ceil, fn)
    for a, n, k, (lo, hi) in zip(win, sizes, window, pads):
        if n + lo + hi < k:
            raise ValueError(
                f"{fn}: window {a} is larger than the padded input along {a.name!r} "
                f"(size {n}, padding {(lo, hi)}; inputs {tuple(str(x) for x in inputs.axes)})"
            )
    return _PoolPlan(tuple(pos), tuple(window), tuple(strides), tuple(pads), tuple(extra))


def _reduce(
    x: jax.Array,
    pos: Sequence[int],
    window: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[tuple[int, int]],
    extra: Sequence[int],
    init: Any,
    reduce_fn: Callable[[Any, Any], Any],
) -> jax.Array:
    dims = [1] * x.ndim
    st = [1] * x.ndim
    pd = [(0, 0)] * x.ndim
    for p, k, s, (lo, hi), e in zip(pos, window, strides, pads, extra):
        dims[p], st[p], pd[p] = k, s, (lo, hi + e)
    # a concrete (NumPy) init lets JAX pick the differentiable max/min/add window reductions
    init = init.astype(x.dtype) if isinstance(init, Tracer) else np.asarray(init, x.dtype)
    return lax.reduce_window(x, init, reduce_fn, tuple(dims), tuple(st), tuple(pd))


def _pooled(inputs: NamedArray, sizes: dict[int, int], kernel: Callable[[jax.Array], jax.Array], fn: str) -> NamedArray:
    """``kernel`` of the input's array, named: the axes at the positions ``sizes`` holds get those sizes.

    On an explicit mesh the kernel runs on Auto axes (``reduce_window`` rejects a sharded dimension whose output
    size the mesh does not divide) and the output is typed by its names."""
    axes = tuple(a.resize(sizes[i]) if i in sizes else a for i, a in enumerate(inputs.axes))
    run = explicit_auto_axes(lambda x: NamedArray(kernel(x), axes), axes, fn)
    return auto_sharded(run(inputs.array))


def _window_sizes(inputs: NamedArray, plan: _PoolPlan) -> dict[int, int]:
    """The output sizes of `_reduce` along the window axes, by position."""
    return {
        p: (inputs.axes[p].size + lo + hi + e - k) // s + 1
        for p, k, s, (lo, hi), e in zip(plan.pos, plan.window, plan.strides, plan.pads, plan.extra)
    }


def _extreme(dtype: Any, largest: bool) -> Any:
    if jnp.issubdtype(dtype, jnp.bool_):
        return largest
    if jnp.issubdtype(dtype, jnp.integer):
        info = jnp.iinfo(dtype)
        return info.max if largest else info.min
    return np.inf if largest else -np.inf


# --------------------------------------------------------------------------------------------------
# window pools


def pool(
    Window: AxisSpec,
    inputs: NamedArray,
    init: Any,
    reduce_fn: Callable[[Any, Any], Any],
    stride: int | Sequence[int] | None = None,
    padding: Padding = DEFAULT_PADDING,
    use_ceil: bool = False,
) -> NamedArray:
    """General pooling: `jax.lax.reduce_window` over the window axes, named.

    Args:
        Window: the window, an AxisSpec with sizes (Axis, tuple of Axis, or `{name: size}`); each name selects an
            input axis and each size is the window length along it. Other input axes are left alone.
        inputs: the input array.
        init: the reduction's initial value (also the value that padding contributes), e.g. `-inf` for max.
        reduce_fn: binary reduction, e.g. `jax.lax.max`.
        stride: None (1), an int for every window axis, or one int per window axis in Window order.
        padding: `"VALID"` (default), `"SAME"` (output size `ceil(n / stride)`), an int, or one int or
            `(low, high)` pair per window axis.
        use_ceil: compute the output size with `ceil` instead of `floor` (PyTorch's `ceil_mode`): extra padding
            is added at the high end, but a window that would start past the input and the low padding is
            dropped. With `"SAME"` it has no effect. Haliax matches window axes to input axes by position here,
            which extends the wrong axis when the orders differ; we match them by **name**. Haliax also switches
            `"VALID"` to `"SAME"`, which moves the windows; we keep `"VALID"` as zero padding, as PyTorch does.

    Returns:
        The pooled array, with the input's axes in the input's order and the window axes resized.

    Raises:
        ValueError: a window axis is missing from the inputs, the window has no sizes, stride or padding
            lengths do not match the window, or a window is larger than the padded input.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> from haliax.nn.pool import pool
        >>> x = hax.arange(hax.Axis("t", 6))
        >>> pool(hax.Axis("t", 2), x, 0, jax.lax.add, stride=2).tolist()
        [1, 5, 9]
    """
    plan = _setup(Window, inputs, stride, padding, use_ceil, "pool")
    return _pooled(inputs, _window_sizes(inputs, plan), lambda x: _reduce(x, *plan, init, reduce_fn), "pool")


def _window_pool(
    kernel: Callable[[jax.Array, _PoolPlan, bool], jax.Array],
    option: bool,
    Window: AxisSpec,
    inputs: NamedArray,
    stride: int | Sequence[int] | None,
    padding: Padding,
    use_ceil: bool,
    fn: str,
) -> NamedArray:
    """`max_pool`/`min_pool`/`mean_pool`: plan the call, run the jitted ``kernel(x, plan, option)``, name the result."""
    plan = _setup(Window, inputs, stride, padding, use_ceil, fn)
    return _pooled(inputs, _window_sizes(inputs, plan), lambda x: kernel(x, plan, option), fn)


@functools.partial(jax.jit, static_argnums=(1, 2), inline=True)
def _extreme_kernel(x: jax.Array, plan: _PoolPlan, largest: bool) -> jax.Array:
    op = lax.max if largest else lax.min
    return _reduce(x, *plan, _extreme(x.dtype, not largest), op)


def max_pool(
    Window: AxisSpec,
    inputs: NamedArray,
    stride: int | Sequence[int] | None = None,
    padding: Padding = DEFAULT_PADDING,
    use_ceil: bool = False,
) -> NamedArray:
    """Max pooling over the window axes; integer inputs keep their dtype. Arguments as in `haliax.nn.pool.pool`.

    Args:
        Window: the window, an AxisSpec with sizes; names select input axes, sizes are window lengths.
        inputs: the input array (any other axes are batch/feature axes and are left alone).
        stride: None (1), an int, or one int per window axis.
        padding: `"VALID"`, `"SAME"`, an int, or an int or `(low, high)` pair per window axis. Padding never
            wins the max.
        use_ceil: PyTorch `ceil_mode` output sizes (see `haliax.nn.pool.pool`).

    Returns:
        The maximum of each window.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> x = hax.arange(hax.Axis("D", 14))
        >>> hnn.max_pool(hax.Axis("D", 3), x, stride=(3,), padding=0, use_ceil=True).tolist()
        [2, 5, 8, 11, 13]
    """
    return _window_pool(_extreme_kernel, True, Window, inputs, stride, padding, use_ceil, "max_pool")


def min_pool(
    Window: AxisSpec,
    inputs: NamedArray,
    stride: int | Sequence[int] | None = None,
    padding: Padding = DEFAULT_PADDING,
    use_ceil: bool = False,
) -> NamedArray:
    """Min pooling over the window axes; integer inputs keep their dtype. Arguments as in `max_pool`.

    Args:
        Window: the window, an AxisSpec with sizes; names select input axes, sizes are window lengths.
        inputs: the input array.
        stride: None (1), an int, or one int per window axis.
        padding: `"VALID"`, `"SAME"`, an int, or an int or `(low, high)` pair per window axis. Padding never
            wins the min.
        use_ceil: PyTorch `ceil_mode` output sizes (see `haliax.nn.pool.pool`).

    Returns:
        The minimum of each window.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> x = hax.arange(hax.Axis("D", 7))
        >>> hnn.min_pool(hax.Axis("D", 2), x, stride=2, padding="SAME").tolist()
        [0, 2, 4, 6]
    """
    return _window_pool(_extreme_kernel, False, Window, inputs, stride, padding, use_ceil, "min_pool")


def _window_counts(size: int, k: int, s: int, lo: int, hi: int, extra: int, include_pad: bool) -> np.ndarray:
    """How many elements of each window along one axis count towards the mean (static, NumPy)."""
    n_out = (size + lo + hi + extra - k) // s + 1
    begin = np.arange(n_out) * s
    allowed_lo, allowed_hi = (0, size + lo + hi) if include_pad else (lo, lo + size)
    return np.clip(np.minimum(begin + k, allowed_hi) - np.maximum(begin, allowed_lo), 0, None)


def _exact_divide(total: jax.Array, divisor: Any) -> jax.Array:
    """``total / divisor`` rounded correctly.

    XLA rewrites a division by a broadcast (constant or scalar) into a multiplication by the reciprocal,
    which is 1 ulp off for e.g. 25/3; hiding the broadcast divisor behind an optimization barrier keeps a
    true elementwise division (as PyTorch computes it).
    """
    d = jnp.broadcast_to(jnp.asarray(divisor, total.dtype), total.shape)
    return total / lax.optimization_barrier(d)


def _accumulation_dtype(dtype: Any) -> tuple[Any, Any]:
    """(dtype to sum in, dtype of the result) for a mean."""
    if jnp.issubdtype(dtype, jnp.inexact):
        return jnp.promote_types(dtype, jnp.float32), dtype
    out = jnp.promote_types(dtype, jnp.float32)
    return out, out


def mean_pool(
    Window: AxisSpec,
    inputs: NamedArray,
    stride: int | Sequence[int] | None = None,
    padding: Padding = DEFAULT_PADDING,
    *,
    use_ceil: bool = False,
    count_include_pad: bool = False,
) -> NamedArray:
    """Mean pooling over the window axes. Integer inputs give float32 outputs.

    Args:
        Window: the window, an AxisSpec with sizes; names select input axes, sizes are window lengths.
        inputs: the input array.
        stride: None (1), an int, or one int per window axis.
        padding: `"VALID"`, `"SAME"`, an int, or an int or `(low, high)` pair per window axis.
        use_ceil: PyTorch `ceil_mode` output sizes (see `haliax.nn.pool.pool`). Also applied to the divisor;
            Haliax forgets it there and raises a broadcasting error.
        count_include_pad: if False (default) divide each window's sum by the number of real input elements in
            it; if True, by the number of positions of the padded input (`padding`, including `"SAME"`
            padding) that it covers. The extra high padding added by `use_ceil` never counts (as in
            PyTorch), so without `use_ceil` this is the full window size.

    Returns:
        The mean of each window (sums are accumulated in at least float32).

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> x = hax.arange(hax.Axis("D", 14))
        >>> hnn.mean_pool(hax.Axis("D", 3), x, stride=3, padding="SAME").tolist()
        [1.0, 4.0, 7.0, 10.0, 12.5]
    """
    return _window_pool(_mean_kernel, count_include_pad, Window, inputs, stride, padding, use_ceil, "mean_pool")


@functools.partial(jax.jit, static_argnums=(1, 2), inline=True)
def _mean_kernel(x: jax.Array, plan: _PoolPlan, count_include_pad: bool) -> jax.Array:
    acc, out_dtype = _accumulation_dtype(x.dtype)
    total = _reduce(x.astype(acc), *plan, 0, lax.add)
    divisor = np.ones([1] * total.ndim, dtype=np.float64)
    if any(plan.extra) or not (count_include_pad or all(q == (0, 0) for q in plan.pads)):
        for p, k, s, (lo, hi), e in zip(*plan):
            shape = [1] * total.ndim
            shape[p] = total.shape[p]
            counts = _window_counts(x.shape[p], k, s, lo, hi, e, count_include_pad)
            divisor = divisor * counts.reshape(shape)
    else:
        divisor = divisor * np.prod(plan.window)
    return _exact_divide(total, divisor).astype(out_dtype)


# --------------------------------------------------------------------------------------------------
# adaptive pools


def _adaptive(Output: AxisSpec, inputs: NamedArray, kind: str, fn: str) -> NamedArray:
    target = _window_axes(Output, fn, "Output")
    pos = tuple(_positions(inputs, target, fn, "Output"))
    sizes = tuple(a.size for a in target)
    return _pooled(inputs, dict(zip(pos, sizes)), lambda x: _adaptive_kernel(x, pos, sizes, kind), fn)


@functools.partial(jax.jit, static_argnums=(1, 2, 3), inline=True)
def _adaptive_kernel(x: jax.Array, pos: tuple[int, ...], targets: tuple[int, ...], kind: str) -> jax.Array:
    if kind == "mean":
        acc, out_dtype = _accumulation_dtype(x.dtype)
        x = x.astype(acc)
    else:
        out_dtype = x.dtype
    for p, m in zip(pos, targets):
        n = x.shape[p]
        if n % m == 0:  # equal, non-overlapping windows: a reshape
            x = x.reshape(x.shape[:p] + (m, n // m) + x.shape[p + 1 :])
            valid = None
        else:  # PyTorch bins: [floor(i * n / m), ceil((i + 1) * n / m))
            starts = (np.arange(m) * n) // m
            ends = -((-(np.arange(m) + 1) * n) // m)
            length = int((ends - starts).max())
            idx = starts[:, None] + np.arange(length)[None, :]
            valid = idx < ends[:, None]
            x = jnp.take(x, np.minimum(idx, ends[:, None] - 1), axis=p)
        if kind == "max":
            x = jnp.max(x, axis=p + 1)
        elif kind == "min":
            x = jnp.min(x, axis=p + 1)
        elif valid is None:
            x = _exact_divide(jnp.sum(x, axis=p + 1), n // m)
        else:
            shape = [1] * x.ndim
            shape[p], shape[p + 1] = valid.shape
            x = jnp.sum(jnp.where(valid.reshape(shape), x, 0), axis=p + 1)
            x = _exact_divide(x, valid.sum(axis=1).reshape(shape[: p + 1] + shape[p + 2 :]))
    return x.astype(out_dtype)


def adaptive_mean_pool(Output: AxisSpec, inputs: NamedArray) -> NamedArray:
    """Mean-pool the named axes down (or up) to the sizes given in `Output` (PyTorch's `adaptive_avg_pool`).

    Output index `i` of an axis of size `n` pooled to `m` averages input elements
    `floor(i * n / m) .. ceil((i + 1) * n / m) - 1`.

    Args:
        Output: AxisSpec with sizes: each name selects an input axis, each size is its target size.
        inputs: the input array; other axes are left alone.

    Returns:
        The pooled array (integer inputs give float32), axes in the input order.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> x = hax.arange(hax.Axis("t", 5)).astype(float)
        >>> hnn.adaptive_mean_pool(hax.Axis("t", 2), x).tolist()
        [1.0, 3.0]
    """
    return _adaptive(Output, inputs, "mean", "adaptive_mean_pool")


def adaptive_max_pool(Output: AxisSpec, inputs: NamedArray) -> NamedArray:
    """Max-pool the named axes to the sizes given in `Output` (PyTorch's `adaptive_max_pool`, same bins as
    `adaptive_mean_pool`). Integer inputs keep their dtype.

    Args:
        Output: AxisSpec with sizes: each name selects an input axis, each size is its target size.
        inputs: the input array; other axes are left alone.

    Returns:
        The pooled array, axes in the input order.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> x = hax.arange(hax.Axis("t", 5))
        >>> hnn.adaptive_max_pool({"t": 2}, x).tolist()
        [2, 4]
    """
    return _adaptive(Output, inputs, "max", "adaptive_max_pool")


def adaptive_min_pool(Output: AxisSpec, inputs: NamedArray) -> NamedArray:
    """Min-pool the named axes to the sizes given in `Output` (same bins as `adaptive_mean_pool`).

    Args:
        Output: AxisSpec with sizes: each name selects an input axis, each size is its target size.
        inputs: the input array; other axes are left alone.

    Returns:
        The pooled array, axes in the input order.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> x = hax.arange(hax.Axis("t", 5))
        >>> hnn.adaptive_min_pool(hax.Axis("t", 2), x).tolist()
        [0, 2]
    """
    return _adaptive(Output, inputs, "min", "adaptive_min_pool")
