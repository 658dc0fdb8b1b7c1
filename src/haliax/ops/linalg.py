"""Contractions by name: ``dot`` (and ``trace``/``tril``/``triu``). ``einsum`` lives in ``ops/einsum.py``."""

from __future__ import annotations

import functools
import string
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..axis import (
    Axis,
    AxisSelection,
    AxisSelector,
    axes_str,
    axis_size_mismatch_error,
    closest_name,
    locate_axes,
    rearrange_for_partial_order,
    to_selectors,
)
from ..core import NamedArray, from_validated
from ..dot_general import DefaultDotGeneralOp
from ..partitioning import auto_sharded, explicit_auto_axes, explicit_out_sharding, explicit_unshard_dims
from ..util import check_dtype

__all__ = ["dot", "trace", "tril", "triu", "contraction_plan"]

_LETTERS = string.ascii_letters


def _sel_names(axis: AxisSelection) -> tuple[tuple[str, int | None], ...]:
    if isinstance(axis, Axis):
        return ((axis.name, axis.size),)
    if isinstance(axis, str):
        return ((axis, None),)
    if isinstance(axis, Mapping):
        return tuple(axis.items())
    sels = to_selectors(axis, "dot", "axis")
    for a in sels:
        if not isinstance(a, (str, Axis)):
            raise TypeError(f"dot: argument 'axis': expected axis names or Axis objects, got {a!r}")
    return tuple((a.name, a.size) if isinstance(a, Axis) else (a, None) for a in sels)


@functools.lru_cache(maxsize=4096)
def contraction_plan(
    axes_list: tuple[tuple[Axis, ...], ...],
    contract: tuple[tuple[str, int | None], ...] | None,
    out_axes: tuple[Any, ...] | None = None,
    fn: str = "dot",
) -> tuple[str, tuple[Axis, ...], str]:
    """Plan a contraction over names (cached): an einsum subscript string, the output axes and the
    named-scope label ``"contract <axes> -> <out axes>"``.

    ``contract`` is a tuple of ``(name, size or None)`` or None for "everything"; ``out_axes`` an optional
    partial order (see `haliax.axis.rearrange_for_partial_order`).

    Args:
        axes_list: the axes of each operand, in order.
        contract: the contracted axes as ``(name, size or None)`` pairs, or None to contract everything.
        out_axes: an optional partial order of the output axes (may hold ``...``).
        fn: the name of the calling function, used in error messages.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.linalg import contraction_plan
        >>> B, E, H = hax.make_axes(B=2, E=3, H=4)
        >>> spec, axes, scope = contraction_plan(((B, E), (E, H)), (("E", None),))
        >>> spec, [a.name for a in axes], scope
        ('ab,bc->ac', ['B', 'H'], 'contract E -> B H')
    """
    letters: dict[str, str] = {}
    sizes: dict[str, int] = {}
    first_in: dict[str, int] = {}  # the operand where each axis first appears (for the multiple-sizes message)
    order: list[Axis] = []
    for k, axes in enumerate(axes_list):
        for ax in axes:
            if ax.name in sizes:
                if sizes[ax.name] != ax.size:
                    j = first_in[ax.name]
                    raise ValueError(
                        f"{fn}: Axis {ax.name} has multiple sizes: {sizes[ax.name]} and {ax.size} (arrays[{j}] has "
                        f"{Axis(ax.name, sizes[ax.name])}, arrays[{k}] has {ax}; operand axes "
                        f"{', '.join(axes_str(a) for a in axes_list)})"
                    )
            else:
                first_in[ax.name] = k
                if len(letters) >= len(_LETTERS):
                    raise ValueError(f"{fn}: too many distinct axes ({len(letters) + 1} > {len(_LETTERS)})")
                sizes[ax.name] = ax.size
                letters[ax.name] = _LETTERS[len(letters)]
                order.append(ax)
    if contract is None:
        contracted = list(sizes)
    else:
        contracted = []
        for name, size in contract:
            if name not in sizes:
                present = tuple(tuple(str(a) for a in axes) for axes in axes_list)
                msg = f"{fn}: Axis {name} not present in axis spec of any argument: {present} (argument 'axis')"
                hint = closest_name(name, list(sizes))
                raise ValueError(msg + (f". Did you mean {hint!r}?" if hint is not None else ""))
            if size is not None and sizes[name] != size:
                raise axis_size_mismatch_error(Axis(name, size), Axis(name, sizes[name]), order, fn, "axis")
            if name not in contracted:
                contracted.append(name)
    contracted_set = set(contracted)
    result_axes = tuple(ax for ax in order if ax.name not in contracted_set)
    if out_axes is not None:
        try:
            result_axes = rearrange_for_partial_order(out_axes, result_axes)
        except ValueError as e:
            raise type(e)(f"{fn}: argument 'out_axes': {e}") from None
    lhs = ",".join("".join(letters[a.name] for a in axes) for axes in axes_list)
    rhs = "".join(letters[a.name] for a in result_axes)
    scope = f"contract {' '.join(contracted)} -> {' '.join(a.name for a in result_axes)}"
    return f"{lhs}->{rhs}", result_axes, scope


