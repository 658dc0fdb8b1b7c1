"""Named polynomial functions: thin wrappers over the ``jax.numpy`` polynomial functions.

Coefficients are 1-D, highest degree first (the NumPy convention), and the values are exactly those of the
matching ``jax.numpy`` function. The result's coefficient axis reuses the axis of the NamedArray input,
resized (for two inputs, the first one that is named). When no input is named, the axis is
``Axis(DEFAULT_POLY_AXIS_NAME, n)``, i.e. ``"degree"``. Raw inputs may be JAX/NumPy arrays or scalars.

The module is also reachable as ``sys.modules["haliax.poly"]``: the top-level function ``haliax.poly``
shadows it as an attribute of the package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from .axis import Axis, AxisSelector, locate_axis
from .core import NamedArray
from .partitioning import explicit_auto_axes, explicit_out_sharding, explicit_reshard, explicit_unshard_dims

__all__ = [
    "DEFAULT_POLY_AXIS_NAME",
    "poly",
    "polyadd",
    "polysub",
    "polymul",
    "polydiv",
    "polyint",
    "polyder",
    "polyval",
    "polyfit",
    "roots",
    "trim_zeros",
    "vander",
]

DEFAULT_POLY_AXIS_NAME = "degree"
"""The name of the coefficient axis when no input is a NamedArray."""


def _coef(p: Any, fn: str, arg: str) -> tuple[Any, Axis | None]:
    """The raw array of a coefficient argument and its axis (None for a raw input)."""
    if isinstance(p, NamedArray):
        if len(p.axes) != 1:
            raise ValueError(
                f"{fn}: argument {arg!r}: Polynomial coefficient arrays must be 1D, "
                f"got axes ({', '.join(str(a) for a in p.axes)})"
            )
        return explicit_unshard_dims(p.array, [0]), p.axes[0]  # an explicit mesh: coefficients are replicated
    return p, None


def _wrap(result: Any, *like: Axis | None, fn: str = "poly") -> NamedArray:
    """``result`` (1-D) on the first given axis resized to its length, else on the ``degree`` axis (on an
    explicit mesh typed by that name)."""
    ax = next((a for a in like if a is not None), None)
    name = ax.name if ax is not None else DEFAULT_POLY_AXIS_NAME
    axes = (Axis(name, result.shape[0]),)
    return NamedArray(explicit_reshard(result, explicit_out_sharding(axes, fn)), axes)


def poly(seq_of_zeros: Any) -> NamedArray:
    """The coefficients of the monic polynomial with the given roots (`jax.numpy.poly`); ``n`` roots give ``n + 1``.

    A square 2-D matrix gives its characteristic polynomial (complex for float input) on a ``degree`` axis,
    whether it is named or raw (Haliax rejects a named matrix).

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import poly
        >>> c = poly(hax.named(jnp.array([1.0, 2.0]), "r"))
        >>> c.axes, c.array.tolist()
        ((Axis(name='r', size=3),), [1.0, -3.0, 2.0])
        >>> poly(jnp.array([1.0, 2.0])).axes
        (Axis(name='degree', size=3),)
    """
    fn = "poly"
    if isinstance(seq_of_zeros, NamedArray) and len(seq_of_zeros.axes) != 1:
        axes = seq_of_zeros.axes
        if len(axes) != 2 or axes[0].size != axes[1].size or axes[0].size == 0:
            raise ValueError(
                f"{fn}: argument 'seq_of_zeros': expected 1-D roots or a non-empty square 2-D matrix, "
                f"got axes ({', '.join(str(a) for a in axes)})"
            )
        return _wrap(jnp.poly(explicit_unshard_dims(seq_of_zeros.array, [0, 1])), None, fn=fn)
    z, ax = _coef(seq_of_zeros, fn, "seq_of_zeros")
    return _wrap(jnp.poly(z), ax, fn=fn)


def _binary(op: Callable[[Any, Any], Any], fn: str, a1: Any, a2: Any) -> NamedArray:
    """``op`` (`jax.numpy.polyadd`, ``polysub`` or ``polymul``) on the coefficients of ``a1`` and ``a2``, named."""
    x1, ax1 = _coef(a1, fn, "a1")
    x2, ax2 = _coef(a2, fn, "a2")
    return _wrap(op(x1, x2), ax1, ax2, fn=fn)


def polyadd(a1: Any, a2: Any) -> NamedArray:
    """The sum of two polynomials (`jax.numpy.polyadd`); the result is as long as the longer one.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import polyadd
        >>> p = hax.named(jnp.array([1, 2, 3]), "coef")
        >>> q = hax.named(jnp.array([1, -1]), "q")
        >>> polyadd(p, q).array.tolist(), polyadd(q, p).axes
        ([1, 3, 2], (Axis(name='q', size=3),))
    """
    return _binary(jnp.polyadd, "polyadd", a1, a2)


def polysub(a1: Any, a2: Any) -> NamedArray:
    """The difference of two polynomials (`jax.numpy.polysub`); the result is as long as the longer one.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import polysub
        >>> p = hax.named(jnp.array([1, 2, 3]), "coef")
        >>> polysub(p, jnp.array([1, -1])).array.tolist()
        [1, 1, 4]
    """
    return _binary(jnp.polysub, "polysub", a1, a2)


def polymul(a1: Any, a2: Any) -> NamedArray:
    """The product of two polynomials (`jax.numpy.polymul`); sizes ``n1`` and ``n2`` give ``n1 + n2 - 1``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import polymul
        >>> p = hax.named(jnp.array([1, 2, 3]), "coef")
        >>> r = polymul(p, jnp.array([1, -1]))
        >>> r.axes, r.array.tolist()
        ((Axis(name='coef', size=4),), [1.0, 1.0, 1.0, -3.0])
    """
    return _binary(jnp.polymul, "polymul", a1, a2)


def polydiv(u: Any, v: Any) -> tuple[NamedArray, NamedArray]:
    """Polynomial division (`jax.numpy.polydiv`): ``(quotient, remainder)``.

    Sizes ``n1`` and ``n2`` give a quotient of ``n1 - n2 + 1`` and, as JAX keeps it, a full-length
    remainder of ``n1`` (leading entries zero). Both are on the axis of ``u`` (or ``v``) resized.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import polydiv
        >>> p = hax.named(jnp.array([1.0, 2.0, 3.0]), "coef")
        >>> q, r = polydiv(p, jnp.array([1.0, -1.0]))
        >>> q.array.tolist(), r.array.tolist()
        ([1.0, 3.0], [0.0, 0.0, 6.0])
    """
    x1, ax1 = _coef(u, "polydiv", "u")
    x2, ax2 = _coef(v, "polydiv", "v")
    q, r = jnp.polydiv(x1, x2)
    return _wrap(q, ax1, ax2, fn="polydiv"), _wrap(r, ax1, ax2, fn="polydiv")


def polyint(p: Any, m: int = 1, k: Any = None) -> NamedArray:
    """The ``m``-th antiderivative (`jax.numpy.polyint`); size ``n + m``.

    ``k`` holds the integration constants (a scalar, a raw array or a NamedArray, which is unwrapped).

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import polyint
        >>> p = hax.named(jnp.array([1.0, 2.0, 3.0]), "coef")
        >>> polyint(p, k=hax.named(jnp.array([5.0]), "k")).array.tolist()
        [0.3333333432674408, 1.0, 3.0, 5.0]
    """
    x, ax = _coef(p, "polyint", "p")
    if isinstance(k, NamedArray):
        k = k.array
    return _wrap(jnp.polyint(x, m=m, k=k), ax, fn="polyint")


def polyder(p: Any, m: int = 1) -> NamedArray:
    """The ``m``-th derivative (`jax.numpy.polyder`); size ``max(n - m, 0)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import polyder
        >>> p = hax.named(jnp.array([1, 2, 3]), "coef")
        >>> polyder(p).array.tolist(), polyder(p, m=3).axes
        ([2.0, 2.0], (Axis(name='coef', size=0),))
    """
    x, ax = _coef(p, "polyder", "p")
    return _wrap(jnp.polyder(x, m=m), ax, fn="polyder")


def polyval(p: Any, x: Any, *, unroll: int = 16) -> Any:
    """Evaluate the polynomial ``p`` at ``x`` (`jax.numpy.polyval`).

    A NamedArray ``x`` gives a NamedArray with ``x``'s axes; any other ``x`` (a scalar or raw array) gives a
    raw JAX array. ``unroll`` is passed to JAX.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import polyval
        >>> p = hax.named(jnp.array([1, 2, 3]), "coef")
        >>> polyval(p, hax.arange(hax.Axis("x", 4))).array.tolist()
        [3, 6, 11, 18]
        >>> polyval(p, 2.0)
        Array(11., dtype=float32)
    """
    c, _ = _coef(p, "polyval", "p")
    if isinstance(x, NamedArray):
        axes = x.axes

        def run(c: Any, xa: Any) -> NamedArray:
            return NamedArray(jnp.polyval(c, xa, unroll=unroll), axes)

        # an explicit mesh: JAX's scan rejects a sharded x (its carry starts unsharded), so it runs on Auto axes
        return explicit_auto_axes(run, axes, "polyval")(c, x.array)
    return jnp.polyval(c, x, unroll=unroll)


def _fit_y(x_ax: Axis | None, y: Any) -> tuple[Any, tuple[Axis, ...], Axis | None]:
    """polyfit's ``y``: the raw array with the sample axis first, the other (fit) axes, and the sample axis."""
    fn = "polyfit"
    if not isinstance(y, NamedArray):
        if np.ndim(y) > 1:
            raise ValueError(
                f"{fn}: argument 'y': a 2-D y must be a NamedArray (its axes name the fits), got a raw array of "
                f"shape {np.shape(y)}"
            )
        return y, (), None
    axes = y.axes
    if len(axes) == 1:
        return y.array, (), axes[0]
    if len(axes) != 2:
        raise ValueError(f"{fn}: argument 'y': y must have 1 or 2 axes, got ({', '.join(str(a) for a in axes)})")
    if x_ax is None:
        raise ValueError(
            f"{fn}: argument 'y': with a 2-D y, x must be a NamedArray whose axis names y's sample axis, "
            f"got a raw x and y axes ({', '.join(str(a) for a in axes)})"
        )
    i = locate_axis(axes, x_ax.name, fn, "y")
    return jnp.moveaxis(y.array, i, 0), (axes[1 - i],), axes[i]


