"""Higher-order functions over named axes: `vmap`, `scan`, `fold` and `map`.

NamedArrays are mapped/scanned over an axis *by name*, wherever the axis sits; plain arrays follow
positional rules (dim 0 by default); every other value is passed through unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeGuard, cast

import jax
import jax.numpy as jnp
import numpy as np

from .axis import (
    Axis,
    AxisSelection,
    AxisSelector,
    axes_str,
    axis_not_found_error,
    closest_name,
    conflicting_sizes_error,
    lookup_axis,
    to_selectors,
)
from .checkpoint_policy import ScanCheckpointPolicy, ScanCheckpointSpec
from .core import NamedArray, is_named_array
from .jax_utils import prefix_leaves, tree_checkpoint_name
from .partitioning import current_thread_local_mapping
from .util import is_jax_or_hax_array_like, safe_update_wrapper

__all__ = ["vmap", "scan", "fold", "map", "ScanCheckpointPolicy"]


class _ArrayLike(Protocol):
    shape: tuple[int, ...]
    dtype: Any


def _is_array(x: Any) -> TypeGuard[_ArrayLike]:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, NamedArray)


def _default_spec(x: Any) -> int | None:
    """The default `vmap` spec: map plain arrays along dim 0, pass everything else through."""
    return 0 if _is_array(x) else None


def _axis_name(axis: AxisSelector) -> str:
    return axis.name if isinstance(axis, Axis) else axis


def _several_axes(axis: Any) -> tuple[AxisSelector, ...] | None:
    if isinstance(axis, (Axis, str)):
        return None
    if not isinstance(axis, (Mapping, Sequence)):
        raise TypeError(f"vmap: argument 'axis': expected an Axis, an axis name, or several of them, got {axis!r}")
    return to_selectors(axis, "vmap", "axis")


def _check_callable(f: Any, fn: str, arg: str) -> None:
    if not callable(f):
        raise TypeError(f"{fn}: argument {arg!r} must be a function, got {f!r} of type {type(f).__name__}")


def _check_axis(axis: Any, fn: str) -> None:
    if not isinstance(axis, (Axis, str)):
        raise TypeError(
            f"{fn}: argument 'axis': expected an axis name or an Axis, got {axis!r} of type {type(axis).__name__}"
        )


def _name_only_error(name: str, leaves: Iterable[Any], fn: str, what: str, verb: str) -> ValueError:
    """The error for an axis given by name whose size nothing provides: a typo of an axis some argument has is
    reported as "axis not found ... Did you mean", anything else asks for an Axis with a size."""
    present: dict[str, Axis] = {}
    for leaf in leaves:
        if isinstance(leaf, NamedArray):
            for ax in leaf.axes:
                present.setdefault(ax.name, ax)
    tail = f"axis {name!r} was given by name only, but no {what} is {verb} over it; pass an Axis with a size"
    if name in present:  # present, but its inputs were excluded (is_scanned / is_mapped)
        return ValueError(f"{fn}: argument 'axis': {tail} (the {what}s with axis {name} are not {verb})")
    if closest_name(name, list(present)) is not None:
        found = axis_not_found_error(name, tuple(present.values()), fn, "axis")
        return ValueError(f"{found} ({tail})")
    if present:
        tail += f" (the {what}s have axes {axes_str(tuple(present.values()))})"
    return ValueError(f"{fn}: argument 'axis': {tail}")


# --------------------------------------------------------------------------------------------------
# argument paths (for error messages)


def _param_names(fn: Any) -> tuple[list[str], str | None]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return [], None
    pos: list[str] = []
    var: str | None = None
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            pos.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            var = p.name
    return pos, var


def _path_str(path: tuple[Any, ...], fn: Any, offset: int) -> str:
    """Render a flatten-with-path key of ``(args, kwargs)`` as ``param.attr[...]``."""
    if len(path) < 2:
        return jax.tree_util.keystr(path)
    which, key, rest = path[0], path[1], path[2:]
    if getattr(which, "idx", 0) == 1:
        head = str(getattr(key, "key", key))
    else:
        i = key.idx
        pos, var = _param_names(fn)
        j = i + offset
        if j < len(pos):
            head = pos[j]
        elif var is not None:
            head = f"{var}[{j - len(pos)}]"
        else:
            head = f"args[{i}]"
    return head + jax.tree_util.keystr(tuple(rest))


# --------------------------------------------------------------------------------------------------
# output packing: arrays go through the JAX transformation, everything else is static


def _fill(plan: Sequence[tuple[str, Any]], arrays: Iterable[Any], lead: tuple[Axis, ...] = ()) -> list[Any]:
    """Leaves from a plan of ``("named", axes)``, ``("array", None)`` and ``("static", value)`` entries: the first two
    take the next of ``arrays`` (a NamedArray gets the axes ``lead + axes``), a static entry is its value."""
    it = iter(arrays)
    leaves = []
    for kind, data in plan:
        if kind == "named":
            leaves.append(NamedArray(next(it), lead + data))
        elif kind == "array":
            leaves.append(next(it))
        else:
            leaves.append(data)
    return leaves


class _OutBox:
    """Records the static part of a traced function's output."""

    def __init__(self) -> None:
        self.treedef: Any = None
        self.info: list[Any] = []

    def pack(self, out: Any) -> list[Any]:
        leaves, self.treedef = jax.tree_util.tree_flatten(out, is_leaf=is_named_array)
        arrays: list[Any] = []
        info: list[Any] = []
        for leaf in leaves:
            if isinstance(leaf, NamedArray) and leaf.array is not None:
                arrays.append(leaf.array)
                info.append(("named", leaf.axes))
            elif _is_array(leaf):
                arrays.append(leaf)
                info.append(("array", None))
            else:
                info.append(("static", leaf))
        self.info = info
        return arrays

    def unpack(self, arrays: Sequence[Any], new_axis: Axis) -> Any:
        return jax.tree_util.tree_unflatten(self.treedef, _fill(self.info, arrays, (new_axis,)))