_FAST_PLANS: dict[Any, Any] = {}
_DOT_HITS: dict[Any, Any] = {}  # `dot`'s eager cache: identities of (x.axes, y.axes, axis, dot_general) -> plan
_KEYABLE = (Axis, str, tuple, type(None))  # immutable `axis` kinds (a list could change under the same identity)


@functools.lru_cache(maxsize=4096)
def _contractor(
    spec: str, precision: Any, preferred_element_type: Any, dot_general: Any, out_sharding: Any = None
) -> Callable[..., Any]:
    def contract(*arrays: Any) -> jax.Array:
        if out_sharding is not None:  # an explicit mesh (see `explicit_out_sharding`)
            return jnp.einsum(
                spec,
                *arrays,
                precision=precision,
                preferred_element_type=preferred_element_type,
                _dot_general=dot_general,
                out_sharding=out_sharding,
            )
        return jnp.einsum(
            spec,
            *arrays,
            precision=precision,
            preferred_element_type=preferred_element_type,
            _dot_general=dot_general,
        )

    return jax.jit(contract, inline=True)


def contraction_fn(
    spec: str, precision: Any, preferred_element_type: Any, dot_general: Any, out_sharding: Any = None
) -> Callable[..., Any]:
    """The function contracting arrays (positional) per the einsum ``spec``; shared by `dot` and `einsum`.

    A jitted ``jnp.einsum``, cached per spec and options, so that an eager call is one dispatch (``jnp.einsum``
    re-runs opt_einsum's path search on every eager call) and, inlined when traced, the program is exactly
    ``jnp.einsum``'s. An unhashable ``dot_general`` (e.g. a Module holding arrays) cannot be a static argument:
    then the contraction calls it pairwise (`_contract_pairwise`), without jit or caching.

    Args:
        spec: the positional einsum subscripts, e.g. ``"ab,bc->ac"``.
        precision: the precision of the contraction (as in `jax.numpy.einsum`).
        preferred_element_type: the accumulation and result dtype.
        dot_general: the `dot_general` implementation (a function, or a Module with its signature).
        out_sharding: the result's sharding on an explicit mesh (`haliax.partitioning.explicit_out_sharding`),
            else None.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from haliax.ops.linalg import contraction_fn
        >>> f = contraction_fn("ab,bc->ac", None, None, jax.lax.dot_general)
        >>> f(jnp.ones((2, 3)), jnp.ones((3, 4))).shape
        (2, 4)
    """
    if isinstance(precision, list):
        precision = tuple(precision)
    try:
        return _contractor(spec, precision, preferred_element_type, dot_general, out_sharding)
    except TypeError:
        return functools.partial(
            _contract_pairwise,
            spec,
            precision=precision,
            preferred_element_type=preferred_element_type,
            dot_general=dot_general,
        )


def run_contraction(fn: Callable[..., Any], raws: Sequence[Any], scope: str) -> jax.Array:
    """``fn(*raws)``, inside the named scope ``scope`` when tracing (eagerly the scope would only cost time).

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.ops.linalg import run_contraction
        >>> float(run_contraction(jnp.dot, [jnp.ones(3), jnp.ones(3)], "contract a ->"))
        3.0
    """
    if any([isinstance(r, Tracer) for r in raws]):
        with jax.named_scope(scope):
            return fn(*raws)
    return fn(*raws)


