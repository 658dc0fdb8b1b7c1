"""Indexing by name: ``x[...]``, ``x.at[...]``, ``take``, ``slice``, ``updated_slice``, ``where``, ``nonzero``.

Index spellings: a dict ``x[{"X": 1, "Y": slice(0, 10, 2)}]`` or the alternating shorthand
``x["X", 1, "Y", 0:10:2]`` (keys are names or Axis objects). Index kinds:

* an int (Python, NumPy, or a 0-d integer JAX array, traced or not) drops the axis; negative ints wrap;
* a ``slice`` keeps the axis, resized;
* ``hax.dslice(start, size)`` reads ``size`` elements from a possibly traced ``start``; reads outside the
  axis give 0 and writes outside it are dropped. A NamedArray ``start`` gives one window per element
  (a gather);
* a list of ints keeps the axis (size ``len``), like a slice; next to index arrays it is applied
  orthogonally (Haliax raises a JAX broadcasting error there);
* a NamedArray of ints is an advanced index: the axis is replaced by the index's axes. Index axes named like a
  kept axis of the array are batch axes (take-along semantics);
* a 1-D plain array is named after the first other still-kept axis of the same length, else after the axis it
  indexes.

Placement follows NumPy: ints, dslices, index arrays and batch axes are advanced; if they are contiguous in the
array's axis order, the (broadcast) index axes go where the first of them was, otherwise to the front.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..axis import Axis, AxisIndexError, AxisSelector, conflicting_sizes_error, locate_axis, lookup_axis, name_index
from ..core import NamedArray
from ..jax_utils import is_jax_array_like
from ..partitioning import (
    explicit_align,
    explicit_auto_axes,
    explicit_out_sharding,
    explicit_reshard,
    explicit_unshard_dims,
)
from ..util import is_static_int
from . import _indexing_exec as _x, _indexing_plan as _p
from .broadcast import align_to
from .elementwise import is_array_or_number, operand_type_error

__all__ = ["index", "take", "slice", "updated_slice", "where", "nonzero"]


def _run_get(x: NamedArray, idx: Any, fn: str, options: dict[str, Any] | None = None) -> NamedArray:
    items = _p.normalize_items(x, idx, fn)
    struct, dyn = _p.parse(x, items, fn)
    plan = _p.make_plan(x.axes, struct, fn)
    arr_in, out_spec = x.array, explicit_out_sharding(plan.out_axes, fn)
    if out_spec is not None:  # an explicit mesh: JAX cannot slice or gather along a sharded dimension
        arr_in = explicit_unshard_dims(arr_in, [locate_axis(x.axes, k, fn, "index") for k, _ in items])
    if plan.slice_path:
        if not options:
            return NamedArray(explicit_reshard(_x.run_slice_get(plan, arr_in, dyn), out_spec), plan.out_axes)
        if options.get("mode") in ("clip", "promise_in_bounds") and "fill_value" not in options and not plan.pad:
            # in-bounds promise: dynamic starts are clamped, no zero-fill fix-up
            arr = _x.run_slice_get(plan, arr_in, dyn, fill=False)
            return NamedArray(explicit_reshard(arr, out_spec), plan.out_axes)
    options = dict(options or {})
    if out_spec is not None:  # the gather's output sharding, in jnp's layout
        options["out_sharding"] = explicit_out_sharding(plan.jnp_axes, fn)
    mode = options.get("mode")
    if mode not in _p.INDEX_MODES and not hasattr(mode, "name"):
        raise ValueError(f"{fn}: mode must be one of {_p.INDEX_MODES[1:]}, got {mode!r}")
    fill_ds = plan.has_ds and mode in (None, "fill")
    if fill_ds:
        options["mode"] = "fill"
        if options.get("fill_value") is None:
            options["fill_value"] = 0
    fill_value = options.pop("fill_value", None)
    arr = _x.run_gather_get(plan, arr_in, dyn, fill_ds, tuple(sorted(options.items())), fill_value)
    return NamedArray(explicit_reshard(arr, out_spec), plan.out_axes)


def getitem(x: NamedArray, idx: Any) -> NamedArray:
    """``x[idx]``: see the module docstring. Full integer indexing gives a 0-d NamedArray."""
    return _run_get(x, idx, "NamedArray indexing")


def index(array: NamedArray, slices: Mapping[AxisSelector, Any]) -> NamedArray:
    """Index ``array`` by name with a dict ``{axis: index}`` (what ``array[...]`` calls).

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> x = hax.arange((X, Y))
        >>> hax.index(x, {"Y": 1}).tolist()
        [1, 4]
        >>> x["X", 1, "Y", 0:2].tolist()
        [3, 4]
    """
    if not isinstance(slices, Mapping):
        raise TypeError(f"index: expected a dict {{axis: index}}, got {type(slices)}")
    return _run_get(array, slices, "index")


# --------------------------------------------------------------------------------------------------
# x.at[...]

_UPDATE_OPS = ("set", "add", "subtract", "multiply", "divide", "power", "min", "max", "apply")


class _IndexUpdateRef:
    """``x.at[idx]``: ``get``, ``set``, ``add``, ``mul``/``multiply``, ``divide``, ``power``, ``min``, ``max``,
    ``apply``. Keyword options ``indices_are_sorted``, ``unique_indices``, ``mode`` (and ``fill_value`` for
    ``get``) go on the method. The update value is broadcast (strictly, no extra axes) to the selected region;
    the result keeps all of ``x``'s axes."""

    __slots__ = ("_x", "_idx")

    def __init__(self, x: NamedArray, idx: Any):
        self._x = x
        self._idx = idx

    def get(
        self,
        *,
        indices_are_sorted: bool = False,
        unique_indices: bool = False,
        mode: str | None = None,
        fill_value: Any = None,
    ) -> NamedArray:
        """Read the selected region, like ``x[idx]`` with ``jnp`` gather options.

        With ``mode="clip"`` or ``"promise_in_bounds"``, a dslice with a traced start becomes a bare
        ``lax.dynamic_slice`` (start clamped into range) instead of a zero-filled read.
        """
        opts: dict[str, Any] = {}
        if indices_are_sorted:
            opts["indices_are_sorted"] = True
        if unique_indices:
            opts["unique_indices"] = True
        if mode is not None:
            opts["mode"] = mode
        if fill_value is not None:
            opts["fill_value"] = fill_value
        return _run_get(self._x, self._idx, "at[...].get", opts)

    def _update(self, op: str, value: Any, fn_apply: Callable[[Any], Any] | None, kwargs: dict[str, Any]) -> NamedArray:
        fn = f"at[...].{op}"
        bad = set(kwargs) - {"indices_are_sorted", "unique_indices", "mode"}
        if bad:
            raise TypeError(f"{fn}: unexpected keyword arguments {sorted(bad)}")
        mode = kwargs.get("mode")
        if mode not in _p.INDEX_MODES and not hasattr(mode, "name"):
            raise ValueError(f"{fn}: mode must be one of {_p.INDEX_MODES[1:]}, got {mode!r}")
        x = self._x
        items = _p.normalize_items(x, self._idx, fn)
        struct, dyn = _p.parse(x, items, fn)
        plan = _p.make_plan(x.axes, struct, fn)
        if op != "apply":
            raw, vaxes = _x.region_value(plan, value, fn)
        else:
            raw, vaxes = None, ()
        opts = {k: v for k, v in kwargs.items() if v is not None and v is not False}
        drop_ds = plan.has_ds and mode in (None, "drop", "fill")
        if drop_ds:
            opts["mode"] = "drop"

        def run(arr: Any, dyn: list[Any], raw: Any) -> Any:
            if plan.slice_path and plan.update_ok:
                return _x.run_slice_update(plan, arr, dyn, raw, vaxes, op, fn_apply, mode)
            return _x.run_gather_update(plan, arr, dyn, drop_ds, op, tuple(sorted(opts.items())), raw, vaxes, fn_apply)

        if explicit_out_sharding(x.axes, fn) is not None:  # an explicit mesh: the scatter runs on Auto axes
            named = explicit_auto_axes(lambda a, d, r: NamedArray(run(a.array, d, r), x.axes), x.axes, fn)
            return named(x, dyn, raw)
        return NamedArray(run(x.array, dyn, raw), x.axes)

    def set(self, value: Any, **kwargs: Any) -> NamedArray:
        """``x[idx] = value``, functionally."""
        return self._update("set", value, None, kwargs)

    def add(self, value: Any, **kwargs: Any) -> NamedArray:
        """``x[idx] += value``, functionally."""
        return self._update("add", value, None, kwargs)

    def subtract(self, value: Any, **kwargs: Any) -> NamedArray:
        """``x[idx] -= value``, functionally."""
        return self._update("subtract", value, None, kwargs)

    def multiply(self, value: Any, **kwargs: Any) -> NamedArray:
        """``x[idx] *= value``, functionally."""
        return self._update("multiply", value, None, kwargs)

    mul = multiply

    def divide(self, value: Any, **kwargs: Any) -> NamedArray:
        """``x[idx] /= value``, functionally (integer arrays become floating point, as in ``jnp``)."""
        return self._update("divide", value, None, kwargs)

    def power(self, value: Any, **kwargs: Any) -> NamedArray:
        """``x[idx] **= value``, functionally."""
        return self._update("power", value, None, kwargs)

    def min(self, value: Any, **kwargs: Any) -> NamedArray:
        """``x[idx] = minimum(x[idx], value)``, functionally."""
        return self._update("min", value, None, kwargs)

    def max(self, value: Any, **kwargs: Any) -> NamedArray:
        """``x[idx] = maximum(x[idx], value)``, functionally."""
        return self._update("max", value, None, kwargs)

    def apply(self, func: Callable[[Any], Any], **kwargs: Any) -> NamedArray:
        """Apply a unary function to the selected region (on raw arrays), functionally."""
        return self._update("apply", None, func, kwargs)