def polyfit(
    x: Any,
    y: Any,
    deg: int,
    rcond: float | None = None,
    full: bool = False,
    w: Any = None,
    cov: bool = False,
) -> Any:
    """Least-squares polynomial fit of degree ``deg`` (`jax.numpy.polyfit`).

    The ``deg + 1`` coefficients lie on x's axis resized (else y's, else ``degree``): the sample axis name is
    reused. ``y`` may have a second axis holding several fits at once; its sample axis is the one named like
    x's axis, and the result has axes ``(coefficient axis, y's other axis)`` (Haliax fails with a shape
    mismatch here).

    Args:
        x: the sample points (1-D, named or raw).
        y: the sample values: 1-D, or 2-D named with x's axis and one axis of fits.
        deg: the degree of the polynomial.
        rcond: the relative condition number of the fit (JAX's default when None).
        full: if True, return ``(coef, residuals, rank, singular_values, rcond)``, the last four raw.
        w: weights of the samples (named or raw).
        cov: if True (and not ``full``), return ``(coef, cov)``, where ``cov`` has axes
            ``(C, C.alias(C.name + "_cov"))`` (then y's fit axis, if any) for the coefficient axis ``C``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.poly import polyfit
        >>> X = hax.Axis("x", 4)
        >>> xs = hax.arange(X, dtype=float)
        >>> c = polyfit(xs, xs * xs + 1.0, 2)
        >>> c.axes, [round(v, 4) for v in c.array.tolist()]
        ((Axis(name='x', size=3),), [1.0, 0.0, 1.0])
    """
    fn = "polyfit"
    xa, x_ax = _coef(x, fn, "x")
    ya, fit_axes, y_ax = _fit_y(x_ax, y)
    if isinstance(w, NamedArray):
        w = w.array
    out = jnp.polyfit(xa, ya, deg, rcond=rcond, full=full, w=w, cov=cov)
    name = next((a.name for a in (x_ax, y_ax) if a is not None), DEFAULT_POLY_AXIS_NAME)
    C = Axis(name, deg + 1)
    if full:
        coef, *rest = out
        return (NamedArray(coef, (C, *fit_axes)), *rest)
    if cov:
        coef, c = out
        return NamedArray(coef, (C, *fit_axes)), NamedArray(c, (C, C.alias(C.name + "_cov"), *fit_axes))
    return NamedArray(out, (C, *fit_axes))