def _slow_plan(
    axes_list: tuple[tuple[Axis, ...], ...], axis: Any, out_axes: Any, options: tuple[Any, ...]
) -> tuple[tuple[Axis, ...], tuple[str, Callable[..., Any]] | None]:
    contract = None if axis is None else _sel_names(axis)
    order = None if out_axes is None else tuple(out_axes)
    spec, result_axes, scope = contraction_plan(axes_list, contract, order)
    lhs, rhs = spec.split("->")
    if lhs == rhs:
        return result_axes, None
    return result_axes, (scope, contraction_fn(spec, *options))


def _contract_pairwise(
    spec: str, *arrays: Any, precision: Any, preferred_element_type: Any, dot_general: Any
) -> jax.Array:
    """Contract ``arrays`` per the einsum ``spec`` by calling ``dot_general`` on pairs, left to right.

    Used for a stateful (unhashable) ``dot_general``, which ``jnp.einsum`` cannot take as a static argument:
    letters that no later operand or the output needs are summed out first, then each pair is contracted
    over the shared letters nothing later needs (the other shared letters are batch dimensions)."""
    lhs, rhs = spec.split("->")
    ops = list(zip(arrays, lhs.split(","), strict=True))
    keep = set(rhs)

    def sum_out(x: Any, t: str, needed: set[str]) -> tuple[Any, str]:
        drop = tuple(i for i, c in enumerate(t) if c not in needed)
        if drop:
            x, t = jnp.sum(x, axis=drop), "".join(c for c in t if c in needed)
        return x, t

    acc, at = ops[0]
    for k in range(1, len(ops)):
        x, xt = ops[k]
        later = keep | set("".join(t for _, t in ops[k + 1 :]))
        acc, at = sum_out(acc, at, later | set(xt))
        x, xt = sum_out(x, xt, later | set(at))
        shared = [c for c in at if c in xt]
        contract = [c for c in shared if c not in later]
        batch = [c for c in shared if c in later]
        dims = (
            (tuple(at.index(c) for c in contract), tuple(xt.index(c) for c in contract)),
            (tuple(at.index(c) for c in batch), tuple(xt.index(c) for c in batch)),
        )
        acc = dot_general(acc, x, dims, precision=precision, preferred_element_type=preferred_element_type)
        at = "".join(batch) + "".join(c for c in at if c not in shared) + "".join(c for c in xt if c not in shared)
    acc, at = sum_out(acc, at, keep)
    perm = [at.index(c) for c in rhs]
    return acc if perm == list(range(len(perm))) else jnp.transpose(acc, perm)


def _plan(
    axes_list: tuple[tuple[Axis, ...], ...], axis: Any, out_axes: Any, options: tuple[Any, ...]
) -> tuple[tuple[Axis, ...], tuple[str, Callable[..., Any]] | None]:
    """(result axes, (named scope, contraction function)); the pair is None when there is nothing to do. Fast path keyed by the identity of the axes tuples (held in the entry, so the ids stay valid), which
    skips hashing every Axis."""
    try:
        key = (*map(id, axes_list), axis, out_axes, *options)
        hit = _FAST_PLANS.get(key)
    except TypeError:  # unhashable axis / out_axes (lists, dicts)
        return _slow_plan(axes_list, axis, out_axes, options)
    if hit is not None and hit[0] == axes_list:  # C-level compare; identical tuples short-circuit
        return hit[1]
    plan = _slow_plan(axes_list, axis, out_axes, options)
    if len(_FAST_PLANS) >= 4096:
        _FAST_PLANS.clear()
    _FAST_PLANS[key] = (axes_list, plan)
    return plan