class AtIndexer:
    """What ``x.at`` returns; ``x.at[idx]`` is an update reference.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 4)
        >>> hax.zeros(X).at["X", 1:3].set(1.0).tolist()
        [0.0, 1.0, 1.0, 0.0]
        >>> hax.arange(X).at["X", hax.dslice(3, 2)].set(9).tolist()
        [0, 1, 2, 9]
    """

    __slots__ = ("_x",)

    def __init__(self, x: NamedArray):
        self._x = x

    def __getitem__(self, idx: Any) -> _IndexUpdateRef:
        return _IndexUpdateRef(self._x, idx)


# --------------------------------------------------------------------------------------------------
# take / slice / updated_slice


def take(
    array: NamedArray, axis: AxisSelector, index: Any, *, mode: str | None = None, fill_value: Any = None
) -> NamedArray:
    """Select along ``axis`` with an integer or an integer index array.

    An int (Python, NumPy, or a 0-d JAX array, traced or not) or a 0-d NamedArray drops the axis. A NamedArray
    index replaces the axis, in place, by the index's axes. Index axes named like other axes of ``array`` are
    batch axes (take-along semantics): then the result has the index's other axes first, in index order,
    followed by the remaining axes of ``array`` in array order (so ``logits(Batch, Embed, Block).take("Embed",
    labels)`` is ``(Batch, Block)`` whatever the order of ``labels``' axes). The index may even have an axis
    named ``axis``; with batch axes it counts as one of the index's own axes and comes first. A 1-D plain
    array is named as in indexing. ``mode`` and ``fill_value`` are the ``jnp`` gather options.

    Haliax drops the axis only for a Python int (a 0-d JAX array or a NumPy int fails there); we drop it for
    every integer scalar, as indexing does.

    Args:
        array: the array to select from.
        axis: the axis to select along.
        index: an integer scalar, a NamedArray of integers, or a 1-D plain integer array.
        mode: the out-of-bounds mode of the gather (as in `jax.numpy.take`).
        fill_value: the value read out of bounds with ``mode="fill"``.

    Examples:
        >>> import haliax as hax
        >>> X, Y, I = hax.make_axes(X=2, Y=3, I=4)
        >>> x = hax.arange((X, Y))
        >>> idx = hax.named([2, 0, 1, 1], I)
        >>> [a.name for a in x.take("Y", idx).axes]
        ['X', 'I']
        >>> x.take("Y", 1).tolist()
        [1, 4]
    """
    if not isinstance(array, NamedArray):
        raise TypeError(f"take: expected a NamedArray, got {type(array)}")
    if isinstance(index, NamedArray):
        if not jnp.issubdtype(index.dtype, jnp.integer):
            raise ValueError(f"take: Index must be an integer array, got dtype {index.dtype}")
    elif not (is_static_int(index) or (is_jax_array_like(index) and len(index.shape) <= 1)):
        raise TypeError(f"take: index must be an int, an integer scalar array or a NamedArray, got {type(index)}")
    elif is_jax_array_like(index) and not jnp.issubdtype(index.dtype, jnp.integer):
        raise ValueError(f"take: Index must be an integer array, got dtype {index.dtype}")
    opts = {k: v for k, v in (("mode", mode), ("fill_value", fill_value)) if v is not None}
    out = _run_get(array, {axis: index}, "take", opts)
    if not isinstance(index, NamedArray) or not index.axes:
        return out
    taken = array.axes[locate_axis(array.axes, axis, "take", "axis")].name
    rest = tuple(a for a in array.axes if a.name != taken)
    rest_names = {a.name for a in rest}
    if not any(a.name in rest_names for a in index.axes):
        return out
    # batch axes: the index's own axes first (index order), then the rest of the array (array order)
    order = tuple(a.name for a in index.axes if a.name not in rest_names) + tuple(a.name for a in rest)
    pos = name_index(out.axes)
    perm = tuple(pos[n] for n in order)
    if perm == tuple(range(len(perm))):
        return out
    return NamedArray(jnp.transpose(out.array, perm), tuple(out.axes[p] for p in perm))