# --------------------------------------------------------------------------------------------------
# vmap


def vmap(
    fn: Callable[..., Any],
    axis: AxisSelection,
    *,
    default: Any = _default_spec,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
) -> Callable[..., Any]:
    """Vectorise ``fn`` over a named axis (like `jax.vmap`, but by name).

    * NamedArrays (anywhere in the arguments' pytrees) containing ``axis`` are mapped over it, wherever it
      is; NamedArrays without it are broadcast (passed whole to every call).
    * Plain arrays (anything with ``.shape``/``.dtype``, NumPy included) follow ``default``: mapped along
      dim 0 (so a 0-d array is an error) unless ``args``/``kwargs`` override it. Specs are pytree prefixes
      of the positional/keyword arguments whose leaves are an int (the dim to map), a callable
      ``leaf -> int | None``, or ``None`` (not mapped). (Haliax rejects a literal ``None`` with a pytree-prefix
      error; we accept it, meaning "broadcast".)
    * Non-array values are passed through unchanged.
    * Outputs: NamedArrays get the mapped axis **prepended** (position 0), plain arrays get a leading dim,
      non-array outputs (e.g. static module fields) are returned as-is and must not depend on the batch.
      So ``vmap(Module.init, Layers)(..., key=keys)`` builds a stack of modules.
    * ``axis`` as an `Axis` fixes the size (needed if no argument carries it); as a name, the size comes
      from the arguments. Several axes (a sequence or shape dict) vmap repeatedly, first axis outermost.
    * The JAX axis name is the axis name (so collectives such as ``jax.lax.psum(x, "batch")`` work), and
      ``spmd_axis_name`` is the axis's mesh axis when an axis mapping is active.

    Args:
        fn: the function to vectorise.
        axis: the axis to map over: a name, an Axis (fixes the size), or several (mapped one after another).
        default: the spec for plain arrays not covered by ``args``/``kwargs``: an int dim, a callable
            ``leaf -> int | None`` or None (passed whole); default: dim 0 for arrays, nothing else mapped.
        args: specs for the positional arguments (pytree prefixes whose leaves are specs as for ``default``).
        kwargs: specs for the keyword arguments, by name.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> B, E = hax.make_axes(B=3, E=2)
        >>> x = hax.ones((E, B))
        >>> hax.vmap(lambda v: v * 2, B)(x).axes == (B, E)
        True
    """
    _check_callable(fn, "vmap", "fn")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise TypeError(f"vmap: argument 'kwargs' must be a mapping from keyword names to specs, got {kwargs!r}")
    if isinstance(args, (Mapping, str)) or not isinstance(args, Sequence):
        raise TypeError(
            f"vmap: argument 'args' must be a sequence of specs (one per positional argument), got {args!r}"
        )
    several = _several_axes(axis)
    if several is not None:
        out = fn
        for ax in reversed(several):
            out = vmap(out, ax, default=default, args=args, kwargs=kwargs)
        return out
    name = _axis_name(axis)  # type: ignore[arg-type]

    def vmapped(*a: Any, **kw: Any) -> Any:
        pos_specs = tuple(args[i] if i < len(args) else default for i in range(len(a)))
        kw_specs = {k: (kwargs[k] if kwargs is not None and k in kwargs else default) for k in kw}
        specs = prefix_leaves(pos_specs, a, "vmap", "args", is_named_array)
        specs += prefix_leaves(kw_specs, kw, "vmap", "kwargs", is_named_array)
        with_path, treedef = jax.tree_util.tree_flatten_with_path((a, kw), is_leaf=is_named_array)
        size = axis.size if isinstance(axis, Axis) else None
        size_from = "argument axis"  # where ``size`` comes from, for the conflicting-sizes error
        dyn: list[Any] = []
        in_axes: list[int | None] = []
        plan: list[tuple[str, Any]] = []
        for (path, leaf), spec in zip(with_path, specs, strict=True):
            if isinstance(leaf, NamedArray) and leaf.array is not None:
                idx = lookup_axis(leaf.axes, name, "vmap", None)
                if idx is not None:
                    n = leaf.axes[idx].size
                    if size is None:
                        size, size_from = n, f"argument {_path_str(path, fn, 0)}"
                    elif n != size:
                        sizes = {size_from: size, f"argument {_path_str(path, fn, 0)}": n}
                        raise conflicting_sizes_error(name, sizes, "vmap")
                    plan.append(("named", leaf.axes[:idx] + leaf.axes[idx + 1 :]))
                else:
                    plan.append(("named", leaf.axes))
                dyn.append(leaf.array)
                in_axes.append(idx)
            elif _is_array(leaf):
                dim = spec(leaf) if callable(spec) else spec
                if dim is not None:
                    if not isinstance(dim, int):
                        raise TypeError(
                            f"vmap: spec for {_path_str(path, fn, 0)} gave {dim!r}, expected an int or None"
                        )
                    nd = len(leaf.shape)
                    if not -nd <= dim < nd:
                        raise ValueError(
                            f"vmap: argument {_path_str(path, fn, 0)} has shape {tuple(leaf.shape)}, so it cannot be "
                            f"mapped along dim {dim} for axis {name}. Pass a NamedArray, or a spec such as "
                            "`lambda _: None` to broadcast it"
                        )
                    n = leaf.shape[dim]
                    if size is None:
                        size, size_from = n, f"argument {_path_str(path, fn, 0)}, dim {dim}"
                    elif n != size:
                        sizes = {size_from: size, f"argument {_path_str(path, fn, 0)}, dim {dim}": n}
                        raise conflicting_sizes_error(name, sizes, "vmap")
                plan.append(("array", None))
                dyn.append(leaf)
                in_axes.append(dim)
            else:
                plan.append(("static", leaf))
        if size is None:
            raise _name_only_error(name, (leaf for _, leaf in with_path), "vmap", "argument", "mapped")
        box = _OutBox()

        def inner(*vals: Any) -> list[Any]:
            ia, ikw = jax.tree_util.tree_unflatten(treedef, _fill(plan, vals))
            return box.pack(fn(*ia, **ikw))

        spmd = _spmd_axis_name(name)
        out = jax.vmap(inner, in_axes=tuple(in_axes), out_axes=0, axis_size=size, axis_name=name, spmd_axis_name=spmd)(
            *dyn
        )
        return box.unpack(out, Axis(name, size))

    return safe_update_wrapper(vmapped, fn)