def dot(
    *arrays: Any,
    axis: AxisSelection | None = ...,  # type: ignore[assignment]
    precision: Any = None,
    preferred_element_type: Any = None,
    out_axes: Sequence[Any] | None = None,
    dot_general: Callable[..., Any] = jax.lax.dot_general,
) -> NamedArray:
    """Contract named axes: a generalised einsum over names.

    ``axis`` is a required keyword. Output axes are the union of the inputs' axes in order of first
    appearance (array by array), minus the contracted ones. Axes in ``axis`` are summed (also when only one
    operand has them); axes shared but not contracted are batch axes; the others give an outer product.
    ``axis=None`` contracts everything (0-d result); ``axis=()`` contracts nothing. ``out_axes`` is a partial
    order (may hold ``...``) for the result. ``precision``, ``preferred_element_type`` and ``dot_general``
    (any callable with `jax.lax.dot_general`'s signature, including a stateful Module holding arrays) are
    passed on. The old spelling ``dot(axis, *arrays)`` still works with a ``DeprecationWarning``.
    A misspelt axis in ``axis`` or ``out_axes`` keeps Haliax's message and adds "Did you mean ...", and
    "has multiple sizes" names the two operands.

    Eagerly a call is one jitted dispatch (plans are cached by the operands' axes), and under ``jit`` the
    program is exactly `jax.numpy.einsum`'s, inside a named scope ``"contract <axes> -> <out axes>"``.

    Args:
        *arrays: the NamedArrays to contract.
        axis: the axes to contract (required; None: all of them, ``()``: none).
        precision: the precision of the contraction (as in `jax.lax.dot_general`).
        preferred_element_type: the accumulation and result dtype.
        out_axes: an optional partial order of the result axes (may hold ``...``).
        dot_general: the `dot_general` implementation (e.g. a quantized op).

    Examples:
        >>> import haliax as hax
        >>> B, E, H = hax.make_axes(B=2, E=3, H=4)
        >>> x, w = hax.ones((B, E)), hax.ones((E, H))
        >>> y = hax.dot(x, w, axis="E")
        >>> [a.name for a in y.axes], float(y.array[0, 0])
        (['B', 'H'], 3.0)
        >>> [a.name for a in hax.dot(x, w, axis=(), out_axes=("H", ...)).axes]
        ['H', 'B', 'E']
    """
    if axis is ...:
        if arrays and not isinstance(arrays[0], NamedArray):
            warnings.warn(
                "dot(axis, *arrays) is deprecated; use dot(*arrays, axis=...)", DeprecationWarning, stacklevel=2
            )
            axis, arrays = arrays[0], arrays[1:]
        else:
            raise ValueError("Must provide an axis to dot (a required keyword argument: dot(*arrays, axis=...))")
    hit_key = None
    if len(arrays) == 2 and type(arrays[0]) is NamedArray and type(arrays[1]) is NamedArray:  # fast path
        x, y = arrays
        raws: Any = (x.array, y.array)
        axes_list: Any = (x.axes, y.axes)
        if precision is None and preferred_element_type is None and out_axes is None and type(axis) in _KEYABLE:
            # the eager cache hit: one dict lookup keyed by object identities (the entry holds the objects)
            hit_key = (id(x.axes), id(y.axes), id(axis), id(dot_general))
            hit = _DOT_HITS.get(hit_key)
            if hit is not None and hit[0] is x.axes and hit[1] is y.axes and hit[2] is axis and hit[3] is dot_general:
                result_axes, scope, fn = hit[4]
                if explicit_out_sharding(result_axes, "dot") is None:
                    if isinstance(raws[0], Tracer) or isinstance(raws[1], Tracer):
                        with jax.named_scope(scope):
                            return auto_sharded(from_validated(fn(*raws), result_axes))
                    return auto_sharded(from_validated(fn(*raws), result_axes))
    else:
        if not arrays:
            raise ValueError("dot: at least one array is required")
        for i, a in enumerate(arrays):
            if not isinstance(a, NamedArray):
                raise TypeError(f"dot: argument arrays[{i}] must be a NamedArray, got {type(a).__name__}")
        raws = tuple([a.array for a in arrays])
        axes_list = tuple([a.axes for a in arrays])
    if isinstance(precision, list):
        precision = tuple(precision)
    if preferred_element_type is not None:
        check_dtype(preferred_element_type, "dot", "preferred_element_type")
    arrays_dot_general = dot_general  # the caller's object (the eager cache checks its identity)
    if dot_general is not jax.lax.dot_general and type(dot_general) is DefaultDotGeneralOp:
        dot_general = jax.lax.dot_general  # the same product; keys the plan cache by identity, never tree_equal
    options = (precision, preferred_element_type, dot_general)
    result_axes, work = _plan(axes_list, axis, out_axes, options)
    if work is None:
        return auto_sharded(arrays[0])
    sharding = explicit_out_sharding(result_axes, "dot")
    if sharding is not None and dot_general is not jax.lax.dot_general:
        # an explicit mesh and a custom product (a quantized op takes no out_sharding): run it on Auto axes

        def custom(op: Any, *xs: NamedArray) -> NamedArray:
            kw = {"precision": precision, "preferred_element_type": preferred_element_type, "out_axes": out_axes}
            return dot(*xs, axis=axis, dot_general=op, **kw)

        return explicit_auto_axes(custom, result_axes, "dot")(arrays_dot_general, *arrays)
    if sharding is not None:  # an explicit mesh: the output sharding comes from the names
        result_axes, work = _plan(axes_list, axis, out_axes, (*options, sharding))
    scope, fn = work  # type: ignore[misc]
    if hit_key is not None and sharding is None:
        if len(_DOT_HITS) >= 4096:
            _DOT_HITS.clear()
        _DOT_HITS[hit_key] = (*axes_list, axis, arrays_dot_general, (result_axes, scope, fn))
    return auto_sharded(from_validated(run_contraction(fn, raws, scope), result_axes))