def _renamed(axes: tuple[Axis, ...], new: dict[int, Axis], fn: str) -> tuple[Axis, ...]:
    out = tuple(new.get(i, a) for i, a in enumerate(axes))
    if len(name_index(out)) != len(out):
        raise ValueError(f"{fn}: the result would have duplicate axis names: {tuple(str(a) for a in out)}")
    return out


def slice(  # noqa: A001
    array: NamedArray,
    axis: AxisSelector | Mapping[AxisSelector, Any] | None = None,
    new_axis: AxisSelector | Mapping[AxisSelector, Any] | None = None,
    start: Any = 0,
    length: int | Mapping[AxisSelector, int | Axis] | None = None,
) -> NamedArray:
    """A contiguous block (``lax.dynamic_slice``), in one of two forms.

    * ``slice(array, axis, new_axis=None, start=0, length=None)``: ``length`` elements of ``axis`` from
      ``start``; a ``new_axis`` Axis gives the length and the new name, a str ``new_axis`` only renames. A
      static start whose window would not fit raises ``AxisIndexError`` (an ``IndexError`` and a
      ``ValueError``); a traced start is clamped into range, as ``lax.dynamic_slice`` does. Haliax clamps
      static starts too, which silently returns another window than the one asked for.
    * ``slice(array, start={axis: s, ...}, length={axis: n_or_Axis, ...})`` (also positional): every started
      axis needs a length (an Axis renames); a length without a start starts at 0. Static int starts must be in
      bounds (ValueError); traced starts are clamped by XLA.

    Static starts lower to ``lax.slice``; traced ones to ``lax.dynamic_slice``.

    Args:
        array: the array to slice.
        axis: the axis to slice (first form), or a mapping from axes to starts (second form).
        new_axis: the new Axis (length and name) or new name (first form), or the mapping of lengths (second form).
        start: the start index, static or traced (first form), or a mapping from axes to starts.
        length: the number of elements (first form), or a mapping from axes to lengths or Axis objects.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=5)
        >>> x = hax.arange((X, Y))
        >>> x.slice("Y", start=1, length=2).tolist()
        [[1, 2], [6, 7]]
        >>> hax.slice(x, {"Y": 3}, {"Y": hax.Axis("W", 2)}).axes[1]
        Axis(name='W', size=2)
    """
    if not isinstance(array, NamedArray):
        raise TypeError(f"slice: expected a NamedArray, got {type(array)}")
    if isinstance(axis, Mapping) or (axis is None and isinstance(start, Mapping)):
        starts = axis if isinstance(axis, Mapping) else start
        lengths = new_axis if isinstance(new_axis, Mapping) else length
        if not isinstance(lengths, Mapping):
            raise ValueError(
                "slice: the dict form needs a dict of lengths: slice(array, {axis: start}, {axis: length})"
            )
        return _slice_dict(array, starts, lengths)  # type: ignore[arg-type]
    if axis is None:
        raise TypeError("slice: give an axis (with start/length) or dicts of starts and lengths")
    i = locate_axis(array.axes, axis, "slice", "axis")
    ax = array.axes[i]
    if isinstance(new_axis, Axis):
        if length is not None and length != new_axis.size:
            raise conflicting_sizes_error(
                new_axis.name, {"length": cast(int, length), "new_axis": new_axis.size}, "slice"
            )
        out_ax = new_axis
    else:
        if length is None:
            raise ValueError("slice: either length or an Axis new_axis is required")
        if not is_static_int(length):
            raise TypeError(f"slice: length must be a static int, got {length!r}")
        if new_axis is not None and not isinstance(new_axis, str):
            raise TypeError(f"slice: new_axis must be an Axis or a name, got {new_axis!r}")
        out_ax = Axis(new_axis if new_axis is not None else ax.name, int(length))  # type: ignore[arg-type]
    n, m = ax.size, out_ax.size
    if m > n:
        raise ValueError(f"slice: length {m} is larger than axis {ax}")
    out_axes = _renamed(array.axes, {i: out_ax}, "slice")
    if is_static_int(start):
        s = int(start)
        if s < 0 or s + m > n:
            raise AxisIndexError(
                f"slice: start {s} with length {m} is out of bounds for axis {ax} (valid starts: 0 to {n - m})"
            )
        arr = lax.slice_in_dim(array.array, s, s + m, axis=i)
    elif isinstance(start, NamedArray):
        raise TypeError("slice: start must be a scalar; for one window per element use x[{axis: hax.dslice(start, n)}]")
    else:  # clamp explicitly: lax.dynamic_slice would wrap a negative start
        arr = lax.dynamic_slice_in_dim(array.array, jnp.clip(start, 0, n - m), m, axis=i)
    return NamedArray(arr, out_axes)


