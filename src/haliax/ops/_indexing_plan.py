"""The engine behind ``x[...]`` and ``x.at[...]``: parse an index, plan it (cached), run it.

An index is parsed into a hashable *structure* (one tuple per key: kind, axis position, static data) plus a
list of the dynamic values (traced ints, index arrays). The plan depends only on ``(axes, structure)`` and is
cached; it fixes the output axes and picks one of two execution paths:

* **slice path** (ints, slices, traced ints, dslices with a scalar start): ``lax.slice`` / ``lax.rev`` /
  ``lax.pad`` / ``lax.dynamic_slice`` for reads and ``lax.dynamic_update_slice`` for writes, so basic
  indexing never lowers to a gather;
* **gather path** (anything with index arrays or lists): one NumPy-style ``jnp`` advanced index over the
  original array, then a transpose to the named placement.

Placement rule (NumPy's, as Haliax applies it): ints, dslices, index arrays, and kept axes used as batch axes
are *advanced*; the broadcast of their index axes goes where the first of them was when they are
contiguous in the array's axis order, otherwise to the front. Slices and lists are *basic*: the axis stays in
place, resized.
"""

from __future__ import annotations

import builtins
import functools
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..axis import Axis, AxisIndexError, axes_str, conflicting_sizes_error, locate_axis, lookup_axis, name_index
from ..core import NamedArray
from ..jax_utils import is_jax_array_like
from ..util import is_static_int
from .dslice import dslice

INDEX_MODES = (None, "promise_in_bounds", "clip", "drop", "fill")


def _check_int_dtype(dtype: Any, fn: str, what: str) -> None:
    if not jnp.issubdtype(dtype, jnp.integer):
        raise ValueError(f"{fn}: Index must be an integer array, got dtype {dtype} for {what}")


def _is_dslice(v: Any) -> bool:
    if isinstance(v, dslice):
        return True
    # Pallas' ``pl.ds`` (a ``Slice`` with unit stride) is accepted too, without importing Pallas.
    return type(v).__name__ == "Slice" and hasattr(v, "start") and hasattr(v, "size") and getattr(v, "stride", 1) == 1


# --------------------------------------------------------------------------------------------------
# parsing


def normalize_items(x: NamedArray, idx: Any, fn: str) -> list[tuple[Any, Any]]:
    """The ``(key, value)`` pairs of a dict index or of the alternating shorthand."""
    if isinstance(idx, dict) or (hasattr(idx, "items") and hasattr(idx, "keys")):
        return list(idx.items())
    if isinstance(idx, tuple):
        if len(idx) % 2:
            raise ValueError(
                f"{fn}: Must provide an even number of arguments to the shorthand x[axis1, index1, axis2, index2, ...]; "
                f"got {len(idx)}: {idx!r}. Axes are {axes_str(x.axes)}"
            )
        return list(zip(idx[0::2], idx[1::2]))
    raise ValueError(
        f"{fn}: Invalid index type {type(idx)}: index a NamedArray by name, with a dict {{'axis': index}} or the "
        f"shorthand x['axis', index, ...]. Axes are {axes_str(x.axes)}"
    )


def parse(x: NamedArray, items: list[tuple[Any, Any]], fn: str) -> tuple[tuple[Any, ...], list[Any]]:
    """Turn ``(key, value)`` pairs into a hashable structure and a list of dynamic values."""
    struct = []
    dyn: list[Any] = []
    for key, v in items:
        if not isinstance(key, (str, Axis)):
            raise ValueError(
                f"{fn}: Invalid index: keys must be axis names or Axis objects, got {key!r} of type {type(key)}. "
                f"Axes are {axes_str(x.axes)}"
            )
        pos = locate_axis(x.axes, key, fn, "index")  # an Axis key of another size raises AxisSizeMismatchError
        struct.append(_classify(pos, x.axes[pos].name, v, dyn, fn))
    return tuple(struct), dyn