def roots(p: Any, *, strip_zeros: bool = True) -> NamedArray:
    """The complex roots of a polynomial (`jax.numpy.roots`), on p's axis resized to the number of roots.

    With ``strip_zeros=True`` (the default) leading zeros are stripped first, so the result size depends on
    the values and the function cannot run under `jax.jit` (JAX raises its concretization error). With
    ``strip_zeros=False`` the size is ``n - 1`` (leading zeros give NaN roots) and it can be jitted.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import roots
        >>> r = roots(hax.named(jnp.array([1.0, -3.0, 2.0]), "coef"))
        >>> r.axes, sorted(r.real.array.tolist())
        ((Axis(name='coef', size=2),), [1.0, 2.0])
    """
    x, ax = _coef(p, "roots", "p")
    return _wrap(jnp.roots(x, strip_zeros=strip_zeros), ax, fn="roots")


def trim_zeros(f: Any, trim: str = "fb") -> NamedArray:
    """Strip leading (``"f"``) and/or trailing (``"b"``) zeros (`jax.numpy.trim_zeros`); the axis is resized.

    The result size depends on the values, so this cannot run under `jax.jit` (JAX raises its concretization
    error).

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.poly import trim_zeros
        >>> c = hax.named(jnp.array([0, 1, 2, 0]), "c")
        >>> trim_zeros(c).array.tolist(), trim_zeros(c, trim="f").axes
        ([1, 2], (Axis(name='c', size=3),))
    """
    x, ax = _coef(f, "trim_zeros", "f")
    return _wrap(jnp.trim_zeros(x, trim), ax, fn="trim_zeros")