def _slice_dict(array: NamedArray, starts: Mapping[Any, Any], lengths: Mapping[Any, Any]) -> NamedArray:
    st: dict[int, Any] = {}
    for k, v in starts.items():
        st[locate_axis(array.axes, k, "slice", "start")] = v
    ln: dict[int, Any] = {}
    for k, v in lengths.items():
        ln[locate_axis(array.axes, k, "slice", "length")] = v
    for i in st:
        if i not in ln:
            raise ValueError(f"slice: no length given for started axis {array.axes[i].name}; lengths: {dict(lengths)}")
    new: dict[int, Axis] = {}
    all_static = True
    start_list: list[Any] = []
    for i, ax in enumerate(array.axes):
        s = st.get(i, 0)
        if i in ln:
            v = ln[i]
            new[i] = v if isinstance(v, Axis) else Axis(ax.name, int(v))
            m = new[i].size
        else:
            m = ax.size
        if m > ax.size:
            raise ValueError(f"slice: length {m} is larger than axis {ax}")
        if is_static_int(s):
            s = int(s)
            if s < 0 or s + m > ax.size:
                raise AxisIndexError(
                    f"slice: start {s} with length {m} is out of bounds for axis {ax} "
                    f"(valid starts: 0 to {ax.size - m})"
                )
        elif isinstance(s, NamedArray):
            raise TypeError(
                "slice: starts must be scalars; for one window per element use x[{axis: hax.dslice(start, n)}]"
            )
        else:
            all_static = False
            s = jnp.clip(s, 0, ax.size - m)  # clamp (lax.dynamic_slice would wrap a negative start)
        start_list.append(s)
    out_axes = _renamed(array.axes, new, "slice")
    sizes = [a.size for a in out_axes]
    if all_static:
        arr = lax.slice(array.array, start_list, [s + m for s, m in zip(start_list, sizes)])
    else:
        arr = lax.dynamic_slice(array.array, start_list, sizes)
    return NamedArray(arr, out_axes)


