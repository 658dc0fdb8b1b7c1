"""Running an index plan (see `_indexing_plan`): the slice path for reads and writes, and the gather path's
NumPy-style index tuple."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.core import Tracer

from ..axis import Axis, axes_str, conflicting_sizes_error, lookup_axis
from ..core import NamedArray
from ._indexing_plan import Plan
from .broadcast import align_to

# --------------------------------------------------------------------------------------------------
# slice path: reads


def _roll_fix(arr: Any, d: int, start: Any, size: int, n: int) -> Any:
    """``arr`` holds ``size`` elements read along ``d`` at the clamped start ``clip(start, 0, n - size)``;
    realign them to ``start`` and zero the positions that fall outside ``[0, n)``."""
    if size == 0:
        return arr
    c = jnp.clip(start, 0, n - size)
    shift = (start - c) % size
    doubled = lax.concatenate([arr, arr], d)
    rolled = lax.dynamic_slice_in_dim(doubled, shift, size, d)
    pos = start + lax.iota(jnp.result_type(start), size)
    valid = (pos >= 0) & (pos < n)
    shape = [1] * arr.ndim
    shape[d] = size
    return jnp.where(valid.reshape(shape), rolled, jnp.zeros((), arr.dtype))


def slice_get(plan: Plan, arr: Any, dyn: list[Any], fill: bool = True) -> Any:
    """Run the slice path for a read: rev, slice, pad (static dslices), dynamic_slice, squeeze, transpose.

    Without ``fill``, traced dslice starts are only clamped (no realignment and zero-fill)."""
    if plan.rev:
        arr = lax.rev(arr, plan.rev)
    if plan.sl:
        arr = lax.slice(arr, *plan.sl)
    if plan.pad:
        arr = lax.pad(arr, jnp.zeros((), arr.dtype), plan.pad)
    if plan.dyn:
        starts: list[Any] = [0] * arr.ndim
        sizes = list(arr.shape)
        fixes = []
        for d, kind, k, size, n in plan.dyn:
            s = jnp.asarray(dyn[k])
            if kind == "di":
                starts[d] = jnp.where(s < 0, s + n, s)
            else:  # lax.dynamic_slice would wrap a negative start: clamp it ourselves, then realign
                if fill:
                    fixes.append((d, s, size, n))
                starts[d] = jnp.clip(s, 0, n - size)
            sizes[d] = size
        arr = lax.dynamic_slice(arr, starts, sizes)
        for d, s, size, n in fixes:
            arr = _roll_fix(arr, d, s, size, n)
    if plan.squeeze:
        arr = lax.squeeze(arr, plan.squeeze)
    if plan.perm:
        arr = jnp.transpose(arr, plan.perm)
    return arr


# --------------------------------------------------------------------------------------------------
# slice path: writes


def region_value(plan: Plan, value: Any, fn: str) -> tuple[Any, tuple[Axis, ...]]:
    """Check an update value against the selected region; return its raw array and axes."""
    if isinstance(value, NamedArray):
        region = plan.out_axes
        for a in value.axes:
            j = lookup_axis(region, a.name, fn, "value")
            if j is None:
                raise ValueError(
                    f"{fn}: the update value has axes {axes_str(value.axes)}, which cannot be broadcast to the selected "
                    f"region with axes {axes_str(plan.out_axes)} (every value axis must be in the region, same size)"
                )
            if region[j].size != a.size:
                raise conflicting_sizes_error(a.name, {"selected region": region[j].size, "value": a.size}, fn, "value")
        return value.array, value.axes
    shape = getattr(value, "shape", ())
    if len(shape) != 0:
        raise ValueError(
            f"{fn}: the update value must be a NamedArray or a scalar, got a plain array of shape {tuple(shape)}; "
            f"the selected region has axes {axes_str(plan.out_axes)}"
        )
    return value, ()


_BINOPS = {
    "add": jnp.add,
    "subtract": jnp.subtract,
    "multiply": jnp.multiply,
    "divide": jnp.divide,
    "power": jnp.power,
    "min": jnp.minimum,
    "max": jnp.maximum,
}


def _apply_op(op: str, old: Any, upd: Any, fn_apply: Any, dtype: Any) -> Any:
    """The new contents of the region. Like ``jnp``'s ``.at``, the result keeps the array's dtype, except
    ``divide``/``power``, which may promote it (``jnp`` returns ``divide(x, ...)`` there)."""
    if op == "set":
        return jnp.asarray(upd).astype(dtype)
    if op == "apply":
        return jnp.asarray(fn_apply(old)).astype(dtype)
    res = _BINOPS[op](old, upd)
    return res if op in ("divide", "power") else res.astype(dtype)


def slice_update(
    plan: Plan,
    arr: Any,
    dyn: list[Any],
    value: Any,
    value_axes: tuple[Axis, ...],
    op: str,
    fn_apply: Any,
    mode: Any,
) -> Any:
    """Run the slice path for a write with ``lax.dynamic_update_slice``.

    Dynamic starts (traced ints and dslices) are clamped into range and, unless ``mode`` is ``"clip"`` or
    ``"promise_in_bounds"``, the positions outside the axis are masked out, so those writes are dropped.
    """
    nd = arr.ndim
    starts: list[Any] = []
    sizes: list[int] = []
    layout: list[Axis] = []  # the value's layout: array order, size-1 dims for ints, logical dslice sizes
    cut: list[tuple[int, int]] = []  # the part of the value that lands inside the array (static dslices)
    masked: list[tuple[int, Any, int, int]] = []
    mask_out = mode in (None, "drop", "fill")
    for d in range(nd):
        r = plan.region[d]
        ax = plan.dims[d]
        k = plan.kinds[d]
        is_int = k is not None and k[0] in ("i", "di")
        if r[0] == "static":
            _, s, size, off = r
            full = 1 if is_int else (ax.size if k is None else k[4] if k[0] == "s" else k[1])
            cut.append((off, size))
        else:
            _, kind, size, kk = r
            s = jnp.asarray(dyn[kk])
            if kind == "di":
                s = jnp.where(s < 0, s + ax.size, s)
            if mask_out:
                masked.append((d, s, size, ax.size))
            s = jnp.clip(s, 0, ax.size - size)  # lax.dynamic_update_slice would wrap a negative start
            full = size
            cut.append((0, size))
        starts.append(s)
        sizes.append(size)
        layout.append(Axis(f"\x00int{d}" if is_int else ax.name, full))
    if any(s == 0 for s in sizes):
        return arr
    v = None
    if op != "apply":
        v = jnp.asarray(value)
        if value_axes:
            v = align_to(v, value_axes, tuple(layout))
        full_shape = tuple(a.size for a in layout)
        v = jnp.broadcast_to(v, full_shape)
        if any(c != (0, f) for c, f in zip(cut, full_shape)):
            v = lax.slice(v, [c[0] for c in cut], [c[0] + c[1] for c in cut])
    dtype = arr.dtype
    if op == "set" and not masked:
        return lax.dynamic_update_slice(arr, v.astype(dtype), starts)  # type: ignore[union-attr]
    old = lax.dynamic_slice(arr, starts, sizes)
    mask = None
    for d, s, size, n in masked:
        shift = s - jnp.clip(s, 0, n - size)
        if v is not None and size > 1:  # element j of the value goes to region position j + shift
            doubled = lax.concatenate([v, v], d)
            v = lax.dynamic_slice_in_dim(doubled, (-shift) % size, size, d)
        r = lax.iota(jnp.result_type(shift), size) - shift
        ok = ((r >= 0) & (r < size)).reshape([size if i == d else 1 for i in range(nd)])
        mask = ok if mask is None else (mask & ok)
    new = _apply_op(op, old, v, fn_apply, dtype)
    if new.dtype != dtype:
        arr = arr.astype(new.dtype)
        old = old.astype(new.dtype)
    if mask is not None:
        new = jnp.where(mask, new, old)
    return lax.dynamic_update_slice(arr, new, starts)


# --------------------------------------------------------------------------------------------------
# gather path


def gather_index(plan: Plan, dyn: list[Any], fill_ds: bool) -> tuple[Any, ...]:
    """The NumPy-style index tuple over the original array. With ``fill_ds``, dslice positions outside the
    axis are mapped to ``n`` (out of bounds even after ``jnp`` wraps negative indices), so a ``"fill"`` gather
    reads ``fill_value`` there and a ``"drop"`` scatter skips them."""
    out: list[Any] = []
    for g in plan.gather:
        tag = g[0]
        if tag in ("slice", "int", "const"):
            out.append(g[1])
        elif tag == "dint":
            out.append(dyn[g[1]])
        elif tag == "arr":
            out.append(align_to(dyn[g[1]], g[2], plan.u_axes))
        else:
            size, n = g[2], g[3]
            if tag == "ds":
                idx: Any = np.arange(g[1], g[1] + size, dtype=np.int32)
            elif tag == "dsd":
                s = jnp.asarray(dyn[g[1]])
                idx = s + lax.iota(s.dtype, size)
            else:
                s = jnp.asarray(dyn[g[1]])
                idx = s[..., None] + lax.broadcasted_iota(s.dtype, (1,) * s.ndim + (size,), s.ndim)
            if fill_ds:
                xp = np if tag == "ds" else jnp
                idx = xp.where((idx < 0) | (idx >= n), n, idx)
            if tag == "dsn":
                idx = align_to(idx, g[4], plan.u_axes)
            else:
                idx = idx.reshape(g[4])
            out.append(idx)
    return tuple(out)


def gather_get(plan: Plan, arr: Any, dyn: list[Any], fill_ds: bool, opts: tuple[Any, ...], fill_value: Any) -> Any:
    """Run the gather path for a read: one ``jnp`` advanced index, then the transpose to the named placement."""
    tup = gather_index(plan, dyn, fill_ds)
    kw = dict(opts)
    if fill_value is not None:
        kw["fill_value"] = fill_value
    out = arr.at[tup].get(**kw) if kw else arr[tup]
    if plan.jnp_perm:
        out = jnp.transpose(out, plan.jnp_perm)
    return out


def gather_update(
    plan: Plan,
    arr: Any,
    dyn: list[Any],
    drop_ds: bool,
    op: str,
    opts: tuple[Any, ...],
    value: Any,
    value_axes: tuple[Axis, ...],
    fn_apply: Any,
) -> Any:
    """Run the gather path for a write: one ``jnp`` ``.at[...]`` scatter with the value in ``jnp``'s layout."""
    ref = arr.at[gather_index(plan, dyn, drop_ds)]
    if op == "apply":
        return ref.apply(fn_apply, **dict(opts))
    v = align_to(value, value_axes, plan.jnp_axes) if value_axes else value
    return getattr(ref, op)(v, **dict(opts))