def _spmd_axis_name(name: str) -> Any:

    mapping = current_thread_local_mapping()
    if not mapping:
        return None
    phys = mapping.get(name)
    if phys is None:
        return None
    if isinstance(phys, str):
        return phys
    phys = tuple(phys)
    return phys if phys else None


# --------------------------------------------------------------------------------------------------
# scan / fold / map


def _make_is_scanned(is_scanned: Any, fn: str, arg: str) -> Callable[[Any], bool]:
    if isinstance(is_scanned, bool):
        return lambda _: is_scanned
    if not callable(is_scanned):
        raise TypeError(f"{fn}: argument {arg!r} must be a bool or a predicate, got {is_scanned!r}")
    return cast(Callable[[Any], bool], is_scanned)


class _Shown:
    """A string that reprs as itself (to print a pytree structure with described leaves)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _leaf_kind(x: Any) -> str:
    """How a carry leaf shows in messages: ``(X(2), Y(3)) float32`` or ``float32[2,3]``."""
    if isinstance(x, NamedArray):
        return f"{axes_str(x.axes)} {x.dtype}"
    if _is_array(x):
        return f"{x.dtype}{list(x.shape)}".replace(" ", "")
    return type(x).__name__


def _is_weak(x: Any) -> bool:
    try:
        return bool(jax.typeof(x).weak_type)
    except TypeError:
        return False


def check_carry(before: Any, after: Any, fn: str, f: Any) -> None:
    """Raise a ``TypeError`` naming ``fn``, the step function ``f`` and the carry path when the carry ``after`` a
    step has another structure, axes, shape or dtype than ``before`` (instead of `jax.lax.scan`'s raw error).

    A weakly typed input leaf (a Python scalar ``init``) may change dtype: JAX promotes it, as in `jax.lax.scan`.
    """
    who = f"{fn}: the function {getattr(f, '__name__', type(f).__name__)!r}"
    fix = "the carry must keep its structure, axes and dtype from one step to the next"
    b_leaves, b_def = jax.tree_util.tree_flatten_with_path(before, is_leaf=is_named_array)
    a_leaves, a_def = jax.tree_util.tree_flatten_with_path(after, is_leaf=is_named_array)
    if b_def != a_def:
        shown_b = jax.tree_util.tree_unflatten(b_def, [_Shown(_leaf_kind(v)) for _, v in b_leaves])
        shown_a = jax.tree_util.tree_unflatten(a_def, [_Shown(_leaf_kind(v)) for _, v in a_leaves])
        raise TypeError(
            f"{who} changed the structure of the carry: {shown_b} before the step, {shown_a} after; {fix} "
            "(return a carry shaped like `init`)"
        )
    for (path, b), (_, a) in zip(b_leaves, a_leaves, strict=True):
        where = "carry" + jax.tree_util.keystr(path)
        a_named, b_named = isinstance(a, NamedArray), isinstance(b, NamedArray)
        if a_named != b_named:
            hint = (
                "start from a NamedArray `init` with those axes, e.g. `hax.zeros(axes)`"
                if a_named
                else "return a NamedArray, or start from a plain-array `init`"
            )
            raise TypeError(f"{who} changed {where} from {_leaf_kind(b)} to {_leaf_kind(a)}; {fix} ({hint})")
        if a_named and b_named and a.axes != b.axes:
            hint = (
                f"rearrange it back with `hax.rearrange(..., {tuple(ax.name for ax in b.axes)})`"
                if {ax.name for ax in a.axes} == {ax.name for ax in b.axes}
                and sorted(a.axes, key=lambda ax: ax.name) == sorted(b.axes, key=lambda ax: ax.name)
                else "start from an `init` with the axes the step returns, or reduce/broadcast inside the step"
            )
            raise TypeError(
                f"{who} changed the axes of {where}: {axes_str(b.axes)} before the step, {axes_str(a.axes)} after; "
                f"{fix} ({hint})"
            )
        if not (_is_array(a) or a_named) or not (_is_array(b) or b_named):
            continue
        if not a_named and tuple(a.shape) != tuple(b.shape):
            raise TypeError(
                f"{who} changed the shape of {where}: {tuple(b.shape)} before the step, {tuple(a.shape)} after; {fix}"
            )
        if a.dtype != b.dtype and not _is_weak(b):
            raise TypeError(
                f"{who} changed the dtype of {where}: {b.dtype} before the step, {a.dtype} after; {fix} "
                f"(cast it back with `.astype({jnp.dtype(b.dtype).name})`, or start from an `init` of dtype "
                f"{jnp.dtype(a.dtype).name})"
            )


def _run_scan(
    step: Callable[..., Any],
    policy: ScanCheckpointPolicy,
    init: Any,
    xs: list[Any],
    length: int,
    reverse: bool,
    unroll: int | bool,
) -> tuple[Any, Any]:
    outer = policy.outer_size(length)
    if outer is None:
        return jax.lax.scan(step, init, xs, length=length, reverse=reverse, unroll=unroll)
    # Two-level ("sqrt-L") checkpointing: an outer scan over `outer` chunks whose body is a rematerialised inner
    # scan, so only the chunk-boundary carries are stored. Unlike Haliax (and `jax_utils.multilevel_scan`)
    # the outer loop is *not* unrolled: unrolled, XLA keeps every chunk's buffers alive and the saving vanishes
    # (measured on the 16-layer stack of tests/nn/test_scan_checkpoint.py).
    inner_len = length // outer
    xs_r = [x.reshape((outer, inner_len) + tuple(x.shape[1:])) for x in xs]

    def chunk(c: Any, xs_chunk: list[Any]) -> tuple[Any, Any]:
        return jax.lax.scan(step, c, xs_chunk, length=inner_len, reverse=reverse, unroll=unroll)

    chunk = jax.checkpoint(chunk, prevent_cse=policy.prevent_cse)
    carry, ys = jax.lax.scan(chunk, init, xs_r, length=outer, reverse=reverse)
    return carry, jax.tree_util.tree_map(lambda y: y.reshape((length,) + tuple(y.shape[2:])), ys)


def _scan_call(
    fn_name: str,
    f: Callable[..., Any],
    names_from: Any,
    offset: int,
    axis: AxisSelector,
    policy: ScanCheckpointPolicy,
    reverse: bool,
    unroll: int | bool,
    is_scanned: Callable[[Any], bool],
    init: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Any, Any]:
    name = _axis_name(axis)
    length = axis.size if isinstance(axis, Axis) else None
    with_path, treedef = jax.tree_util.tree_flatten_with_path((args, kwargs), is_leaf=is_named_array)
    xs: list[Any] = []
    plan: list[tuple[str, Any]] = []
    for path, leaf in with_path:
        n: int | None = None
        if isinstance(leaf, NamedArray) and leaf.array is not None:
            idx = lookup_axis(leaf.axes, name, fn_name, "axis")
            if idx is not None and is_scanned(leaf):
                n = leaf.axes[idx].size
                x = jnp.moveaxis(leaf.array, idx, 0) if idx else leaf.array
                item: tuple[str, Any] = ("named", leaf.axes[:idx] + leaf.axes[idx + 1 :])
        elif _is_array(leaf) and len(leaf.shape) >= 1 and is_scanned(leaf):
            n = leaf.shape[0]
            x, item = leaf, ("array", None)
        if n is None:
            plan.append(("static", leaf))
            continue
        if length is None:
            length = n
        elif n != length:
            raise ValueError(
                f"{'' if fn_name == 'scan' else f'{fn_name}: argument {_path_str(path, names_from, offset)!r}: '}"
                f"scan got `length` argument of {length} but some inputs had different leading axis sizes: "
                f"{_path_str(path, names_from, offset)} has leading dimension {n} (scanning over axis {name})"
            )
        xs.append(x)
        plan.append(item)
    if length is None:
        raise _name_only_error(
            name, (leaf for _, leaf in with_path), fn_name, "input", "mapped" if fn_name == "map" else "scanned"
        )
    box = _OutBox()
    carry_name, input_name = f"scan({name})__carry", f"scan({name})__input"
    # Inputs are tagged only under a checkpoint policy (the only reader of the tag): a tagged input is a new value
    # to JAX's scan autodiff, which then stores a per-step copy of it (e.g. of every layer's weights) for the
    # backward pass instead of reusing the scanned input (+12 MiB on bench/transformer.py's 4-layer GPT).
    tag_inputs = not policy.disable

    def body(carry: Any, xs_t: list[Any]) -> tuple[Any, list[Any]]:
        carry = tree_checkpoint_name(carry, carry_name)
        xs_t = tree_checkpoint_name(xs_t, input_name) if tag_inputs else xs_t
        a, kw = jax.tree_util.tree_unflatten(treedef, _fill(plan, xs_t))
        out = f(carry, *a, **kw)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ValueError(
                f"scan: the scanned function {getattr(names_from, '__name__', '')!r} must return a pair (new_carry, "
                f"output), got {type(out).__name__}; use hax.fold for a function that returns only the carry"
            )
        new_carry, y = out
        check_carry(carry, new_carry, fn_name, names_from)
        return new_carry, box.pack(y)

    step = policy.checkpoint(carry_name, input_name, body)
    with jax.named_scope(f"scan({name})"):
        carry, ys = _run_scan(step, policy, init, xs, length, reverse, unroll)
    return carry, box.unpack(ys, Axis(name, length))


def _scanner(
    fn_name: str,
    f: Callable[..., Any],
    names_from: Any,
    offset: int,
    axis: AxisSelector,
    remat: ScanCheckpointSpec,
    reverse: bool,
    unroll: int | bool,
    is_scanned: Any,
) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[Any, Any]]:
    """The options of `scan`/`fold`/`map` (``fn_name``), checked once: returns ``run(init, args, kwargs)``, the
    `_scan_call` of ``f`` (error paths name the parameters of ``names_from``, skipping ``offset`` leading ones)."""
    _check_callable(names_from, fn_name, "f" if fn_name == "scan" else "fn")
    _check_axis(axis, fn_name)
    if not isinstance(unroll, (int, np.integer)):
        raise TypeError(f"{fn_name}: argument 'unroll' must be a non-negative int or a bool, got {unroll!r}")
    if unroll < 0:
        raise ValueError(f"{fn_name}: argument 'unroll' must be a non-negative int or a bool, got {unroll}")
    policy = ScanCheckpointPolicy.from_bool_or_str(remat)
    pred = _make_is_scanned(is_scanned, fn_name, "is_mapped" if fn_name == "map" else "is_scanned")
    return functools.partial(_scan_call, fn_name, f, names_from, offset, axis, policy, reverse, unroll, pred)


def scan(
    f: Callable[..., Any],
    axis: AxisSelector,
    *,
    remat: ScanCheckpointSpec = False,
    reverse: bool = False,
    unroll: int | bool = 1,
    is_scanned: Any = is_jax_or_hax_array_like,
) -> Callable[..., tuple[Any, Any]]:
    """Scan ``f(carry, *xs, **kxs) -> (carry, y)`` over a named axis: ``scan(f, axis)(init, *xs, **kxs)``.

    * Scanned: NamedArrays containing ``axis`` (at any position; inside ``f`` the slices lack it), and plain
      arrays (anything with ``.shape``/``.dtype``) with at least one dim, along dim 0. Everything else (Python
      values, 0-d arrays, NamedArrays without the axis) is passed whole to every step. ``is_scanned`` (bool or
      predicate) narrows this; for NamedArrays it is AND-ed with "contains the axis". ``init`` is never scanned.
    * The length comes from ``axis`` if it is an `Axis`, else from the first scanned input. All scanned inputs
      must agree, else ``ValueError("scan got `length` argument of N but some inputs had different leading
      axis sizes: <path> has leading dimension M")``, with ``<path>`` the parameter name of ``f`` (or keyword
      name), followed by attribute paths inside modules (e.g. ``foo.my_array``).
    * Returns ``(final_carry, ys)``: NamedArray outputs get the scan Axis prepended, plain arrays a leading
      dim, non-array outputs are returned as-is.
    * ``remat``: gradient checkpointing of each step, a `ScanCheckpointPolicy` or shorthand (bool or
      ``"full"``/``"recompute"``/``"save_all"``/``"offload"``/``"nested"``; default: none). Every step tags its
      carry ``"scan(<axis>)__carry"`` with `checkpoint_name`, and, when a policy is active, its inputs
      ``"scan(<axis>)__input"`` (without one the tag is unused and would make autodiff store a copy of the inputs).
    * ``reverse``, ``unroll`` (int or bool) are passed to `jax.lax.scan`. Runs under the named scope
      ``"scan(<axis>)"``.
    * A step that returns a carry with other axes, dtype, shape or structure than it received raises a
      ``TypeError`` naming ``scan``, ``f`` and the carry path (``carry.w``) with both versions (Haliax lets JAX's
      raw scan error through); a weakly typed ``init`` (a Python number) may take the step's dtype, as in JAX.
      An axis given by name that no input has is reported with "Did you mean" when it is a typo of one.

    Args:
        f: the step function ``f(carry, *xs, **kxs) -> (carry, y)``.
        axis: the axis to scan over (a name, or an Axis that also fixes the length).
        remat: gradient checkpointing of each step: a `ScanCheckpointPolicy` or a shorthand (bool, ``"full"``,
            ``"recompute"``, ``"save_all"``, ``"offload"``, ``"nested"``).
        reverse: scan from the last element to the first (as in `jax.lax.scan`).
        unroll: how many steps to unroll per loop iteration, or True for all (as in `jax.lax.scan`).
        is_scanned: a bool or a predicate on leaves choosing which inputs are sliced (default: arrays with at least one
            dim, and NamedArrays that have ``axis``).

    Examples:
        >>> import haliax as hax
        >>> T, E = hax.make_axes(T=4, E=2)
        >>> xs = hax.ones((E, T))
        >>> total, running = hax.scan(lambda c, x: (c + x, c + x), T)(hax.zeros(E), xs)
        >>> total.tolist(), running.axes == (T, E)
        ([4.0, 4.0], True)
    """
    run = _scanner("scan", f, f, 1, axis, remat, reverse, unroll, is_scanned)

    def scanned(init: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        return run(init, args, kwargs)

    return safe_update_wrapper(scanned, f)


def fold(
    fn: Callable[..., Any],
    axis: AxisSelector,
    *,
    remat: ScanCheckpointSpec = False,
    reverse: bool = False,
    unroll: int | bool = 1,
    is_scanned: Any = is_jax_or_hax_array_like,
) -> Callable[..., Any]:
    """`scan` for ``fn(carry, *xs, **kxs) -> carry``: returns only the final carry.

    Errors name ``fold``: a step that changes the carry's axes, dtype, shape or structure raises a ``TypeError``
    with the carry path and both versions (Haliax lets JAX's raw scan error through).

    Args:
        fn: the step function ``fn(carry, *xs, **kxs) -> carry``.
        axis: the axis to fold over (a name, or an Axis that also fixes the length).
        remat: gradient checkpointing of each step: a `ScanCheckpointPolicy` or a shorthand (bool, ``"full"``,
            ``"recompute"``, ``"save_all"``, ``"offload"``, ``"nested"``).
        reverse: scan from the last element to the first (as in `jax.lax.scan`).
        unroll: how many steps to unroll per loop iteration, or True for all (as in `jax.lax.scan`).
        is_scanned: a bool or a predicate on leaves choosing which inputs are sliced (as in `scan`).

    Examples:
        >>> import haliax as hax
        >>> T, E = hax.make_axes(T=3, E=2)
        >>> hax.fold(lambda c, x: c + x, T)(hax.zeros(E), hax.ones((T, E))).tolist()
        [3.0, 3.0]
    """

    def step(carry: Any, *args: Any, **kwargs: Any) -> tuple[Any, None]:
        return fn(carry, *args, **kwargs), None

    run = _scanner("fold", step, fn, 1, axis, remat, reverse, unroll, is_scanned)

    def folded(init: Any, *args: Any, **kwargs: Any) -> Any:
        return run(init, args, kwargs)[0]

    return safe_update_wrapper(folded, fn)


def map(
    fn: Callable[..., Any],
    axis: AxisSelector,
    *,
    remat: ScanCheckpointSpec = False,
    reverse: bool = False,
    unroll: int | bool = 1,
    is_mapped: Any = is_jax_or_hax_array_like,
) -> Callable[..., Any]:
    """Apply ``fn`` to each slice along ``axis`` sequentially (a `jax.lax.map` by name); outputs are stacked
    with the axis prepended.

    Inputs are sliced with `scan`'s rules (``is_mapped`` plays the role of ``is_scanned``). Haliax's `map`
    takes exactly one positional argument and raises an ``IndexError`` on 0-d arrays; ours accepts any number of
    positional and keyword arguments, and passes 0-d arrays whole to every call.

    Args:
        fn: the function applied to each slice.
        axis: the axis to map over (a name, or an Axis that also fixes the length).
        remat: gradient checkpointing of each step: a `ScanCheckpointPolicy` or a shorthand (bool, ``"full"``,
            ``"recompute"``, ``"save_all"``, ``"offload"``, ``"nested"``).
        reverse: scan from the last element to the first (as in `jax.lax.scan`).
        unroll: how many steps to unroll per loop iteration, or True for all (as in `jax.lax.scan`).
        is_mapped: a bool or a predicate on leaves choosing which inputs are sliced (as ``is_scanned`` in `scan`).

    Examples:
        >>> import haliax as hax
        >>> T, E = hax.make_axes(T=3, E=2)
        >>> hax.map(lambda x: x.sum("E"), T)(hax.arange((T, E))).tolist()
        [1, 5, 9]
    """

    def step(_: Any, *args: Any, **kwargs: Any) -> tuple[None, Any]:
        return None, fn(*args, **kwargs)

    run = _scanner("map", step, fn, 0, axis, remat, reverse, unroll, is_mapped)

    def mapped(*args: Any, **kwargs: Any) -> Any:
        return run(None, args, kwargs)[1]

    return safe_update_wrapper(mapped, fn)