def updated_slice(array: NamedArray, start: Mapping[AxisSelector, Any], update: NamedArray) -> NamedArray:
    """Write ``update`` into ``array`` at the given starts (``lax.dynamic_update_slice``).

    Every axis of ``update`` must be in ``array`` (any order). An axis of ``array`` missing from ``update``
    is broadcast: size 1 if it has a start, else its full size. Static int starts must fit (ValueError);
    traced starts are clamped by XLA. If a start is a NamedArray (e.g. per-example lengths), the write is
    vmapped over its axes: one ("ragged") write per element.

    Examples:
        >>> import haliax as hax
        >>> B, S = hax.make_axes(B=2, S=4)
        >>> cache = hax.zeros((B, S), dtype=int)
        >>> hax.updated_slice(cache, {"S": 1}, hax.ones(hax.Axis("S", 2), dtype=int)).tolist()
        [[0, 1, 1, 0], [0, 1, 1, 0]]
        >>> lengths = hax.named([0, 2], B)
        >>> hax.updated_slice(cache, {"S": lengths}, hax.ones(hax.Axis("S", 1), dtype=int)).tolist()
        [[1, 0, 0, 0], [0, 0, 1, 0]]
    """
    fn = "updated_slice"
    if not isinstance(array, NamedArray) or not isinstance(update, NamedArray):
        raise TypeError(f"{fn}: array and update must be NamedArrays, got {type(array)} and {type(update)}")
    missing = [a.name for a in update.axes if lookup_axis(array.axes, a.name, fn, "update") is None]
    if missing:
        raise ValueError(f"{fn}: update has axes {missing} that are not in the original array with shape {array.shape}")
    st: dict[str, Any] = {}
    for k, v in start.items():
        st[array.axes[locate_axis(array.axes, k, fn, "start")].name] = v
    batch: list[Axis] = []
    for nm, v in st.items():
        integral = np.issubdtype(v.dtype, np.integer) if hasattr(v, "dtype") else is_static_int(v)
        if not isinstance(v, NamedArray) and not integral:
            raise TypeError(f"{fn}: argument 'start': the start for axis {nm} must be an integer, got {v!r}")
        if isinstance(v, NamedArray):
            if not jnp.issubdtype(v.dtype, jnp.integer):
                raise ValueError(f"{fn}: the start for axis {nm} must be an integer array, got dtype {v.dtype}")
            for a in v.axes:
                j = locate_axis(array.axes, a.name, fn, f"start[{nm!r}]")
                if a.name in st:
                    raise ValueError(f"{fn}: axis {a.name} has a start and is also a batch axis of another start")
                if array.axes[j].size != a.size:
                    sizes = {"array": array.axes[j].size, f"start[{nm!r}]": a.size}
                    raise conflicting_sizes_error(a.name, sizes, fn, "start")
                if a not in batch:
                    batch.append(a)

    def update_axis(name: str) -> Axis | None:
        k = lookup_axis(update.axes, name, fn, "update")
        return None if k is None else update.axes[k]

    inner = tuple(a for a in array.axes if a not in batch)
    region: list[Axis] = []
    for a in inner:
        u = update_axis(a.name)
        size = u.size if u is not None else (1 if a.name in st else a.size)
        if size > a.size:
            raise ValueError(f"{fn}: update axis {u} is larger than the array's axis {a}")
        s = st.get(a.name, 0)
        if is_static_int(s) and (int(s) < 0 or int(s) + size > a.size):
            raise ValueError(f"{fn}: start {int(s)} with update size {size} is out of bounds for axis {a}")
        region.append(Axis(a.name, size))
    for a in batch:
        u = update_axis(a.name)
        if u is not None and u.size != a.size:
            raise conflicting_sizes_error(a.name, {"array (a batch axis)": a.size, "update": u.size}, fn, "update")
    if explicit_out_sharding(array.axes, fn) is not None:  # an explicit mesh: the update runs on Auto axes
        named = explicit_auto_axes(lambda a, s, u: updated_slice(a, s, u), array.axes, fn)
        return named(array, dict(start), update)
    dtype = array.dtype
    upd_batch = tuple(a for a in batch if update_axis(a.name) is not None)
    upd_lay = upd_batch + tuple(region)
    u = align_to(update.array, update.axes, upd_lay)
    u = jnp.broadcast_to(u, tuple(a.size for a in upd_lay)).astype(dtype)
    static = {nm: v for nm, v in st.items() if not isinstance(v, NamedArray)}
    named_starts = {nm: v for nm, v in st.items() if isinstance(v, NamedArray)}

    def clamp(s: Any, a: Axis, size: int) -> Any:
        # lax.dynamic_update_slice would wrap a negative traced start: clamp it to [0, n - size]
        return s if is_static_int(s) else jnp.clip(s, 0, a.size - size)

    def write(arr: Any, upd: Any, dyn_starts: dict[str, Any]) -> Any:
        starts = [
            clamp(dyn_starts[a.name] if a.name in dyn_starts else static.get(a.name, 0), a, r.size)
            for a, r in zip(inner, region)
        ]
        return lax.dynamic_update_slice(arr, upd, starts)

    if not batch:
        return NamedArray(write(array.array, u, {}), array.axes)
    full = tuple(batch) + inner
    arr = align_to(array.array, array.axes, full)
    dyn = {
        nm: jnp.broadcast_to(align_to(v.array, v.axes, tuple(batch)), tuple(a.size for a in batch))
        for nm, v in named_starts.items()
    }
    f: Callable[..., Any] = write
    for a in reversed(batch):
        f = jax.vmap(f, in_axes=(0, 0 if update_axis(a.name) is not None else None, 0))
    out = f(arr, u, dyn)
    return NamedArray(align_to(out, full, array.axes), array.axes)