def trace(
    array: NamedArray, axis1: AxisSelector, axis2: AxisSelector, offset: int = 0, dtype: Any = None
) -> NamedArray:
    """Sum along a diagonal (``offset`` from the main one) of two named axes; both are removed.

    Args:
        array: the array.
        axis1: the first axis of the diagonal.
        axis2: the second axis of the diagonal.
        offset: the diagonal's offset from the main one (positive: above it).
        dtype: the dtype of the sum.

    Examples:
        >>> import haliax as hax
        >>> X, Y, B = hax.make_axes(X=3, Y=3, B=2)
        >>> hax.trace(hax.ones((X, B, Y)), "X", "Y").tolist()
        [3.0, 3.0]
    """
    i, j = locate_axes(array.axes, (axis1, axis2), "trace")
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)):
        raise TypeError(f"trace: argument 'offset' must be an int, got {offset!r} of type {type(offset).__name__}")
    raw = explicit_unshard_dims(array.array, (i, j))  # an explicit mesh: the diagonal needs both dims whole
    out = jnp.trace(raw, offset=offset, axis1=i, axis2=j, dtype=dtype)
    return NamedArray(out, tuple(a for k, a in enumerate(array.axes) if k not in (i, j)))


def _tri(
    fn: Callable[..., Any], name: str, array: NamedArray, axis1: AxisSelector, axis2: AxisSelector, k: int
) -> NamedArray:
    i, j = locate_axes(array.axes, (axis1, axis2), name)
    other = tuple(a for n, a in enumerate(array.axes) if n not in (i, j))
    new_axes = other + (array.axes[i], array.axes[j])
    perm = tuple(n for n in range(len(array.axes)) if n not in (i, j)) + (i, j)
    return NamedArray(fn(jnp.transpose(array.array, perm), k=k), new_axes)


def tril(array: NamedArray, axis1: AxisSelector, axis2: AxisSelector, k: int = 0) -> NamedArray:
    """Lower triangle (below diagonal ``k``) over (axis1, axis2); those two axes move to the end.

    Args:
        array: the array.
        axis1: the row axis.
        axis2: the column axis.
        k: the diagonal: 0 is the main one, positive values are above it.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=2)
        >>> hax.tril(hax.ones((X, Y)), "X", "Y").tolist()
        [[1.0, 0.0], [1.0, 1.0]]
    """
    return _tri(jnp.tril, "tril", array, axis1, axis2, k)


def triu(array: NamedArray, axis1: AxisSelector, axis2: AxisSelector, k: int = 0) -> NamedArray:
    """Upper triangle (above diagonal ``k``) over (axis1, axis2); those two axes move to the end.

    Args:
        array: the array.
        axis1: the row axis.
        axis2: the column axis.
        k: the diagonal: 0 is the main one, positive values are above it.

    Examples:
        >>> import haliax as hax
        >>> X, Y, B = hax.make_axes(X=2, Y=2, B=1)
        >>> [a.name for a in hax.triu(hax.ones((X, B, Y)), "X", "Y").axes]
        ['B', 'X', 'Y']
    """
    return _tri(jnp.triu, "triu", array, axis1, axis2, k)