def _classify(pos: int, name: str, v: Any, dyn: list[Any], fn: str) -> tuple[Any, ...]:
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{fn}: boolean indices are not supported (axis {name})")
    if is_static_int(v):
        return ("i", pos, int(v))
    if isinstance(v, builtins.slice):
        parts = (v.start, v.stop, v.step)
        for p in parts:
            if p is not None and not is_static_int(p):
                raise TypeError(
                    f"{fn}: slice bounds for axis {name} must be static ints, got {v!r}; "
                    "use hax.dslice(start, size) for a traced start"
                )
        return ("s", pos) + tuple(None if p is None else int(p) for p in parts)
    if _is_dslice(v):
        size = int(v.size)
        start = v.start
        if is_static_int(start):
            return ("ds", pos, size, int(start))
        if isinstance(start, NamedArray):
            _check_int_dtype(start.dtype, fn, f"the dslice start of axis {name}")
            dyn.append(start.array)
            if not start.axes:
                return ("dsd", pos, size, len(dyn) - 1)
            return ("dsn", pos, size, start.axes, len(dyn) - 1)
        if is_jax_array_like(start) and len(start.shape) == 0:
            _check_int_dtype(start.dtype, fn, f"the dslice start of axis {name}")
            dyn.append(start)
            return ("dsd", pos, size, len(dyn) - 1)
        raise TypeError(f"{fn}: dslice start for axis {name} must be an int or an integer scalar, got {start!r}")
    if isinstance(v, NamedArray):
        _check_int_dtype(v.dtype, fn, f"axis {name}")
        dyn.append(v.array)
        if not v.axes:
            return ("di", pos, len(dyn) - 1)
        return ("a", pos, v.axes, len(dyn) - 1)
    if isinstance(v, list):
        if not all(is_static_int(e) and not isinstance(e, (bool, np.bool_)) for e in v):
            raise TypeError(f"{fn}: a list index (axis {name}) must contain only ints, got {v!r}")
        return ("l", pos, tuple(int(e) for e in v))
    if is_jax_array_like(v):
        _check_int_dtype(v.dtype, fn, f"axis {name}")
        nd = len(v.shape)
        if nd == 0:
            dyn.append(v)
            return ("di", pos, len(dyn) - 1)
        if nd == 1:
            dyn.append(v)
            return ("p", pos, int(v.shape[0]), len(dyn) - 1)
        raise ValueError(
            f"{fn}: only 1-D plain arrays can index an axis (axis {name} got shape {tuple(v.shape)}); "
            "wrap the index in a NamedArray to say which axes it has"
        )
    raise TypeError(f"{fn}: invalid index {v!r} of type {type(v)} for axis {name}")


# --------------------------------------------------------------------------------------------------
# planning


def union_axes_for_indices(groups: list[tuple[str, tuple[Axis, ...]]], fn: str) -> tuple[Axis, ...]:
    """Broadcast the axes of several index arrays together by name (non-strict union).

    ``groups`` are ``(label, axes)`` pairs; the labels name the sources in a size-conflict error. The order is
    that of the group with the most elements (ties: more axes, then the earliest); axes missing from it are
    prepended in order of appearance. This is the order ``broadcast_arrays`` uses.
    """
    if not groups:
        return ()

    def key(lg: tuple[str, tuple[Axis, ...]]) -> tuple[int, int]:
        n = 1
        for a in lg[1]:
            n *= a.size
        return n, len(lg[1])

    big_label, biggest = max(groups, key=key)
    seen = {a.name: (a, big_label) for a in biggest}
    extra: list[Axis] = []
    for label, g in groups:
        for a in g:
            prev = seen.get(a.name)
            if prev is None:
                seen[a.name] = (a, label)
                extra.append(a)
            elif prev[0].size != a.size:
                raise conflicting_sizes_error(a.name, {prev[1]: prev[0].size, label: a.size}, fn, "index")
    return tuple(extra) + tuple(biggest)


class Plan:
    """A cached plan; see the module docstring."""

    __slots__ = (
        "out_axes",
        "slice_path",
        "update_ok",
        "kinds",
        "rev",
        "sl",
        "pad",
        "dyn",
        "squeeze",
        "perm",
        "region",
        "gather",
        "u_axes",
        "jnp_axes",
        "jnp_perm",
        "has_ds",
        "dims",
    )

    def __init__(self) -> None:
        for s in self.__slots__:
            setattr(self, s, None)