# --------------------------------------------------------------------------------------------------
# where / nonzero


def _is_plain_nonscalar(v: Any) -> bool:
    return not isinstance(v, NamedArray) and len(getattr(v, "shape", ())) > 0


def _where_axes(groups: tuple[tuple[Axis, ...], ...]) -> tuple[Axis, ...]:
    biggest = max(groups, key=lambda g: (int(np.prod([a.size for a in g])), len(g)))
    bset = set(biggest)
    for g in groups:
        if not set(g) <= bset:
            raise ValueError(
                f"where: Cannot broadcast {tuple(str(a) for a in g)} and {tuple(str(a) for a in biggest)}: no subset "
                "relationship. If you want to broadcast anyway, use the broadcast_axis function to explicitly add axes"
            )
    return biggest


def where(
    condition: Any,
    x: Any = None,
    y: Any = None,
    *,
    fill_value: Any = None,
    new_axis: Axis | None = None,
) -> Any:
    """Elementwise choice ``x if condition else y``, or (one argument) the indices where ``condition`` holds.

    Three arguments: ``condition``, ``x`` and ``y`` broadcast by name with the strict subset rule; the result
    follows the axis order of the argument with the most elements (ties: the earliest). Scalars are allowed
    anywhere; a Python bool or 0-d condition selects between the whole of ``x`` and ``y`` (broadcast together).

    One argument: ``where(condition, new_axis=Axis(...), fill_value=0)`` returns one index array per axis of
    ``condition``, each with axes ``(new_axis,)``, like ``jnp.where(condition, size=new_axis.size)``.

    Args:
        condition: a boolean NamedArray or scalar.
        x: the values where ``condition`` is True (omit for the one-argument form).
        y: the values where ``condition`` is False.
        fill_value: one-argument form: the index that pads the result when fewer entries are True.
        new_axis: one-argument form: the axis of the returned index arrays (its size is the number of indices).

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 4)
        >>> x = hax.arange(X)
        >>> hax.where(x > 1, x, -1).tolist()
        [-1, -1, 2, 3]
        >>> (i,) = hax.where(x > 1, new_axis=hax.Axis("N", 3), fill_value=-1)
        >>> i.tolist()
        [2, 3, -1]
    """
    if (x is None) != (y is None):
        raise ValueError("where: x and y must be given together or not at all (one-argument form)")
    if x is None:
        if new_axis is None or not isinstance(new_axis, Axis):
            raise ValueError("where: the one-argument form needs new_axis=Axis(name, size) (the number of results)")
        return _nonzero(condition, new_axis, fill_value, "where")
    if fill_value is not None or new_axis is not None:
        raise ValueError("where: fill_value and new_axis only apply to the one-argument form")
    args = (condition, x, y)
    for arg, v in zip(("condition", "x", "y"), args, strict=True):
        if not is_array_or_number(v):
            raise operand_type_error("where", arg, v)
    named = [a for a in args if isinstance(a, NamedArray)]
    if not named:
        return jnp.where(condition, x, y)
    if any(_is_plain_nonscalar(a) for a in args):
        if all(not a.axes for a in named):  # only 0-d NamedArrays: unwrap, plain result
            return jnp.where(*(a.array if isinstance(a, NamedArray) else a for a in args))
        shapes = [tuple(a.shape) for a in args if _is_plain_nonscalar(a)]
        raise ValueError(
            f"where: cannot combine NamedArrays with non-scalar plain arrays of shape {shapes}; name their axes"
        )
    out_axes = _where_axes(tuple(a.axes for a in named))
    raw = [align_to(a.array, a.axes, out_axes) if isinstance(a, NamedArray) else a for a in args]
    spec = explicit_out_sharding(out_axes, "where")  # an explicit mesh: the operands typed as the output
    if spec is not None:
        raw = [explicit_align(r, a.axes, out_axes, spec) if isinstance(a, NamedArray) else r for r, a in zip(raw, args)]
    return NamedArray(jnp.where(*raw), out_axes)


def _nonzero(array: Any, size: Axis, fill_value: Any, fn: str) -> tuple[NamedArray, ...]:
    if not isinstance(size, Axis):
        raise TypeError(f"{fn}: size must be an Axis (its name and the number of results), got {size!r}")
    raw = array.array if isinstance(array, NamedArray) else jnp.asarray(array)
    if raw.ndim == 0:
        raise ValueError(f"{fn}: needs an array with at least one axis")
    res = jnp.nonzero(raw, size=size.size, fill_value=fill_value)
    return tuple(NamedArray(r, (size,)) for r in res)


def nonzero(array: NamedArray, *, size: Axis, fill_value: Any = 0) -> tuple[NamedArray, ...]:
    """Indices of the non-zero elements: one index array per axis of ``array``, each with axes ``(size,)``.

    Like ``jnp.nonzero(array, size=size.size, fill_value=fill_value)``: results past the number of non-zero
    elements are ``fill_value``.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 4)
        >>> (i,) = hax.nonzero(hax.named([0, 3, 0, 1], X), size=hax.Axis("N", 3))
        >>> i.tolist()
        [1, 3, 0]
    """
    return _nonzero(array, size, fill_value, "nonzero")
