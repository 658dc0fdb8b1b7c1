"""Shape operations by name: ``rearrange`` (sequence and einops-style string forms), flattening and
unflattening axes, ``split``/``concatenate``/``stack``/``unbind``, ``rename``, ``roll``, padding, ``repeat``
and ``tile``.

Plans (what to reshape, transpose and reshape again) are computed from the expression and the axes tuple
and cached, so repeated calls and re-tracing only pay a dictionary lookup. A rearrange that is a pure
transpose lowers to one ``transpose``; a split or merge to ``reshape`` (+ ``transpose``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..axis import (
    Axis,
    AxisSelection,
    AxisSelector,
    AxisSpec,
    axes_str,
    axis_spec_to_tuple,
    conflicting_sizes_error,
    locate_axes,
    locate_axis,
    lookup_axis,
    to_selectors,
)
from ..core import NamedArray
from ..partitioning import (
    auto_sharded,
    explicit_auto_axes,
    explicit_common,
    explicit_out_sharding,
    explicit_reshard,
    explicit_unshard_dims,
)
from ._parse import normalize_bindings
from ._rearrange import sequence_plan, string_plan
from .broadcast import align_to

__all__ = [
    "rearrange",
    "concatenate",
    "stack",
    "split",
    "unbind",
    "flatten_axes",
    "unflatten_axis",
    "ravel",
    "flatten",
    "rename",
    "roll",
    "pad",
    "pad_left",
    "repeat",
    "tile",
]


def _check_named(fn: str, array: Any, arg: str = "array") -> NamedArray:
    if not isinstance(array, NamedArray):
        raise TypeError(f"{fn}: argument {arg!r} must be a NamedArray, got {type(array).__name__}")
    return array


def rearrange(array: NamedArray, *args: Any, **bindings: Any) -> NamedArray:
    """Reorder, split and merge axes.

    Two forms:

    * **Sequence**: ``rearrange(x, ("B", ..., "H"))`` — axis selectors and any number of ``...``, exactly
      `haliax.axis.rearrange_for_partial_order` of the sequence over ``x.axes`` followed by a transpose (each
      ``...`` stands for some of the remaining axes, in their current order). Without ``...`` every axis must
      be named. Several positional selectors are also accepted: ``rearrange(x, "B", ..., "H")``. Errors name
      ``rearrange`` and the argument ``axes``; an Axis entry of the wrong size raises
      `haliax.axis.AxisSizeMismatchError` (Haliax ignores the size).
    * **String** (einops-like): ``rearrange(x, "b (h d) -> b h d", h=8)``.
        * An ordered lhs binds identifiers to axes by position (one ``...`` binds from both ends). An
          identifier bound to a whole axis is an alias: on the rhs it yields the **original** axis. A group
          ``(p q)`` splits an axis (C order, ``p`` most significant) into new axes named ``p`` and ``q``; a
          ``N:`` label in an ordered group is accepted and ignored. ``()`` squeezes a size-1 axis.
        * An unordered lhs ``{...}`` names axes by name (or through a string/Axis binding); ``(N: a b)``
          splits the axis that ``N`` (or the name of ``N``'s binding) names; axes not mentioned keep their
          names; ``...`` is optional and ignored.
        * The rhs is ordered; ``(N: a b)`` merges into one axis (anonymous groups are an error) whose size is
          the product of its parts. It is named after the axis ``N`` stands for on the lhs, else after
          ``N``'s str or Axis binding, else ``N``. ``(new:)`` adds a size-1 axis. Several ``...`` may appear
          (unmentioned axes are placed by `haliax.axis.rearrange_for_partial_order`); without ``...`` every
          intermediate axis must be used.
        * Bindings (``name=int | str | Axis``) apply wherever the identifier occurs: an int gives a split
          size; a str gives a name (and, when it names an axis of the array, that axis's size); an Axis gives
          both. The binding of an unordered group's label only selects the axis, so ``"{(H: p H)}"`` with
          ``H=2`` splits ``H`` into ``p`` and a new ``H`` of size 2. At most one unknown size per group.
          Bindings whose name appears nowhere are ignored, as in Haliax.
        * Where Haliax silently ignores a size it raises here: an int or Axis binding for a merge label
          whose size is not the product of the parts, a sized binding for an unordered group's label that is
          not also one of its pieces and disagrees with the axis it selects, and split sizes that are all
          given and multiply to less than the axis (Haliax fails later with a reshape ``TypeError``).
        * Identifiers are letters, digits and underscores (not starting with a digit) or quoted strings;
          commas are separators. Errors are ``ValueError`` with the expression and a caret under the problem.

    The result is passed through `haliax.partitioning.auto_sharded`.

    Examples:
        >>> import haliax as hax
        >>> B, E, S = hax.make_axes(B=2, E=6, S=3)
        >>> x = hax.zeros((B, S, E))
        >>> [a.name for a in hax.rearrange(x, ("E", ...)).axes]
        ['E', 'B', 'S']
        >>> y = hax.rearrange(x, "b s (h d) -> b h s d", h=2)
        >>> [str(a) for a in y.axes]
        ['B(2)', 'h(2)', 'S(3)', 'd(3)']
        >>> [str(a) for a in hax.rearrange(y, "{h d} -> ... (E: h d)").axes]
        ['B(2)', 'S(3)', 'E(6)']
    """
    _check_named("rearrange", array)
    if not args:
        raise TypeError("rearrange: expected an axis sequence or an expression string after the array")
    if len(args) == 1 and isinstance(args[0], str):
        plan = string_plan(args[0], array.axes, normalize_bindings("rearrange", bindings) if bindings else ())
    else:
        if bindings:
            raise TypeError(f"rearrange: keyword bindings {sorted(bindings)} are only allowed with a string expression")
        order = args[0] if len(args) == 1 else args
        plan = sequence_plan(to_selectors(order, "rearrange", "axes"), array.axes)
    if plan.out_axes == array.axes and plan.perm is None and plan.out_shape is None:
        return array
    reshapes = plan.split_shape is not None or plan.out_shape is not None
    if reshapes and explicit_out_sharding(plan.out_axes, "rearrange") is not None:
        # an explicit mesh: the split/merge reshapes run on Auto axes, the result is typed by its names
        run = explicit_auto_axes(lambda a: NamedArray(plan.apply(a.array), plan.out_axes), plan.out_axes, "rearrange")
        return run(array)
    return auto_sharded(NamedArray(plan.apply(array.array), plan.out_axes))


# --------------------------------------------------------------------------------------------------
# joining and splitting


def _axis_name(fn: str, axis: Any, arg: str = "axis") -> str:
    if isinstance(axis, Axis):
        return axis.name
    if isinstance(axis, str):
        return axis
    raise TypeError(f"{fn}: argument {arg!r} must be an axis name or an Axis, got {axis!r}")


def _array_list(fn: str, arrays: Any) -> list[Any]:
    """``arrays`` as a list; a single NamedArray or a non-sequence is a ``TypeError`` naming ``fn``."""
    if isinstance(arrays, NamedArray) or not isinstance(arrays, Iterable) or isinstance(arrays, (str, Mapping)):
        got = f"a NamedArray with axes {axes_str(arrays.axes)}" if isinstance(arrays, NamedArray) else repr(arrays)
        raise TypeError(
            f"{fn}: argument 'arrays' must be a sequence of NamedArrays, got {got}; pass a list, e.g. "
            f"hax.{fn}(axis, [a, b])"
        )
    return list(arrays)


def _same_axes(fn: str, arrays: Sequence[Any], template: tuple[Axis, ...], axis: str | None) -> list[Any]:
    """Raw arrays of ``arrays`` transposed to ``template``'s order (sizes along ``axis`` may differ)."""
    raws = []
    for i, a in enumerate(arrays):
        _check_named(fn, a, f"arrays[{i}]")
        target = template
        if axis is not None:
            j = locate_axis(a.axes, axis, fn, f"arrays[{i}]")
            target = tuple(a.axes[j] if ax.name == axis else ax for ax in template)
        if set(target) != set(a.axes):
            but = f" (apart from the size of {axis})" if axis is not None else ""
            raise ValueError(
                f"{fn}: arrays[{i}] has axes {axes_str(a.axes)}, which differ from arrays[0]'s {axes_str(template)}{but}"
            )
        raws.append(align_to(a.array, a.axes, target))
    return raws


def concatenate(axis: AxisSelector, arrays: Sequence[NamedArray]) -> NamedArray:
    """Join arrays along an existing axis.

    The arrays may order their axes differently (they are transposed to the first one's order) and may
    have different sizes along ``axis``. The result has the first array's axes with ``axis`` resized to the
    total; if ``axis`` is an Axis its size must equal that total.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> a, b = hax.zeros((X, Y)), hax.ones((Y, X.resize(4)))
        >>> [str(ax) for ax in hax.concatenate("X", [a, b]).axes]
        ['X(6)', 'Y(3)']
    """
    name = _axis_name("concatenate", axis)
    arrays = _array_list("concatenate", arrays)
    if not arrays:
        raise ValueError("concatenate: argument 'arrays' is empty; need at least one array")
    first = _check_named("concatenate", arrays[0], "arrays[0]")
    pos = locate_axis(first.axes, name, "concatenate", "arrays[0]")
    raws = _same_axes("concatenate", arrays, first.axes, name)
    total = sum(r.shape[pos] for r in raws)
    if isinstance(axis, Axis) and axis.size != total:
        raise conflicting_sizes_error(name, {"axis": axis.size, "the arrays' total": total}, "concatenate", "axis")
    out_axes = first.axes[:pos] + (Axis(name, total),) + first.axes[pos + 1 :]
    if len(raws) == 1:
        return NamedArray(raws[0], out_axes)
    common = explicit_common(raws, first.axes, "concatenate", free=(pos,))  # an explicit mesh: alike shardings
    out = jnp.concatenate(common, axis=pos)
    if common is not raws:
        out = explicit_reshard(out, explicit_out_sharding(out_axes, "concatenate"))
    return NamedArray(out, out_axes)


def stack(axis: AxisSelector, arrays: Sequence[NamedArray]) -> NamedArray:
    """Stack arrays along a new axis, placed **first**.

    A string ``axis`` gets size ``len(arrays)``; an Axis must have that size. The arrays must have the same
    axes (in any order); they are transposed to the first one's order.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> s = hax.stack("L", [hax.zeros((X, Y)), hax.ones((Y, X))])
        >>> [str(ax) for ax in s.axes]
        ['L(2)', 'X(2)', 'Y(3)']
    """
    name = _axis_name("stack", axis)
    arrays = _array_list("stack", arrays)
    if not arrays:
        raise ValueError("stack: argument 'arrays' is empty; need at least one array")
    if isinstance(axis, Axis) and axis.size != len(arrays):
        raise conflicting_sizes_error(name, {"axis": axis.size, "the number of arrays": len(arrays)}, "stack", "axis")
    first = _check_named("stack", arrays[0], "arrays[0]")
    if lookup_axis(first.axes, name, "stack", "arrays[0]") is not None:
        raise ValueError(f"stack: axis {name} is already present in the arrays {axes_str(first.axes)}")
    raws = explicit_common(_same_axes("stack", arrays, first.axes, None), first.axes, "stack")  # explicit meshes
    return NamedArray(jnp.stack(raws, axis=0), (Axis(name, len(arrays)),) + first.axes)


def split(a: NamedArray, axis: AxisSelector, new_axes: Sequence[Axis]) -> list[NamedArray]:
    """Split one axis into consecutive pieces; piece ``i`` has the axis replaced by ``new_axes[i]``.

    The pieces' names may differ. The sizes must add up to the axis size. Haliax checks this only when ``axis``
    is an Axis (a mismatch fails later anyway); we check it for a name too, so the error names `split`.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=5, Y=2)
        >>> p, q = hax.split(hax.zeros((X, Y)), "X", [hax.Axis("A", 2), hax.Axis("B", 3)])
        >>> [str(ax) for ax in q.axes]
        ['B(3)', 'Y(2)']
    """
    _check_named("split", a, "a")
    (i,) = locate_axes(a.axes, axis, "split")
    if isinstance(new_axes, Axis) or not isinstance(new_axes, Iterable) or isinstance(new_axes, (str, Mapping)):
        raise TypeError(
            f"split: argument 'new_axes' must be a sequence of Axis objects whose sizes add up to {a.axes[i]}, got "
            f"{new_axes!r} (e.g. [{a.axes[i].name}.resize(k), {a.axes[i].name}.resize({a.axes[i].size} - k)])"
        )
    new_axes = list(new_axes)
    for ax in new_axes:
        if not isinstance(ax, Axis):
            raise TypeError(f"split: argument 'new_axes' must hold Axis objects (sizes are needed), got {ax!r}")
    total = sum(ax.size for ax in new_axes)
    if total != a.axes[i].size:
        raise ValueError(
            f"split: the sizes of new_axes {[str(x) for x in new_axes]} add up to {total}, but axis {a.axes[i]} "
            f"of {axes_str(a.axes)} has size {a.axes[i].size}"
        )
    cuts = [sum(ax.size for ax in new_axes[:k]) for k in range(1, len(new_axes))]
    pieces = jnp.split(a.array, cuts, axis=i)
    return [NamedArray(p, a.axes[:i] + (ax,) + a.axes[i + 1 :]) for p, ax in zip(pieces, new_axes, strict=True)]


def unbind(array: NamedArray, axis: AxisSelector) -> list[NamedArray]:
    """The slices along ``axis``, as a list of arrays without it.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> parts = hax.unbind(hax.arange((X, Y)), "Y")
        >>> len(parts), [ax.name for ax in parts[0].axes], parts[2].tolist()
        (3, ['X'], [2, 5])
    """
    _check_named("unbind", array)
    (i,) = locate_axes(array.axes, axis, "unbind")
    rest = array.axes[:i] + array.axes[i + 1 :]
    raw = explicit_unshard_dims(array.array, (i,))  # an explicit mesh: JAX unstacks an unsharded dim only
    return [NamedArray(x, rest) for x in jnp.unstack(raw, axis=i)]


# --------------------------------------------------------------------------------------------------
# flattening


def _merged_axis(fn: str, new_axis: AxisSelector, size: int) -> Axis:
    if isinstance(new_axis, Axis):
        if new_axis.size != size:
            raise conflicting_sizes_error(
                new_axis.name, {"new_axis": new_axis.size, "the merged axes": size}, fn, "new_axis"
            )
        return new_axis
    return Axis(_axis_name(fn, new_axis, "new_axis"), size)


def _flatten_spec(spec: Any, old_axes: Any, new_axis: Any) -> Any:
    axes = axis_spec_to_tuple(spec)
    if new_axis is None:  # flatten_axes(spec, new_name): everything into one Axis
        return _merged_axis("flatten_axes", old_axes, math.prod(a.size for a in axes))
    idx = locate_axes(axes, old_axes, "flatten_axes", "old_axes")
    merged = _merged_axis("flatten_axes", new_axis, math.prod(axes[i].size for i in idx))
    if not idx:
        out = (merged,) + axes
    else:
        first = min(idx)
        out = tuple(merged if k == first else a for k, a in enumerate(axes) if k == first or k not in idx)
    return {a.name: a.size for a in out} if isinstance(spec, Mapping) else out


def flatten_axes(array: Any, old_axes: Any, new_axis: AxisSelector | None = None) -> Any:
    """Merge several axes into one.

    The merged axis goes where the first of ``old_axes`` sits in the array's current order; elements are
    ordered (C order) as ``old_axes`` are listed, so the array is transposed when needed. ``new_axis`` is a
    name or an Axis (whose size must equal the product). Empty ``old_axes`` prepend a size-1 axis.

    Also works on axis specs: ``flatten_axes(spec, old_axes, new_axis)`` returns the new spec (a tuple, or a
    dict for a dict), and ``flatten_axes(spec, new_name)`` returns the single merged Axis.

    Examples:
        >>> import haliax as hax
        >>> B, S, E = hax.make_axes(B=2, S=3, E=4)
        >>> x = hax.zeros((B, S, E))
        >>> [str(ax) for ax in hax.flatten_axes(x, ("S", "B"), "tok").axes]
        ['tok(6)', 'E(4)']
        >>> hax.flatten_axes((B, S), "BS")
        Axis(name='BS', size=6)
    """
    if not isinstance(array, NamedArray):
        return _flatten_spec(array, old_axes, new_axis)
    if new_axis is None:
        raise TypeError("flatten_axes: flatten_axes(array, old_axes, new_axis) needs new_axis (or use ravel)")
    idx = locate_axes(array.axes, old_axes, "flatten_axes", "old_axes")
    if len(set(idx)) != len(idx):
        raise ValueError(f"flatten_axes: old_axes {old_axes} names an axis more than once")
    axes = array.axes
    merged = _merged_axis("flatten_axes", new_axis, math.prod(axes[i].size for i in idx))
    if not idx:
        return NamedArray(jnp.expand_dims(array.array, 0), (merged,) + axes)
    first = min(idx)
    before = [k for k in range(len(axes)) if k < first and k not in idx]
    after = [k for k in range(len(axes)) if k > first and k not in idx]
    perm = before + list(idx) + after
    x = array.array
    if perm != list(range(len(axes))):
        x = jnp.transpose(x, perm)
    out_axes = tuple(axes[k] for k in before) + (merged,) + tuple(axes[k] for k in after)
    sharding = explicit_out_sharding(out_axes, "flatten_axes")  # None unless the mesh is explicit
    return NamedArray(jnp.reshape(x, tuple(a.size for a in out_axes), out_sharding=sharding), out_axes)


def unflatten_axis(array: NamedArray, axis: AxisSelector, new_axes: AxisSpec) -> NamedArray:
    """Split one axis, in place, into ``new_axes`` (C order; the product of sizes must match).

    Empty ``new_axes`` squeeze a size-1 axis.

    Examples:
        >>> import haliax as hax
        >>> B, E = hax.make_axes(B=2, E=6)
        >>> H, D = hax.make_axes(H=2, D=3)
        >>> [str(ax) for ax in hax.unflatten_axis(hax.zeros((B, E)), "E", (H, D)).axes]
        ['B(2)', 'H(2)', 'D(3)']
    """
    _check_named("unflatten_axis", array)
    (i,) = locate_axes(array.axes, axis, "unflatten_axis")
    try:
        new = axis_spec_to_tuple(new_axes)
    except TypeError as e:
        raise TypeError(f"unflatten_axis: argument 'new_axes': {e}") from None
    size = math.prod(a.size for a in new)
    if size != array.axes[i].size:
        raise ValueError(
            f"unflatten_axis: new_axes {[str(a) for a in new]} have total size {size}, but axis {array.axes[i]} "
            f"of {axes_str(array.axes)} has size {array.axes[i].size}"
        )
    out_axes = array.axes[:i] + new + array.axes[i + 1 :]
    sharding = explicit_out_sharding(out_axes, "unflatten_axis")  # None unless the mesh is explicit
    return NamedArray(jnp.reshape(array.array, tuple(a.size for a in out_axes), out_sharding=sharding), out_axes)


def ravel(array: NamedArray, new_name: AxisSelector) -> NamedArray:
    """All axes into one axis called ``new_name`` (C order of the current axes).

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.ravel(hax.arange((X, Y)), "XY").axes
        (Axis(name='XY', size=6),)
    """
    _check_named("ravel", array)
    return flatten_axes(array, array.axes, new_name)


def flatten(array: NamedArray, new_name: AxisSelector) -> NamedArray:
    """Same as `ravel`.

    Examples:
        >>> import haliax as hax
        >>> hax.flatten(hax.zeros(hax.make_axes(X=2, Y=3)), "flat").shape
        {'flat': 6}
    """
    _check_named("flatten", array)
    return flatten_axes(array, array.axes, new_name)


# --------------------------------------------------------------------------------------------------
# renaming, rolling, padding, repeating


def rename(array: NamedArray, renames: Mapping[AxisSelector, AxisSelector]) -> NamedArray:
    """Rename axes: ``renames`` maps old (name or Axis) to new (name or Axis, whose size must match).

    All renames happen at once, so ``{"X": "Y", "Y": "X"}`` swaps two names.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.rename(hax.zeros((X, Y)), {"X": "batch"}).shape
        {'batch': 2, 'Y': 3}
    """
    _check_named("rename", array)
    if not isinstance(renames, Mapping):
        raise TypeError(f"rename: argument 'renames' must be a mapping {{old: new}}, got {type(renames).__name__}")
    axes = list(array.axes)
    done: set[int] = set()
    for old, new in renames.items():
        (i,) = locate_axes(array.axes, old, "rename", "renames")
        if i in done:
            raise ValueError(f"rename: axis {array.axes[i].name} is renamed more than once in {dict(renames)}")
        done.add(i)
        if isinstance(new, Axis):
            if new.size != array.axes[i].size:
                raise ValueError(f"rename: cannot rename {array.axes[i]} to {new}: the sizes differ")
            axes[i] = new
        else:
            axes[i] = Axis(_axis_name("rename", new, "renames"), array.axes[i].size)
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise ValueError(f"rename: the result would have duplicate axis names: {names}")
    return NamedArray(array.array, tuple(axes))


def roll(array: NamedArray, shift: Any, axis: AxisSelection) -> NamedArray:
    """Roll elements along one or more axes (like `jax.numpy.roll`).

    ``shift`` is an int, a tuple of ints (one per axis), or a NamedArray: a 0-d one acts as a scalar; one
    with axes (a subset of the array's other axes) rolls each slice by its own amount along a single axis.
    Every other NamedArray shift with axes is a `TypeError`, as in Haliax (which rejects any NamedArray
    shift with axes, "shift must be a scalar NamedArray"; the per-slice shift is our extension).

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 4)
        >>> hax.roll(hax.arange(X), 1, "X").tolist()
        [3, 0, 1, 2]
    """
    _check_named("roll", array)
    idx = locate_axes(array.axes, axis, "roll")
    if isinstance(shift, NamedArray) and shift.axes:
        if len(idx) != 1:
            raise TypeError(
                f"roll: shift must be a scalar NamedArray when rolling along several axes, got shift axes "
                f"{axes_str(shift.axes)}"
            )
        (i,) = idx
        for ax in shift.axes:
            j = lookup_axis(array.axes, ax.name, "roll", "shift")
            if j is None or j == i:
                raise TypeError(
                    f"roll: shift must be a scalar NamedArray, or have only axes of the array "
                    f"{axes_str(array.axes)} other than the rolled axis {array.axes[i]}; got shift axes "
                    f"{axes_str(shift.axes)}"
                )
            if array.axes[j].size != ax.size:
                raise TypeError(
                    f"roll: shift must be a scalar NamedArray, or match the array's axes: axis {ax.name} has "
                    f"conflicting sizes: {array.axes[j].size} (array), {ax.size} (shift)"
                )
        n = array.axes[i].size
        s = align_to(shift.array, shift.axes, array.axes)
        pos = jnp.reshape(jnp.arange(n), tuple(n if k == i else 1 for k in range(len(array.axes))))
        gather = jnp.broadcast_to(jnp.mod(pos - s, n), tuple(a.size for a in array.axes))
        raw = explicit_unshard_dims(array.array, [i])  # an explicit mesh: JAX gathers along unsharded dims only
        out = jnp.take_along_axis(raw, gather, axis=i)
        if raw is not array.array:
            out = explicit_reshard(out, explicit_out_sharding(array.axes, "roll"))
        return NamedArray(out, array.axes)
    if isinstance(shift, NamedArray):
        shift = shift.array
    for s in shift if isinstance(shift, (tuple, list)) else (shift,):
        dtype = getattr(s, "dtype", None)
        integral = np.issubdtype(dtype, np.integer) if dtype is not None else isinstance(s, int)
        if isinstance(s, bool) or not integral:
            raise TypeError(f"roll: argument 'shift' must be an int (or integer array), got {s!r}")
    raw = explicit_unshard_dims(array.array, idx)  # an explicit mesh: JAX rolls along unsharded dims only
    out = jnp.roll(raw, shift, axis=idx)
    if raw is not array.array:
        out = explicit_reshard(out, explicit_out_sharding(array.axes, "roll"))
    return NamedArray(out, array.axes)


def pad(
    array: NamedArray,
    pad_width: Mapping[AxisSelector, int | tuple[int, int]],
    *,
    mode: str = "constant",
    constant_values: Any = 0,
    **kwargs: Any,
) -> NamedArray:
    """Pad named axes (like `jax.numpy.pad`): ``pad_width`` maps an axis to ``(before, after)`` or an int for
    both sides. Padded axes keep their names and grow; other axes are untouched. ``constant_values`` is used
    with ``mode="constant"``; other keyword arguments go to `jax.numpy.pad`.

    Args:
        array: the array to pad.
        pad_width: a mapping from axes to ``(before, after)`` or to one int for both sides.
        mode: the padding mode (as in `jax.numpy.pad`).
        constant_values: the fill value for ``mode="constant"``.
        **kwargs: further options of `jax.numpy.pad`.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 3)
        >>> hax.pad(hax.arange(X), {"X": (1, 2)}, constant_values=-1).tolist()
        [-1, 0, 1, 2, -1, -1]
    """
    _check_named("pad", array)
    if not isinstance(pad_width, Mapping):
        raise TypeError(f"pad: argument 'pad_width' must be a mapping {{axis: (before, after)}}, got {pad_width!r}")
    widths = [(0, 0)] * len(array.axes)
    for ax, w in pad_width.items():
        (i,) = locate_axes(array.axes, ax, "pad", "pad_width")
        pair = (w, w) if isinstance(w, int) else tuple(w)
        if len(pair) != 2 or any(not isinstance(p, int) or p < 0 for p in pair):
            raise ValueError(
                f"pad: width for axis {array.axes[i].name} must be an int or (before, after) >= 0, got {w!r}"
            )
        widths[i] = pair  # type: ignore[assignment]
    if mode == "constant":
        kwargs["constant_values"] = (
            constant_values.array if isinstance(constant_values, NamedArray) else constant_values
        )
    padded = [k for k, w in enumerate(widths) if tuple(w) != (0, 0)]
    raw = explicit_unshard_dims(array.array, padded)  # an explicit mesh: JAX pads unsharded dims only
    out = jnp.pad(raw, widths, mode=mode, **kwargs)
    out_axes = tuple(Axis(a.name, n) for a, n in zip(array.axes, out.shape, strict=True))
    if raw is not array.array:
        out = explicit_reshard(out, explicit_out_sharding(out_axes, "pad"))
    return NamedArray(out, out_axes)


def pad_left(array: NamedArray, axis: AxisSelector, new_axis: Axis, value: Any = 0) -> NamedArray:
    """Pad ``axis`` on the left with ``value`` until it has ``new_axis``'s size; it becomes ``new_axis``.

    ``axis`` may be a name or an Axis. Haliax raises ``AttributeError`` for a name; we look it up.

    Args:
        array: the array to pad.
        axis: the axis to pad (a name or an Axis).
        new_axis: the resulting axis; at least as long as ``axis``.
        value: the fill value.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> y = hax.pad_left(hax.arange(X, start=1), "X", hax.Axis("P", 4))
        >>> y.axes, y.tolist()
        ((Axis(name='P', size=4),), [0, 0, 1, 2])
    """
    _check_named("pad_left", array)
    if not isinstance(new_axis, Axis):
        raise TypeError(f"pad_left: argument 'new_axis' must be an Axis (a size is needed), got {new_axis!r}")
    (i,) = locate_axes(array.axes, axis, "pad_left")
    amount = new_axis.size - array.axes[i].size
    if amount < 0:
        raise ValueError(f"pad_left: cannot pad axis {array.axes[i]} to the smaller {new_axis}")
    widths = [(amount, 0) if k == i else (0, 0) for k in range(len(array.axes))]
    out = jnp.pad(array.array, widths, constant_values=value)
    return NamedArray(out, array.axes[:i] + (new_axis,) + array.axes[i + 1 :])


def repeat(a: NamedArray, repeats: Any, axis: AxisSelector, total_repeat_length: int | None = None) -> NamedArray:
    """Repeat elements along ``axis`` (like `jax.numpy.repeat`); the axis keeps its name and grows.

    ``repeats`` is an int or a 1-D array (plain or a NamedArray over ``axis``); pass ``total_repeat_length``
    when the repeats are traced.

    Args:
        a: the array.
        repeats: the number of repetitions: an int, or one per element (a 1-D plain array or a NamedArray over
            ``axis``).
        axis: the axis along which to repeat.
        total_repeat_length: the resulting axis size; needed when ``repeats`` is traced.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> hax.repeat(hax.arange(X), 2, "X").tolist()
        [0, 0, 1, 1]
    """
    _check_named("repeat", a, "a")
    (i,) = locate_axes(a.axes, axis, "repeat")
    if isinstance(repeats, NamedArray):
        if repeats.axes not in ((), (a.axes[i],)):
            raise ValueError(
                f"repeat: NamedArray repeats must be 0-d or have exactly axis {a.axes[i]}, got {repeats.axes}"
            )
        repeats = repeats.array
    if not isinstance(repeats, Tracer):  # concrete: jnp.repeat drops elements for negative counts
        counts = np.asarray(repeats)
        if counts.dtype.kind not in "iub":
            raise TypeError(f"repeat: argument 'repeats' must be an int or integer array, got dtype {counts.dtype}")
        if (counts < 0).any():
            raise ValueError(f"repeat: argument 'repeats' must be non-negative, got {counts.tolist()}")
    out = jnp.repeat(a.array, repeats, axis=i, total_repeat_length=total_repeat_length)
    return NamedArray(out, a.axes[:i] + (Axis(a.axes[i].name, out.shape[i]),) + a.axes[i + 1 :])


def tile(a: NamedArray, reps: Mapping[AxisSelector, int]) -> NamedArray:
    """Tile along named axes (like `jax.numpy.tile`): ``reps`` maps an axis to its repetition count.

    Existing axes grow; unknown names become new **leading** axes of size ``reps`` (in ``reps`` order).

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> t = hax.tile(hax.arange(X), {"X": 2, "C": 3})
        >>> [str(ax) for ax in t.axes], t.tolist()[0]
        (['C(3)', 'X(4)'], [0, 1, 0, 1])
    """
    _check_named("tile", a, "a")
    if not isinstance(reps, Mapping):
        raise TypeError(f"tile: argument 'reps' must be a mapping {{axis: count}}, got {reps!r}")
    per = [1] * len(a.axes)
    new: list[Axis] = []
    for key, r in reps.items():
        name = _axis_name("tile", key, "reps")
        if not isinstance(r, int) or r < 0:
            raise ValueError(f"tile: repetition count for axis {name} must be a non-negative int, got {r!r}")
        i = lookup_axis(a.axes, key, "tile", "reps")  # an Axis key of another size raises
        if i is None:
            if isinstance(key, Axis) and key.size != r:
                raise conflicting_sizes_error(
                    name, {"the Axis key": key.size, "its repetition count": r}, "tile", "reps"
                )
            new.append(Axis(name, r))
        else:
            per[i] = r
    out = jnp.tile(a.array, tuple(x.size for x in new) + tuple(per))
    return NamedArray(out, tuple(new) + tuple(Axis(x.name, x.size * p) for x, p in zip(a.axes, per, strict=True)))