@functools.lru_cache(maxsize=4096)
def make_plan(axes: tuple[Axis, ...], struct: tuple[Any, ...], fn: str) -> Plan:
    """Plan an index with structure ``struct`` on an array with ``axes`` (cached)."""
    nd = len(axes)
    kinds: list[Any] = [None] * nd
    cur: list[Axis | None] = list(axes)  # current (possibly resized) kept axes, None once removed
    adv: list[tuple[int, tuple[Axis, ...]]] = []
    for item in struct:
        tag, pos = item[0], item[1]
        ax = axes[pos]
        n = ax.size
        if kinds[pos] is not None:
            raise ValueError(f"{fn}: axis {ax.name} is indexed more than once")
        if tag == "i":
            v = item[2]
            if not -n <= v < n:
                raise AxisIndexError(
                    f"{fn}: index {v} is out of bounds for axis {ax.name} with size {n} (valid: {-n} to {n - 1})"
                )
            kinds[pos] = ("i", v % n)
            cur[pos] = None
            adv.append((pos, ()))
        elif tag == "s":
            start, stop, step = builtins.slice(*item[2:]).indices(n)
            length = len(range(start, stop, step))
            kinds[pos] = ("s", start, stop, step, length)
            cur[pos] = ax.resize(length)
        elif tag == "l":
            for e in item[2]:
                if not -n <= e < n:
                    raise AxisIndexError(
                        f"{fn}: list index {e} is out of bounds for axis {ax.name} with size {n} "
                        f"(valid: {-n} to {n - 1})"
                    )
            kinds[pos] = ("l", tuple(e % n for e in item[2]))
            cur[pos] = ax.resize(len(item[2]))
        elif tag == "di":
            kinds[pos] = ("di", item[2])
            cur[pos] = None
            adv.append((pos, ()))
        elif tag in ("ds", "dsd"):
            kinds[pos] = (tag, item[2], item[3])
            cur[pos] = None
            adv.append((pos, (Axis(ax.name, item[2]),)))
        elif tag == "dsn":
            start_axes = item[3]
            if lookup_axis(start_axes, ax.name, fn, "index") is not None:
                raise ValueError(f"{fn}: the dslice start for axis {ax.name} must not itself have an axis {ax.name}")
            kinds[pos] = ("dsn", item[2], start_axes, item[4])
            cur[pos] = None
            adv.append((pos, start_axes + (Axis(ax.name, item[2]),)))
        elif tag == "a":
            kinds[pos] = ("a", item[2], item[3])
            cur[pos] = None
            adv.append((pos, item[2]))
        else:  # "p": a 1-D plain array takes the name of the first other still-kept axis of the same length
            length = item[2]
            cur[pos] = None
            pname = ax.name
            for c in cur:
                if c is not None and c.size == length:
                    pname = c.name
                    break
            idx_axes = (Axis(pname, length),)
            kinds[pos] = ("a", idx_axes, item[3])
            adv.append((pos, idx_axes))

    # kept axes named by an index become batch axes, indexed with an arange of themselves
    idx_axes_by_name = {a.name: (a, p) for p, g in adv for a in g}
    batch = []
    for d in range(nd):
        c = cur[d]
        if c is not None and c.name in idx_axes_by_name:
            b, p = idx_axes_by_name[c.name]
            if b.size != c.size:
                sizes = {"the array, where it is kept and so a batch axis": c.size, f"index for {axes[p].name}": b.size}
                raise conflicting_sizes_error(c.name, sizes, fn, "index")
            batch.append(d)
    present: list[Axis] = [c if c is not None else axes[d] for d, c in enumerate(cur)]
    entries = adv + [(d, (present[d],)) for d in batch]
    labelled = [(f"index for {axes[p].name}", g) for p, g in adv] + [
        (f"batch axis {present[d].name}", (present[d],)) for d in batch
    ]
    union = union_axes_for_indices(labelled, fn)
    adv_pos = sorted(p for p, _ in entries)
    kept_dims = [d for d in range(nd) if cur[d] is not None and d not in batch]
    kept_axes = [present[d] for d in kept_dims]
    if adv_pos and adv_pos[-1] - adv_pos[0] + 1 == len(adv_pos):
        k = sum(1 for d in kept_dims if d < adv_pos[0])
        out = tuple(kept_axes[:k]) + union + tuple(kept_axes[k:])
    else:
        out = union + tuple(kept_axes)
    if len(name_index(out)) != len(out):
        raise ValueError(f"{fn}: the result would have duplicate axis names: {axes_str(out)}")

    plan = Plan()
    plan.out_axes = out
    plan.kinds = tuple(kinds)
    plan.dims = axes
    simple = not batch and all(
        k is None or k[0] in ("i", "s", "di", "ds") or (k[0] == "dsd" and k[1] <= axes[d].size)
        for d, k in enumerate(kinds)
    )
    plan.slice_path = simple
    plan.has_ds = any(k is not None and k[0] in ("ds", "dsd", "dsn") for k in kinds)
    if simple:
        _plan_slices(plan, axes, kinds, out)
    _plan_gather(plan, axes, kinds, present, batch, union, out)
    return plan


