"""Elementwise functions, generated from tables, and broadcasting binary operations by name."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from ..core import NamedArray, _unchecked
from .broadcast import align_to, binary_plan, broadcast_arrays_and_return_axes

__all__ = [
    "wrap_elemwise_unary",
    "wrap_elemwise_binary",
    "unwrap_namedarrays",
    "UNARY_FUNCTIONS",
    "BINARY_FUNCTIONS",
    "clip",
    "isclose",
    "allclose",
    "array_equal",
    "array_equiv",
    "round",
    "divmod",
    "frexp",
]


def unwrap_namedarrays(*xs: Any) -> tuple[Any, ...]:
    """Replace every NamedArray argument by its raw array (other arguments pass through).

    Examples:
        >>> import haliax as hax
        >>> raw, three = hax.unwrap_namedarrays(hax.arange(hax.Axis("X", 2)), 3)
        >>> raw.tolist(), three
        ([0, 1], 3)
    """
    return tuple(x.array if isinstance(x, NamedArray) else x for x in xs)


def wrap_elemwise_unary(f: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> Any:
    """Apply ``f`` to the raw array of ``a`` and re-wrap it with the same axes; non-named input passes through.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> X = hax.Axis("X", 3)
        >>> hax.wrap_elemwise_unary(jnp.square, hax.arange(X)).tolist()
        [0, 1, 4]
    """
    if isinstance(a, NamedArray):
        return NamedArray(f(a.array, *args, **kwargs), a.axes)
    return f(a, *args, **kwargs)


def _is_scalarish(x: Any) -> bool:
    if isinstance(x, (int, float, complex, bool, np.generic)):
        return True
    shape = getattr(x, "shape", None)
    return shape is not None and len(shape) == 0


def wrap_elemwise_binary(
    op: Callable[[Any, Any], Any], name: str | None = None, *, _trusted: bool = False
) -> Callable[[Any, Any], Any]:
    """Turn a binary ``jnp`` function into one over NamedArrays with the strict broadcasting rule.

    Axes are matched by name. One operand's axis set (names and sizes) must be a subset of the other's;
    the result takes the larger operand's order (the left one's when the sets are equal). Otherwise a
    ``ValueError`` names the op, both axis tuples and any size mismatch. A NamedArray combines with a Python
    scalar or 0-d array (same axes), not with a non-scalar plain array (``ValueError``); a 0-d NamedArray with
    a plain array gives the plain result.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hypot = hax.wrap_elemwise_binary(jnp.hypot, "hypot")
        >>> hypot(hax.ones((X, Y)), hax.zeros(Y)).axes == (X, Y)
        True
    """
    fname = name or getattr(op, "__name__", "binary op")
    # our own table ops are elementwise, so their results need no shape check
    wrap = _unchecked if _trusted else NamedArray

    def binop(a: Any, b: Any) -> Any:
        a_named = isinstance(a, NamedArray)
        b_named = isinstance(b, NamedArray)
        if a_named and b_named:
            if a.axes == b.axes:
                return wrap(op(a.array, b.array), a.axes)
            if not a.axes:
                return wrap(op(a.array, b.array), b.axes)
            if not b.axes:
                return wrap(op(a.array, b.array), a.axes)
            out = binary_plan(a.axes, b.axes, fname)
            return wrap(op(align_to(a.array, a.axes, out, False), align_to(b.array, b.axes, out, False)), out)
        if a_named:
            if _is_scalarish(b):
                return wrap(op(a.array, b), a.axes)
            if not a.axes:
                return op(a.array, b)
            raise ValueError(
                f"{fname}: Cannot apply {fname} to a NamedArray and a non-scalar array of shape {jnp.shape(b)}; "
                "wrap it with hax.named(...) first"
            )
        if b_named:
            if _is_scalarish(a):
                return wrap(op(a, b.array), b.axes)
            if not b.axes:
                return op(a, b.array)
            raise ValueError(
                f"{fname}: Cannot apply {fname} to a NamedArray and a non-scalar array of shape {jnp.shape(a)}; "
                "wrap it with hax.named(...) first"
            )
        return op(a, b)

    binop.__name__ = fname
    binop.__qualname__ = fname
    binop.__doc__ = f"Named version of `jax.numpy.{fname}`: broadcasts by axis name (strict subset rule)."
    return binop


def _unary(fname: str, jfn: Callable[..., Any]) -> Callable[..., Any]:
    def fn(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, NamedArray):
            return _unchecked(jfn(a.array, *args, **kwargs), a.axes)
        return jfn(a, *args, **kwargs)

    fn.__name__ = fname
    fn.__qualname__ = fname
    fn.__doc__ = f"Named version of `jax.numpy.{fname}`: applied elementwise, axes kept."
    return fn


UNARY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    n: getattr(jnp, n)
    for n in (
        "abs absolute angle arccos arccosh arcsin arcsinh arctan arctanh around bitwise_count bitwise_invert "
        "bitwise_not cbrt ceil conj conjugate copy cos cosh deg2rad degrees exp exp2 expm1 fabs floor i0 imag "
        "invert iscomplex isfinite isinf isnan isneginf isposinf isreal log log10 log1p log2 logical_not negative "
        "positive rad2deg radians real reciprocal rint sign signbit sin sinc sinh square sqrt tan tanh trunc"
    ).split()
}
UNARY_FUNCTIONS["rsqrt"] = jax.lax.rsqrt
UNARY_FUNCTIONS["fix"] = jnp.trunc  # jnp.fix was removed from JAX; it is trunc

BINARY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    n: getattr(jnp, n)
    for n in (
        "add arctan2 bitwise_and bitwise_left_shift bitwise_or bitwise_right_shift bitwise_xor divide equal "
        "float_power floor_divide fmax fmin fmod greater greater_equal hypot left_shift less less_equal logaddexp "
        "logaddexp2 logical_and logical_or logical_xor maximum minimum mod multiply nextafter not_equal power "
        "remainder right_shift subtract true_divide"
    ).split()
}

_module = sys.modules[__name__]
for _n, _f in UNARY_FUNCTIONS.items():
    setattr(_module, _n, _unary(_n, _f))
for _n, _f in BINARY_FUNCTIONS.items():
    setattr(_module, _n, wrap_elemwise_binary(_f, _n, _trusted=True))
__all__ += list(UNARY_FUNCTIONS) + list(BINARY_FUNCTIONS)


def ndim(a: Any) -> int:
    """Number of axes (of a NamedArray) or dimensions (of anything else).

    Examples:
        >>> import haliax as hax
        >>> hax.ndim(hax.zeros(hax.make_axes(X=2, Y=3))), hax.ndim(1.0)
        (2, 0)
    """
    return a.ndim if isinstance(a, NamedArray) else jnp.ndim(a)


def round(a: Any, decimals: int = 0) -> Any:  # noqa: A001
    """Round to ``decimals`` places, keeping axes.

    Examples:
        >>> import haliax as hax
        >>> hax.round(hax.arange(hax.Axis("X", 3)) * 0.75).tolist()
        [0.0, 1.0, 2.0]
    """
    return wrap_elemwise_unary(jnp.round, a, decimals)


def _pair(fn: Callable[[Any], tuple[Any, Any]], a: Any) -> Any:
    if isinstance(a, NamedArray):
        x, y = fn(a.array)
        return NamedArray(x, a.axes), NamedArray(y, a.axes)
    return fn(a)


def frexp(a: Any) -> Any:
    """Mantissa and exponent, each with the input's axes.

    Examples:
        >>> import haliax as hax
        >>> m, e = hax.frexp(hax.full(hax.Axis("X", 1), 8.0))
        >>> m.tolist(), e.tolist()
        ([0.5], [4])
    """
    return _pair(jnp.frexp, a)


def divmod(a: Any, b: Any) -> Any:  # noqa: A001
    """``(a // b, a % b)`` with named broadcasting.

    Examples:
        >>> import haliax as hax
        >>> q, r = hax.divmod(hax.arange(hax.Axis("X", 4)), 3)
        >>> q.tolist(), r.tolist()
        ([0, 0, 0, 1], [0, 1, 2, 0])
    """
    return floor_divide(a, b), mod(a, b)  # type: ignore[name-defined]  # noqa: F821


def clip(array: Any, a_min: Any, a_max: Any) -> Any:
    """Clip to ``[a_min, a_max]``; bounds may be scalars, None (no bound) or NamedArrays (broadcast by name
    with the strict rule).

    Examples:
        >>> import haliax as hax
        >>> hax.clip(hax.arange(hax.Axis("X", 5)), 1, 3).tolist()
        [1, 1, 2, 3, 3]
    """
    if a_min is not None:
        array = maximum(array, a_min)  # type: ignore[name-defined]  # noqa: F821
    if a_max is not None:
        array = minimum(array, a_max)  # type: ignore[name-defined]  # noqa: F821
    return array


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Any:
    """Elementwise closeness (`jax.numpy.isclose`), with named broadcasting.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> hax.isclose(hax.ones(X), hax.ones(X) + 1e-9).tolist()
        [True, True]
    """
    return wrap_elemwise_binary(functools.partial(jnp.isclose, rtol=rtol, atol=atol, equal_nan=equal_nan), "isclose")(
        a, b
    )


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True if every element is close (a Python bool); named broadcasting applies.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> hax.allclose(hax.ones(X), hax.ones(X) * 1.01), hax.allclose(hax.ones(X), 1.0)
        (False, True)
    """
    return bool(jnp.all(unwrap_namedarrays(isclose(a, b, rtol, atol, equal_nan))[0]))


def array_equal(a: NamedArray, b: NamedArray) -> bool:
    """True if the two arrays have the same axes (in any order) and the same values.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> x = hax.arange((X, Y))
        >>> hax.array_equal(x, hax.named(x.array.T, (Y, X))), hax.array_equal(x, x.sum("Y"))
        (True, False)
    """
    if set(a.axes) != set(b.axes):
        return False
    (a2, b2), _ = broadcast_arrays_and_return_axes(a, b)
    return bool(jnp.array_equal(a2.array, b2.array))


def array_equiv(a: NamedArray, b: NamedArray) -> bool:
    """True if the arrays are equal after broadcasting by name (False if they do not broadcast).

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.array_equiv(hax.ones((X, Y)), hax.ones(Y)), hax.array_equiv(hax.ones(X), hax.ones(Y))
        (True, False)
    """
    try:
        return bool(jnp.all(equal(a, b).array))  # type: ignore[name-defined]  # noqa: F821
    except ValueError:
        return False


class ReductionFunction(Protocol):
    """A reduction over named axes: ``f(array, axis=None, *, where=None, **kwargs)``."""

    def __call__(self, array: NamedArray, axis: Any = None, where: NamedArray | None = None, **kwargs: Any) -> Any: ...


class SimpleReductionFunction(Protocol):
    """A reduction over named axes without ``where``."""

    def __call__(self, array: NamedArray, axis: Any = None, **kwargs: Any) -> Any: ...
