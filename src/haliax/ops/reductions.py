"""Reductions (``sum``, ``mean``, ... and their ``nan*`` forms), axis-wise ops (cumulative, sort) and top-k."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..axis import Axis, AxisSelection, AxisSelector, axes_str, locate_axes, to_selectors
from ..core import NamedArray, from_validated
from ..partitioning import explicit_out_sharding, explicit_reshard, explicit_unshard_dims
from ..util import check_dtype
from .broadcast import broadcast_to

__all__ = [
    "wrap_reduction_call",
    "wrap_axiswise_call",
    "top_k",
    "REDUCTIONS",
    "AXISWISE",
    "sum",
    "mean",
    "prod",
    "product",
    "max",
    "min",
    "amax",
    "amin",
    "all",
    "any",
    "ptp",
    "std",
    "var",
    "nansum",
    "nanmean",
    "nanprod",
    "nanmax",
    "nanmin",
    "nanstd",
    "nanvar",
    "argmax",
    "argmin",
    "nanargmax",
    "nanargmin",
    "cumsum",
    "cumprod",
    "nancumsum",
    "nancumprod",
    "sort",
    "argsort",
]


def _is_named_leaf(x: Any) -> bool:
    return isinstance(x, NamedArray)


def _make_plan(
    axes: tuple[Axis, ...], sels: tuple[Any, ...], fn: str, single: bool
) -> tuple[int | tuple[int, ...], tuple[Axis, ...]]:
    idx = locate_axes(axes, sels, fn, "axis")
    if single and len(idx) != 1:
        raise ValueError(f"{fn} only supports a single axis")
    kept = tuple(ax for i, ax in enumerate(axes) if i not in idx)
    return (idx[0] if len(idx) == 1 else idx), kept


_plan_cached = functools.lru_cache(maxsize=8192)(_make_plan)
_FAST_PLANS: dict[Any, Any] = {}


def _reduction_plan(
    axes: tuple[Axis, ...], axis: Any, fn: str, single: bool
) -> tuple[int | tuple[int, ...] | None, tuple[Axis, ...]]:
    """``(axis argument for the jnp function, remaining axes)`` for reducing ``axis`` (cached)."""
    if axis is None:
        return None, ()
    # fast path: keyed by the identity of the axes tuple (held in the entry, so its id stays valid), which
    # skips hashing every Axis; results of named ops reuse cached axes tuples, so this hits in loops
    key = (id(axes), axis, fn, single)
    try:
        hit = _FAST_PLANS.get(key)
    except TypeError:  # unhashable selection (a list or dict)
        return _make_plan(axes, to_selectors(axis, fn), fn, single)
    if hit is not None and hit[0] is axes:
        return hit[1]
    plan = _plan_cached(axes, to_selectors(axis, fn), fn, single)
    if len(_FAST_PLANS) >= 4096:
        _FAST_PLANS.clear()
    _FAST_PLANS[key] = (axes, plan)
    return plan


# reductions with no identity: over an empty axis (or with ``where`` and no ``initial``) they have no value
_WITH_INITIAL = frozenset({"max", "min", "amax", "amin", "nanmax", "nanmin"})
_NO_IDENTITY = _WITH_INITIAL | {"ptp", "argmax", "argmin", "nanargmax", "nanargmin"}


def _check_identity(name: str, axes: tuple[Axis, ...], ax_arg: Any, kw: dict) -> None:
    """Raise the ``ValueError`` of a reduction without identity over a size-0 axis (or with ``where`` but no
    ``initial``), naming the function, the axis and, where the function takes one, ``initial=``."""
    if "initial" in kw:
        return
    if "where" in kw and name in _WITH_INITIAL:
        raise ValueError(
            f"{name}: argument 'where': {name} has no identity, so a masked-out row would have no value; "
            f"pass `initial=` as well (e.g. `hax.{name}(x, axis, where=mask, initial=...)`)"
        )
    pos = range(len(axes)) if ax_arg is None else (ax_arg,) if isinstance(ax_arg, int) else ax_arg
    empty = [axes[i] for i in pos if axes[i].size == 0]
    if not empty:
        return
    what = "the axis to reduce" if ax_arg is not None else "the array"
    msg = (
        f"{name}: argument 'axis': {what} has size 0 ({', '.join(str(a) for a in empty)}; array axes "
        f"{axes_str(axes)}) and {name} has no identity, so the result would have no value"
    )
    if name in _WITH_INITIAL:
        msg += f"; pass `initial=` (e.g. `hax.{name}(x, {empty[0].name!r}, initial=...)`) to define it"
    elif name == "ptp":
        msg += "; check the axis size first, or compute `hax.max(..., initial=...) - hax.min(..., initial=...)`"
    else:
        msg += "; an empty axis has no index to return, so check its size first"
    raise ValueError(msg)


def _where_mask(name: str, where: NamedArray, axes: tuple[Axis, ...]) -> Any:
    """``where`` broadcast (strictly) to ``axes``; one that does not fit raises naming the reduction and ``where``."""
    if where.dtype != jnp.bool_:
        raise ValueError(
            f"{name}: argument 'where' must be a boolean NamedArray, got dtype {where.dtype} (compare it first, "
            "e.g. `mask > 0`)"
        )
    if where.axes == axes:
        return where.array
    try:
        return broadcast_to(where, axes).array
    except ValueError as e:
        raise type(e)(
            f"{name}: argument 'where' has axes {axes_str(where.axes)}, which do not broadcast to the array's "
            f"{axes_str(axes)} (its axes must be a subset of the array's, with the same sizes): {e}"
        ) from None


def _check_kw(name: str, kw: dict) -> None:
    """Reject a non-integer ``ddof`` and a ``dtype`` that is not one, naming the reduction and the argument."""
    ddof = kw.get("ddof")
    integral = isinstance(ddof, (int, np.integer)) or np.issubdtype(getattr(ddof, "dtype", np.float32), np.integer)
    if ddof is not None and (isinstance(ddof, bool) or not integral):
        raise TypeError(f"{name}: argument 'ddof' must be an int, got {ddof!r} of type {type(ddof).__name__}")
    if "dtype" in kw:
        check_dtype(kw["dtype"], name)


def _reduce_named(
    fn: Callable[..., Any], name: str, x: NamedArray, axis: Any, where: Any, single: bool, kw: dict, wrap: Any
) -> NamedArray:
    if where is not None:
        if not isinstance(where, NamedArray):
            raise TypeError(
                f"{name}: argument 'where' must be a NamedArray when the input is one, got {type(where).__name__}"
            )
        kw = {**kw, "where": _where_mask(name, where, x.axes)}
    ax_arg, kept = _reduction_plan(x.axes, axis, name, single)
    if name in _NO_IDENTITY:
        _check_identity(name, x.axes, ax_arg, kw)
    return wrap(fn(x.array, axis=ax_arg, **kw), kept)


def _reduction(
    fn: Callable[..., Any], name: str, a: Any, axis: Any, where: Any, single: bool, kw: dict, wrap: Any
) -> Any:
    if kw:
        _check_kw(name, kw)
    if isinstance(a, NamedArray):
        return _reduce_named(fn, name, a, axis, where, single, kw, wrap)

    def one(x: Any) -> Any:
        if isinstance(x, NamedArray):
            return _reduce_named(fn, name, x, axis, where, single, kw, wrap)
        if axis is not None and not isinstance(axis, int):
            raise TypeError(
                f"{name}: argument 'axis': a plain (unnamed) array of shape {jnp.shape(x)} in the input cannot be "
                f"reduced over the named axis {axis!r}; name it with hax.named(...) first"
            )
        if where is not None:
            return fn(x, axis=axis, where=where, **kw)
        return fn(x, axis=axis, **kw)

    return jax.tree_util.tree_map(one, a, is_leaf=_is_named_leaf)


def wrap_reduction_call(
    fn: Callable[..., Any],
    a: Any,
    axis: AxisSelection | None,
    where: Any = None,
    single_axis_only: bool = False,
    supports_where: bool = True,
    **kwargs: Any,
) -> Any:
    """The shared reduction engine: reduce ``a`` over the named ``axis`` (None = everything) with ``fn``.

    ``fn`` is called as ``fn(raw, axis=int_or_tuple, **kwargs)``. ``axis=None`` gives a 0-d NamedArray;
    otherwise the reduced axes are removed and the others keep their order. ``where`` must be a NamedArray
    when the input is one (``TypeError`` otherwise) and is broadcast strictly to the input's axes. Maps over
    pytrees of NamedArrays; plain arrays get ``fn`` with the given (integer) axis. Keyword arguments whose
    value is None are not passed on.

    Args:
        fn: a reduction on raw arrays, called as ``fn(raw, axis=..., **kwargs)``.
        a: a NamedArray, a pytree of them, or a plain array.
        axis: the axes to reduce (None: all).
        where: an optional boolean NamedArray; only the True entries take part.
        single_axis_only: raise unless ``axis`` names exactly one axis.
        supports_where: whether ``fn`` accepts ``where`` (if not, passing one raises ``ValueError``).
        **kwargs: further keyword arguments of ``fn`` (None values are dropped).

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.wrap_reduction_call(jnp.sum, hax.ones((X, Y)), "Y").tolist()
        [3.0, 3.0]
    """
    name = getattr(fn, "__name__", "reduction")
    if where is not None and not supports_where:
        raise ValueError(f"{name} does not support the argument 'where'")
    kw = {k: v for k, v in kwargs.items() if v is not None}
    return _reduction(fn, name, a, axis, where, single_axis_only, kw, NamedArray)


def wrap_axiswise_call(
    fn: Callable[..., Any], a: Any, axis: AxisSelection | None, *, single_axis_only: bool, **kwargs: Any
) -> Any:
    """Apply a shape-preserving ``fn(array, axis=...)`` along named axes; ``axis=None`` returns a raw array.

    Args:
        fn: a shape-preserving function on raw arrays, called as ``fn(raw, axis=...)``.
        a: a NamedArray (or a plain array).
        axis: the axis or axes (None: the flattened array, and a raw result).
        single_axis_only: raise unless ``axis`` names exactly one axis.
        **kwargs: further keyword arguments of ``fn``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> x = hax.arange(hax.make_axes(X=2, Y=3))
        >>> hax.wrap_axiswise_call(jnp.cumsum, x, "Y", single_axis_only=True).tolist()
        [[0, 1, 3], [3, 7, 12]]
    """
    name = getattr(fn, "__name__", "op")
    if kwargs:
        _check_kw(name, kwargs)
    if not isinstance(a, NamedArray):
        return fn(a, axis=axis, **kwargs)
    if axis is None:
        return fn(a.array, axis=None, **kwargs)
    idx = locate_axes(a.axes, axis, name)
    if single_axis_only and len(idx) != 1:
        raise ValueError(f"{name} only supports a single axis")
    raw = explicit_unshard_dims(a.array, idx)  # an explicit mesh: JAX scans and sorts along unsharded dims only
    out = fn(raw, axis=idx[0] if single_axis_only else idx, **kwargs)
    if raw is not a.array:  # back to the sharding the names give
        out = explicit_reshard(out, explicit_out_sharding(a.axes, name))
    return NamedArray(out, a.axes)


# the Args lines of the generated docstrings for ``where`` and the extra keyword parameters
_EXTRA_ARG_DOCS = {
    "where": "an optional boolean NamedArray; only the True entries take part.",
    "no where": "not supported (passing one raises ``ValueError``).",
    "dtype": "the dtype of the computation and result.",
    "initial": "the starting value of the reduction (needed with ``where`` when a row may be empty).",
    "ddof": "delta degrees of freedom: the divisor is ``N - ddof``.",
}


def _make_reduction(name: str, jfn: Callable[..., Any], where_ok: bool, extra: tuple[str, ...]) -> Callable[..., Any]:
    if "ddof" in extra:

        def red_ddof(
            array: Any, axis: AxisSelection | None = None, *, where: Any = None, ddof: int = 0, dtype: Any = None
        ) -> Any:
            kw = {"ddof": ddof} if dtype is None else {"ddof": ddof, "dtype": dtype}
            return _reduction(jfn, name, array, axis, where, False, kw, from_validated)

        fn = red_ddof
    elif "dtype" in extra:

        def red_dtype(array: Any, axis: AxisSelection | None = None, *, where: Any = None, dtype: Any = None) -> Any:
            kw = {} if dtype is None else {"dtype": dtype}
            return _reduction(jfn, name, array, axis, where, False, kw, from_validated)

        fn = red_dtype
    elif "initial" in extra:

        def red_initial(
            array: Any, axis: AxisSelection | None = None, *, where: Any = None, initial: Any = None
        ) -> Any:
            kw = {} if initial is None else {"initial": initial}
            return _reduction(jfn, name, array, axis, where, False, kw, from_validated)

        fn = red_initial
    else:

        def red(array: Any, axis: AxisSelection | None = None, *, where: Any = None) -> Any:
            if where is not None and not where_ok:
                raise ValueError(f"{name} does not support the argument 'where'")
            return _reduction(jfn, name, array, axis, where, False, {}, from_validated)

        fn = red
    fn.__name__ = name
    fn.__qualname__ = name
    params = "``where``" + "".join(f", ``{p}``" for p in extra)
    if "initial" in extra:
        params += " (``initial`` is needed with ``where``, as in `jax.numpy`)"
    fn.__doc__ = f"""Named `jax.numpy.{jfn.__name__}`: reduce over ``axis`` (a name, an Axis, several, or a dict).

    ``axis=None`` reduces every axis and gives a 0-d NamedArray; otherwise the reduced axes are removed and
    the others keep their order. Keywords: {params}{"" if where_ok else " (``where`` unsupported)"}.
    ``where`` must be a NamedArray whose axes are a subset of the input's. ``keepdims``/``out`` are not
    accepted (``TypeError``). Pytrees of NamedArrays are reduced leaf by leaf.{_EMPTY_DOC if name in _WITH_INITIAL else ""}

    Args:
        array: the array (or a pytree of NamedArrays) to reduce.
        axis: the axis or axes to reduce (None: all of them).
        where: {_EXTRA_ARG_DOCS["where" if where_ok else "no where"]}
{"".join(f"        {p}: {_EXTRA_ARG_DOCS[p]}{chr(10)}" for p in extra)}
    Examples:
        >>> import haliax as hax
        >>> x = hax.arange(hax.make_axes(X=2, Y=3)) + 1.0
        >>> hax.{name}(x, "Y").axes, hax.{name}(x).axes
        ((Axis(name='X', size=2),), ())
    """
    return fn


_EMPTY_DOC = """
    Over a size-0 axis (no identity) it raises a ``ValueError`` naming the axis and suggesting ``initial=``,
    as it does for ``where`` without ``initial`` (Haliax lets JAX's raw error through)."""

# name -> (jnp function, supports where, extra keyword parameters)
REDUCTIONS: dict[str, tuple[Callable[..., Any], bool, tuple[str, ...]]] = {
    "sum": (jnp.sum, True, ("dtype",)),
    "mean": (jnp.mean, True, ("dtype",)),
    "prod": (jnp.prod, True, ("dtype",)),
    "product": (jnp.prod, True, ("dtype",)),
    "max": (jnp.max, True, ("initial",)),
    "min": (jnp.min, True, ("initial",)),
    "amax": (jnp.max, True, ("initial",)),
    "amin": (jnp.min, True, ("initial",)),
    "all": (jnp.all, True, ()),
    "any": (jnp.any, True, ()),
    "ptp": (jnp.ptp, False, ()),
    "std": (jnp.std, True, ("ddof", "dtype")),
    "var": (jnp.var, True, ("ddof", "dtype")),
    "nansum": (jnp.nansum, True, ("dtype",)),
    "nanmean": (jnp.nanmean, True, ("dtype",)),
    "nanprod": (jnp.nanprod, True, ("dtype",)),
    "nanmax": (jnp.nanmax, True, ("initial",)),
    "nanmin": (jnp.nanmin, True, ("initial",)),
    "nanstd": (jnp.nanstd, True, ("ddof", "dtype")),
    "nanvar": (jnp.nanvar, True, ("ddof", "dtype")),
}

sum = _make_reduction("sum", *REDUCTIONS["sum"])  # noqa: A001
mean = _make_reduction("mean", *REDUCTIONS["mean"])
prod = _make_reduction("prod", *REDUCTIONS["prod"])
product = _make_reduction("product", *REDUCTIONS["product"])
max = _make_reduction("max", *REDUCTIONS["max"])  # noqa: A001
min = _make_reduction("min", *REDUCTIONS["min"])  # noqa: A001
amax = _make_reduction("amax", *REDUCTIONS["amax"])
amin = _make_reduction("amin", *REDUCTIONS["amin"])
all = _make_reduction("all", *REDUCTIONS["all"])  # noqa: A001
any = _make_reduction("any", *REDUCTIONS["any"])  # noqa: A001
ptp = _make_reduction("ptp", *REDUCTIONS["ptp"])
std = _make_reduction("std", *REDUCTIONS["std"])
var = _make_reduction("var", *REDUCTIONS["var"])
nansum = _make_reduction("nansum", *REDUCTIONS["nansum"])
nanmean = _make_reduction("nanmean", *REDUCTIONS["nanmean"])
nanprod = _make_reduction("nanprod", *REDUCTIONS["nanprod"])
nanmax = _make_reduction("nanmax", *REDUCTIONS["nanmax"])
nanmin = _make_reduction("nanmin", *REDUCTIONS["nanmin"])
nanstd = _make_reduction("nanstd", *REDUCTIONS["nanstd"])
nanvar = _make_reduction("nanvar", *REDUCTIONS["nanvar"])


def _make_arg(name: str, jfn: Callable[..., Any]) -> Callable[..., Any]:
    def fn(array: Any, axis: AxisSelector | None = None) -> Any:
        if axis is not None and not isinstance(axis, (str, Axis)):
            if len(to_selectors(axis, name, "axis")) != 1:
                raise ValueError(f"{name} only supports a single axis")
        return _reduction(jfn, name, array, axis, None, True, {}, from_validated)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"""Index of the {name[3:]} along one named axis (the axis is removed).

    ``axis=None`` gives the flat index over all axes, as a 0-d NamedArray. Several axes raise
    ``ValueError("{name} only supports a single axis")``; a size-0 axis raises a ``ValueError`` naming it
    (Haliax lets JAX's "attempt to get {name} of an empty sequence" through).

    Examples:
        >>> import haliax as hax
        >>> x = hax.arange(hax.make_axes(X=2, Y=3))
        >>> hax.{name}(x, "Y").axes, hax.{name}(x).axes
        ((Axis(name='X', size=2),), ())
    """
    return fn


argmax = _make_arg("argmax", jnp.argmax)
argmin = _make_arg("argmin", jnp.argmin)
nanargmax = _make_arg("nanargmax", jnp.nanargmax)
nanargmin = _make_arg("nanargmin", jnp.nanargmin)


def _make_axiswise(name: str, jfn: Callable[..., Any]) -> Callable[..., Any]:
    def fn(a: Any, axis: AxisSelector | None = None, *, dtype: Any = None) -> Any:
        return wrap_axiswise_call(jfn, a, axis, single_axis_only=True, dtype=dtype)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"""Named `jax.numpy.{name}` along one axis; the axes are kept.

    ``axis=None`` works on the flattened array and returns a raw JAX array (as in Haliax).

    Examples:
        >>> import haliax as hax
        >>> x = hax.arange(hax.make_axes(X=2, Y=3)) + 1
        >>> hax.{name}(x, "Y").axes == x.axes
        True
    """
    return fn


cumsum = _make_axiswise("cumsum", jnp.cumsum)
cumprod = _make_axiswise("cumprod", jnp.cumprod)
nancumsum = _make_axiswise("nancumsum", jnp.nancumsum)
nancumprod = _make_axiswise("nancumprod", jnp.nancumprod)

AXISWISE = {"cumsum": jnp.cumsum, "cumprod": jnp.cumprod, "nancumsum": jnp.nancumsum, "nancumprod": jnp.nancumprod}
"""The cumulative functions' ``jax.numpy`` counterparts, by name."""


def sort(a: Any, axis: AxisSelector | None = None) -> Any:
    """Sort along one named axis (axes kept). ``axis=None`` returns a raw sorted flat array.

    Examples:
        >>> import haliax as hax
        >>> hax.sort(hax.named([3, 1, 2], "X"), "X").tolist()
        [1, 2, 3]
    """
    return wrap_axiswise_call(jnp.sort, a, axis, single_axis_only=True)


def argsort(a: Any, axis: AxisSelector | None = None, *, stable: bool = False) -> Any:
    """Indices that sort along one named axis (axes kept). ``axis=None`` returns a raw flat array.

    Examples:
        >>> import haliax as hax
        >>> hax.argsort(hax.named([3, 1, 2], "X"), "X").tolist()
        [1, 2, 0]
    """
    return wrap_axiswise_call(jnp.argsort, a, axis, single_axis_only=True, stable=stable)


def top_k(
    arr: NamedArray, axis: AxisSelector, k: int, new_axis: AxisSelector | None = None
) -> tuple[NamedArray, NamedArray]:
    """The ``k`` largest values along ``axis`` and their indices.

    The axis is resized to ``k`` (or renamed to ``new_axis``: a str, or an Axis of size ``k``).

    Args:
        arr: the array.
        axis: the axis to search along.
        k: how many values to return.
        new_axis: the name (or Axis of size ``k``) of the result axis (default: ``axis`` resized to ``k``).

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 5)
        >>> vals, idx = hax.top_k(hax.arange(X), "X", 2)
        >>> vals.tolist(), idx.tolist()
        ([4, 3], [4, 3])
    """
    (i,) = locate_axes(arr.axes, axis, "top_k")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"top_k: argument 'k' must be an int, got {k!r} of type {type(k).__name__}")
    if not 0 <= k <= arr.axes[i].size:
        raise ValueError(f"top_k: k={k} must be between 0 and the size of axis {arr.axes[i]}")
    if new_axis is None:
        out_ax = arr.axes[i].resize(k)
    elif isinstance(new_axis, str):
        out_ax = Axis(new_axis, k)
    elif not isinstance(new_axis, Axis):
        raise TypeError(f"top_k: argument 'new_axis' must be an axis name or an Axis, got {new_axis!r}")
    else:
        if new_axis.size != k:
            raise ValueError(f"top_k: new_axis {new_axis} must have size k={k}")
        out_ax = new_axis
    if out_ax.name in [ax.name for j, ax in enumerate(arr.axes) if j != i]:
        raise ValueError(
            f"top_k: argument 'new_axis': {out_ax.name} is already another axis of the array {axes_str(arr.axes)}; "
            "choose a new name"
        )
    x = jnp.moveaxis(explicit_unshard_dims(arr.array, (i,)), i, -1)  # explicit meshes: top_k needs it unsharded
    vals, idx = jax.lax.top_k(x, k)
    axes = arr.axes[:i] + (out_ax,) + arr.axes[i + 1 :]
    spec = explicit_out_sharding(axes, "top_k")  # None unless the mesh is explicit
    vals, idx = explicit_reshard(jnp.moveaxis(vals, -1, i), spec), explicit_reshard(jnp.moveaxis(idx, -1, i), spec)
    return NamedArray(vals, axes), NamedArray(idx, axes)