def _plan_slices(plan: Plan, axes: tuple[Axis, ...], kinds: list[Any], out: tuple[Axis, ...]) -> None:
    nd = len(axes)
    starts, limits, strides, rev, pad, dyn, squeeze, region = [], [], [], [], [], [], [], []
    update_ok = True
    inter: list[str] = []
    for d in range(nd):
        n = axes[d].size
        k = kinds[d]
        lo_pad = hi_pad = 0
        if k is None:
            s, e, st = 0, n, 1
            region.append(("static", 0, n, 0))
        elif k[0] == "s":
            start, _, step, length = k[1:]
            if step < 0:
                rev.append(d)
                start = n - 1 - start
                step = -step
            start = min(max(start, 0), n)
            s, e, st = start, (start + (length - 1) * step + 1) if length else start, step
            update_ok = update_ok and k[3] == 1
            region.append(("static", k[1], length, 0))
        elif k[0] == "i":
            s, e, st = k[1], k[1] + 1, 1
            region.append(("static", k[1], 1, 0))
        elif k[0] == "ds":
            size, start = k[1], k[2]
            lo, hi = min(max(start, 0), n), max(min(start + size, n), 0)
            hi = max(hi, lo)
            s, e, st = lo, hi, 1
            lo_pad, hi_pad = lo - start, start + size - hi
            if hi == lo:  # entirely out of range: pad the whole thing
                lo_pad, hi_pad = size, 0
            region.append(("static", lo, hi - lo, lo - start))
        else:  # "di" / "dsd": handled by the dynamic pass
            s, e, st = 0, n, 1
            size = 1 if k[0] == "di" else k[1]
            dyn.append((d, k[0], k[-1], size, n))
            region.append(("dyn", k[0], size, k[-1]))
        starts.append(s)
        limits.append(e)
        strides.append(st)
        pad.append((lo_pad, hi_pad, 0))
        if k is not None and k[0] in ("i", "di"):
            squeeze.append(d)
        else:
            inter.append(axes[d].name)
    trivial = all(s == 0 and e == axes[d].size and st == 1 for d, (s, e, st) in enumerate(zip(starts, limits, strides)))
    plan.sl = None if trivial else (tuple(starts), tuple(limits), tuple(strides))
    plan.rev = tuple(rev) or None
    plan.pad = tuple(pad) if any(p[0] or p[1] for p in pad) else None
    plan.dyn = tuple(dyn) or None
    plan.squeeze = tuple(squeeze) or None
    pos = name_index(tuple(inter))
    perm = tuple(pos[a.name] for a in out)
    plan.perm = None if perm == tuple(range(len(perm))) else perm
    plan.region = tuple(region)
    plan.update_ok = update_ok


def _plan_gather(
    plan: Plan,
    axes: tuple[Axis, ...],
    kinds: list[Any],
    cur: list[Axis],
    batch: list[int],
    union: tuple[Axis, ...],
    out: tuple[Axis, ...],
) -> None:
    nd = len(axes)
    list_axes = tuple(cur[d] for d in range(nd) if kinds[d] is not None and kinds[d][0] == "l" and d not in batch)
    u_axes = union + list_axes
    gather: list[Any] = []
    adv_dims, slice_dims = [], []
    for d in range(nd):
        k = kinds[d]
        c = cur[d]
        if d in batch:
            if k is None:
                const = np.arange(axes[d].size, dtype=np.int32)
            elif k[0] == "s":
                const = np.arange(k[1], k[2], k[3], dtype=np.int32)
            else:
                const = np.asarray(k[1], dtype=np.int32)
            gather.append(("const", const.reshape(_aligned_shape((c,), u_axes))))
        elif k is None:
            gather.append(("slice", builtins.slice(None)))
        elif k[0] == "s":
            gather.append(("slice", builtins.slice(k[1], k[2] if k[2] >= 0 else None, k[3])))
        elif k[0] == "l":
            gather.append(("const", np.asarray(k[1], dtype=np.int32).reshape(_aligned_shape((c,), u_axes))))
        elif k[0] == "i":
            gather.append(("int", k[1]))
        elif k[0] == "di":
            gather.append(("dint", k[1]))
        elif k[0] in ("ds", "dsd"):
            gather.append((k[0], k[2], k[1], axes[d].size, _aligned_shape((Axis(axes[d].name, k[1]),), u_axes)))
        elif k[0] == "dsn":
            idx_axes = k[2] + (Axis(axes[d].name, k[1]),)
            gather.append(("dsn", k[3], k[1], axes[d].size, idx_axes))
        else:  # "a"
            gather.append(("arr", k[2], k[1]))
        if gather[-1][0] == "slice":
            slice_dims.append(d)
        else:
            adv_dims.append(d)
    has_array = any(g[0] not in ("slice", "int", "dint") for g in gather)
    slice_axes = [cur[d] for d in slice_dims]
    if not has_array:
        jnp_axes = tuple(slice_axes)
    elif adv_dims[-1] - adv_dims[0] + 1 == len(adv_dims):
        k0 = sum(1 for d in slice_dims if d < adv_dims[0])
        jnp_axes = tuple(slice_axes[:k0]) + u_axes + tuple(slice_axes[k0:])
    else:
        jnp_axes = u_axes + tuple(slice_axes)
    plan.gather = tuple(gather)
    plan.u_axes = u_axes
    plan.jnp_axes = jnp_axes
    pos = name_index(jnp_axes)
    perm = tuple(pos[a.name] for a in out)
    plan.jnp_perm = None if perm == tuple(range(len(perm))) else perm


def _aligned_shape(src: tuple[Axis, ...], dst: tuple[Axis, ...]) -> tuple[int, ...]:
    names = {a.name for a in src}
    return tuple(a.size if a.name in names else 1 for a in dst)