# --------------------------------------------------------------------------------------------------
# eager calls: one compiled executable per plan instead of one dispatch per lax op

_slice_get_jit = jax.jit(slice_get, static_argnums=(0, 3))
_slice_update_jit = jax.jit(slice_update, static_argnums=(0, 4, 5, 6, 7))
_gather_get_jit = jax.jit(gather_get, static_argnums=(0, 3, 4, 5))
_gather_update_jit = jax.jit(gather_update, static_argnums=(0, 3, 4, 5, 7, 8))


def _tracing(*xs: Any) -> bool:
    return any(isinstance(x, Tracer) for x in jax.tree_util.tree_leaves(xs))


def run_slice_get(plan: Plan, arr: Any, dyn: list[Any], fill: bool = True) -> Any:
    """`slice_get`, through a cached ``jax.jit`` when called eagerly (inlined as is under a trace)."""
    if _tracing(arr, dyn):
        return slice_get(plan, arr, dyn, fill)
    return _slice_get_jit(plan, arr, dyn, fill)


def run_slice_update(
    plan: Plan, arr: Any, dyn: list[Any], value: Any, value_axes: tuple[Axis, ...], op: str, fn_apply: Any, mode: Any
) -> Any:
    """`slice_update`, through a cached ``jax.jit`` when called eagerly (inlined as is under a trace)."""
    if op == "apply" or _tracing(arr, dyn, value):  # (a fresh lambda per call would recompile every time)
        return slice_update(plan, arr, dyn, value, value_axes, op, fn_apply, mode)
    return _slice_update_jit(plan, arr, dyn, value, value_axes, op, fn_apply, mode)


def run_gather_get(plan: Plan, arr: Any, dyn: list[Any], fill_ds: bool, opts: tuple[Any, ...], fill_value: Any) -> Any:
    """`gather_get`, through a cached ``jax.jit`` when called eagerly."""
    if _tracing(arr, dyn) or not (fill_value is None or isinstance(fill_value, (int, float, complex, np.generic))):
        return gather_get(plan, arr, dyn, fill_ds, opts, fill_value)
    return _gather_get_jit(plan, arr, dyn, fill_ds, opts, fill_value)  # fill_value must be concrete: static


def run_gather_update(
    plan: Plan,
    arr: Any,
    dyn: list[Any],
    drop_ds: bool,
    op: str,
    opts: tuple[Any, ...],
    value: Any,
    value_axes: tuple[Axis, ...],
    fn_apply: Any,
) -> Any:
    """`gather_update`, through a cached ``jax.jit`` when called eagerly."""
    if op == "apply" or _tracing(arr, dyn, value):
        return gather_update(plan, arr, dyn, drop_ds, op, opts, value, value_axes, fn_apply)
    return _gather_update_jit(plan, arr, dyn, drop_ds, op, opts, value, value_axes, fn_apply)