def vander(x: NamedArray, degree: AxisSelector, *, increasing: bool = False) -> NamedArray:
    """The Vandermonde matrix of ``x`` (`jax.numpy.vander`): axes ``(x's axis, degree axis)``.

    Columns are decreasing powers (increasing with ``increasing=True``). ``degree`` is a name (then there are
    ``len(x)`` columns) or an Axis (its size is the number of columns). A raw array raises ``TypeError``
    (Haliax raises ``AttributeError``); a NamedArray that is not 1-D raises ``ValueError``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.poly import vander
        >>> v = vander(hax.arange(hax.Axis("x", 3)), hax.Axis("deg", 2))
        >>> v.axes, v.array.tolist()
        ((Axis(name='x', size=3), Axis(name='deg', size=2)), [[0, 1], [1, 1], [2, 1]])
    """
    fn = "vander"
    if not isinstance(x, NamedArray):
        raise TypeError(f"{fn}: argument 'x' must be a NamedArray, got {type(x).__name__}")
    if len(x.axes) != 1:
        raise ValueError(f"{fn}: argument 'x': vander only supports 1D input, got axes {x.axes}")
    (X,) = x.axes
    if isinstance(degree, Axis):
        D = degree
    elif isinstance(degree, str):
        D = Axis(degree, X.size)
    else:
        raise TypeError(f"{fn}: argument 'degree': expected an axis name or Axis, got {degree!r}")
    if D.name == X.name:
        raise ValueError(f"{fn}: argument 'degree': Axes must be unique, but {D.name} is also x's axis ({X}, {D})")
    return NamedArray(jnp.vander(x.array, D.size, increasing=increasing), (X, D))
