"""Random numbers with named shapes: thin wrappers over `jax.random`.

Every function takes the key first, then the named shape (an Axis, a tuple of Axis, or a shape dict), then the
distribution parameters. Each one makes exactly one call to the matching `jax.random` function with the
positional shape, so the numbers are **bitwise identical** to `jax.random.<fn>(key, ..., shape=to_jax_shape(shape))`.

The key must be one PRNG key (``TypeError``/``ValueError`` naming the function and ``key=`` otherwise), and the
shape must not name an axis twice (``ValueError`` naming the function and the axis); Haliax passes both mistakes
to JAX, whose messages name neither.

Parameters given as NamedArrays are broadcast *by name* to the requested shape (in the shape's axis order) and then
passed as full arrays; scalars and plain arrays pass straight through to JAX. Every result is a NamedArray with the
requested axes, passed through `haliax.partitioning.auto_sharded`.

Examples:
    >>> import jax
    >>> import haliax as hax
    >>> X, Y = hax.make_axes(X=2, Y=3)
    >>> key = jax.random.PRNGKey(0)
    >>> x = hax.random.normal(key, (X, Y))
    >>> bool((x.array == jax.random.normal(key, (2, 3))).all())
    True
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec

import jax
import jax.numpy as jnp

from .axis import Axis, AxisSelector, AxisSpec, locate_axis, name_index, unique_axes
from .core import NamedArray
from .ops.broadcast import broadcast_axis, broadcast_to
from .partitioning import auto_sharded, explicit_out_sharding

__all__ = [
    "uniform",
    "normal",
    "bernoulli",
    "randint",
    "truncated_normal",
    "poisson",
    "exponential",
    "laplace",
    "cauchy",
    "logistic",
    "gumbel",
    "rademacher",
    "gamma",
    "beta",
    "t",
    "weibull_min",
    "pareto",
    "loggamma",
    "ball",
    "choice",
    "categorical",
    "permutation",
]

_P = ParamSpec("_P")


def check_key(key: Any, fn: str, arg: str = "key") -> None:
    """Raise unless ``key`` is one PRNG key: a typed key array of shape ``()`` (`jax.random.key`) or a raw
    ``uint32`` key of shape ``(n,)`` (`jax.random.PRNGKey`). Tracers are checked by their shape and dtype.

    A wrong kind (None, an int, a float array) is a ``TypeError``, a batch of keys a ``ValueError``; both name
    ``fn`` and ``key=``. JAX's own messages ("unexpected PRNG key type") name neither. Shared by the layers'
    ``init`` methods, hence the plain name (internal: not in ``__all__``).
    """
    fix = "pass one key, e.g. key=jax.random.PRNGKey(0) or key=jax.random.key(0)"
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is None or shape is None or isinstance(key, NamedArray):
        if key is None:
            shown = "None"
        elif isinstance(key, (int, float, complex, str, bytes)):
            shown = f"the {type(key).__name__} {key!r}"
        else:
            shown = f"a {type(key).__name__}"
        raise TypeError(f"{fn}: {arg}= must be a PRNG key, got {shown}; {fix}")
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if tuple(shape) != ():
            raise ValueError(
                f"{fn}: {arg}= must be a single PRNG key, got an array of keys with shape {tuple(shape)}; "
                "index one (keys[0]) or split a single key"
            )
        return
    if dtype != jnp.uint32:
        raise TypeError(
            f"{fn}: {arg}= must be a PRNG key, got an array of dtype {dtype} with shape {tuple(shape)}; {fix}"
        )
    if len(shape) != 1:
        raise ValueError(
            f"{fn}: {arg}= must be a single raw PRNG key of shape (2,), got uint32 shape {tuple(shape)}; "
            "a stack of keys from jax.random.split needs indexing (keys[0])"
        )


def _fmt(axes: tuple[Axis, ...]) -> str:
    return "(" + ", ".join(str(a) for a in axes) + ")"


def _param(fn: str, name: str, value: Any, axes: tuple[Axis, ...]) -> Any:
    """A NamedArray parameter broadcast by name to ``axes`` (raw array); anything else unchanged."""
    if not isinstance(value, NamedArray):
        return value
    extra = [a for a in value.axes if a.name not in name_index(axes)]
    if extra:
        raise ValueError(
            f"{fn}: parameter {name!r} has axes {_fmt(value.axes)} but the requested shape is {_fmt(axes)}: "
            f"axes {[str(a) for a in extra]} are not in the shape"
        )
    try:
        return broadcast_to(value, axes).array
    except ValueError as e:
        raise ValueError(f"{fn}: parameter {name!r} cannot be broadcast to the shape {_fmt(axes)}: {e}") from None


def _out(array: jax.Array, axes: tuple[Axis, ...]) -> NamedArray:
    return auto_sharded(NamedArray(array, axes))


def _sampler(stub: Callable[_P, NamedArray]) -> Callable[_P, NamedArray]:
    """Turn a body-less stub ``name(key, shape, *params)`` into the wrapper of ``jax.random.<name>``.

    The stub gives the public name, signature and docstring. The wrapper binds the call to that signature
    (defaults applied), broadcasts NamedArray parameters by name to the shape and makes exactly one call
    ``jax.random.<name>(key, **params, shape=to_jax_shape(shape))``, so the numbers are bitwise JAX's.
    """
    name = stub.__name__
    jfn = getattr(jax.random, name)
    sig = inspect.signature(stub)
    takes_sharding = "out_sharding" in inspect.signature(jfn).parameters

    @functools.wraps(stub)
    def sample(*args: Any, **kwargs: Any) -> NamedArray:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{name}: {e}") from None
        bound.apply_defaults()
        params = dict(bound.arguments)
        key, axes = params.pop("key"), unique_axes(params.pop("shape"), name)
        check_key(key, name)
        raw = {k: _param(name, k, v, axes) for k, v in params.items()}
        spec = explicit_out_sharding(axes, name) if takes_sharding else None
        if spec is not None:  # an explicit mesh: sample straight into the sharding the names give
            raw["out_sharding"] = spec
        return _out(jfn(key, **raw, shape=tuple(a.size for a in axes)), axes)

    return sample


# --------------------------------------------------------------------------------------------------
# distributions with a shape


@_sampler
def uniform(key: Any, shape: AxisSpec, dtype: Any = float, minval: Any = 0.0, maxval: Any = 1.0) -> NamedArray:
    """Uniform samples in ``[minval, maxval)``; same numbers as `jax.random.uniform`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        dtype: the dtype of the result.
        minval: the lower bound (included); may be a NamedArray broadcast to ``shape``.
        maxval: the upper bound (excluded); may be a NamedArray broadcast to ``shape``.

    Examples:
        >>> import jax, haliax as hax
        >>> X = hax.Axis("X", 3)
        >>> u = hax.random.uniform(jax.random.PRNGKey(0), X, minval=-1.0, maxval=hax.full(X, 2.0))
        >>> u.axes, bool(((u.array >= -1) & (u.array < 2)).all())
        ((Axis(name='X', size=3),), True)
    """
    ...


@_sampler
def normal(key: Any, shape: AxisSpec, dtype: Any = float) -> NamedArray:
    """Standard normal samples; same numbers as `jax.random.normal`.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.normal(jax.random.PRNGKey(0), {"X": 2, "Y": 3}).shape
        {'X': 2, 'Y': 3}
    """
    ...


@_sampler
def bernoulli(key: Any, shape: AxisSpec, p: Any) -> NamedArray:
    """Boolean samples that are True with probability ``p``; same numbers as `jax.random.bernoulli`.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.bernoulli(jax.random.PRNGKey(0), hax.Axis("X", 4), 0.5).dtype
        dtype('bool')
    """
    ...


@_sampler
def randint(key: Any, shape: AxisSpec, minval: Any, maxval: Any, dtype: Any = int) -> NamedArray:
    """Integers in ``[minval, maxval)``; same numbers as `jax.random.randint`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        minval: the lower bound (included).
        maxval: the upper bound (excluded).
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> r = hax.random.randint(jax.random.PRNGKey(0), hax.Axis("X", 5), 0, 3)
        >>> bool(((r.array >= 0) & (r.array < 3)).all())
        True
    """
    ...


@_sampler
def truncated_normal(key: Any, shape: AxisSpec, lower: Any, upper: Any, dtype: Any = float) -> NamedArray:
    """Normal samples truncated to ``(lower, upper)``; same numbers as `jax.random.truncated_normal`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        lower: the lower bound, in standard deviations.
        upper: the upper bound, in standard deviations.
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> x = hax.random.truncated_normal(jax.random.PRNGKey(0), hax.Axis("X", 100), -2, 2)
        >>> bool((abs(x.array) <= 2).all())
        True
    """
    ...


@_sampler
def poisson(key: Any, shape: AxisSpec, lam: Any, dtype: Any = int) -> NamedArray:
    """Poisson samples with rate ``lam``; same numbers as `jax.random.poisson`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        lam: the rate.
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.poisson(jax.random.PRNGKey(0), hax.Axis("X", 3), 2.0).axes
        (Axis(name='X', size=3),)
    """
    ...


@_sampler
def exponential(key: Any, shape: AxisSpec, dtype: Any = float) -> NamedArray:
    """Standard exponential samples; same numbers as `jax.random.exponential`.

    Examples:
        >>> import jax, haliax as hax
        >>> bool((hax.random.exponential(jax.random.PRNGKey(0), hax.Axis("X", 4)).array >= 0).all())
        True
    """
    ...


@_sampler
def laplace(key: Any, shape: AxisSpec, dtype: Any = float) -> NamedArray:
    """Standard Laplace samples; same numbers as `jax.random.laplace`.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.laplace(jax.random.PRNGKey(0), hax.Axis("X", 2)).shape
        {'X': 2}
    """
    ...


@_sampler
def cauchy(key: Any, shape: AxisSpec, dtype: Any = float) -> NamedArray:
    """Standard Cauchy samples; same numbers as `jax.random.cauchy`.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.cauchy(jax.random.PRNGKey(0), hax.Axis("X", 2)).shape
        {'X': 2}
    """
    ...


@_sampler
def logistic(key: Any, shape: AxisSpec, dtype: Any = float) -> NamedArray:
    """Standard logistic samples; same numbers as `jax.random.logistic`.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.logistic(jax.random.PRNGKey(0), hax.Axis("X", 2)).shape
        {'X': 2}
    """
    ...


@_sampler
def gumbel(key: Any, shape: AxisSpec, dtype: Any = float) -> NamedArray:
    """Standard Gumbel samples; same numbers as `jax.random.gumbel`.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.gumbel(jax.random.PRNGKey(0), hax.Axis("X", 2)).shape
        {'X': 2}
    """
    ...


@_sampler
def rademacher(key: Any, shape: AxisSpec, dtype: Any = float) -> NamedArray:
    """Samples of ±1 with equal probability; same numbers as `jax.random.rademacher`.

    Unlike `jax.random.rademacher` (integer by default) the default dtype here is float.

    Examples:
        >>> import jax, haliax as hax
        >>> r = hax.random.rademacher(jax.random.PRNGKey(0), hax.Axis("X", 6))
        >>> bool((abs(r.array) == 1).all())
        True
    """
    ...


@_sampler
def gamma(key: Any, shape: AxisSpec, a: Any, dtype: Any = float) -> NamedArray:
    """Gamma samples with concentration ``a``; same numbers as `jax.random.gamma`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        a: the concentration.
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> X = hax.Axis("X", 3)
        >>> hax.random.gamma(jax.random.PRNGKey(0), X, hax.arange(X) + 1.0).axes
        (Axis(name='X', size=3),)
    """
    ...


@_sampler
def beta(key: Any, shape: AxisSpec, a: Any, b: Any, dtype: Any = float) -> NamedArray:
    """Beta samples with parameters ``a`` and ``b``; same numbers as `jax.random.beta`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        a: the first shape parameter.
        b: the second shape parameter.
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> x = hax.random.beta(jax.random.PRNGKey(0), hax.Axis("X", 3), 2.0, 3.0)
        >>> bool(((x.array >= 0) & (x.array <= 1)).all())
        True
    """
    ...


@_sampler
def t(key: Any, shape: AxisSpec, df: Any, dtype: Any = float) -> NamedArray:
    """Student's t samples with ``df`` degrees of freedom; same numbers as `jax.random.t`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        df: the degrees of freedom.
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.t(jax.random.PRNGKey(0), hax.Axis("X", 2), 3.0).shape
        {'X': 2}
    """
    ...


@_sampler
def weibull_min(key: Any, shape: AxisSpec, scale: Any, concentration: Any, dtype: Any = float) -> NamedArray:
    """Weibull samples; same numbers as `jax.random.weibull_min`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        scale: the scale parameter.
        concentration: the concentration (shape) parameter.
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.weibull_min(jax.random.PRNGKey(0), hax.Axis("X", 2), 1.0, 2.0).shape
        {'X': 2}
    """
    ...


@_sampler
def pareto(key: Any, shape: AxisSpec, b: Any, dtype: Any = float) -> NamedArray:
    """Pareto samples with shape parameter ``b``; same numbers as `jax.random.pareto`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        b: the shape parameter.
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> bool((hax.random.pareto(jax.random.PRNGKey(0), hax.Axis("X", 4), 3.0).array >= 1).all())
        True
    """
    ...


@_sampler
def loggamma(key: Any, shape: AxisSpec, a: Any, dtype: Any = float) -> NamedArray:
    """Log-gamma samples with concentration ``a``; same numbers as `jax.random.loggamma`.

    Args:
        key: the PRNG key.
        shape: the axes (with sizes) of the result.
        a: the concentration.
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> hax.random.loggamma(jax.random.PRNGKey(0), hax.Axis("X", 2), 0.5).shape
        {'X': 2}
    """
    ...


def ball(key: Any, shape: AxisSpec, D: Axis, p: float = 2.0, dtype: Any = float) -> NamedArray:
    """Points uniform in the unit ``p``-ball of dimension ``D.size``; output axes ``shape + (D,)``.

    Same numbers as `jax.random.ball(key, D.size, p, shape)`.

    Args:
        key: the PRNG key.
        shape: the batch axes of the result.
        D: the axis of the points' coordinates.
        p: the exponent of the norm.
        dtype: the dtype of the result.

    Examples:
        >>> import jax, haliax as hax
        >>> B, D = hax.make_axes(B=4, D=3)
        >>> hax.random.ball(jax.random.PRNGKey(0), B, D).shape
        {'B': 4, 'D': 3}
    """
    check_key(key, "ball")
    axes = unique_axes(shape, "ball")
    if not isinstance(D, Axis):
        raise TypeError(f"ball: argument 'D' must be an Axis (its size is the dimension), got {D!r}")
    if D.name in name_index(axes):
        raise ValueError(f"ball: the dimension axis {D} is already in the shape {_fmt(axes)}")
    arr = jax.random.ball(key, D.size, p, shape=tuple(a.size for a in axes), dtype=dtype)
    return _out(arr, axes + (D,))


# --------------------------------------------------------------------------------------------------
# functions of an array


def _check_named(fn: str, arg: str, x: Any) -> None:
    if not isinstance(x, NamedArray):
        raise TypeError(f"{fn}: argument {arg!r} must be a NamedArray, got {type(x).__name__}")


def choice(
    key: Any, shape: AxisSpec, a: NamedArray, axis: AxisSelector, replace: bool = True, p: Any = None
) -> NamedArray:
    """Sample entries of ``a`` along ``axis``; output axes ``shape + (a.axes without axis)``.

    The numbers equal `jax.random.choice(key, a_moved, to_jax_shape(shape), replace, p, axis=0)` where ``a_moved`` is
    ``a``'s array with ``axis`` moved to the front (equivalently, `jax.random.choice` with ``axis=i`` followed by
    moving the sampled dimensions to the front). ``p`` (NamedArray or plain array) must be 1-D over ``axis``.

    Haliax passes ``axis=i`` to JAX but labels the result ``shape + rest``, which fails (or silently mislabels
    the axes) whenever ``axis`` is not ``a``'s leading axis. We move the axis to the front first, so the labels
    are always right.

    Args:
        key: the PRNG key.
        shape: the axes of the samples.
        a: the array to sample from.
        axis: the axis of ``a`` along which entries are sampled.
        replace: sample with replacement.
        p: optional probabilities, 1-D over ``axis`` (a NamedArray or a plain array).

    Examples:
        >>> import jax, haliax as hax
        >>> S, Y, Z = hax.make_axes(S=5, Y=3, Z=2)
        >>> hax.random.choice(jax.random.PRNGKey(0), S, hax.arange((Y, Z)), "Z").axes
        (Axis(name='S', size=5), Axis(name='Y', size=3))
    """
    check_key(key, "choice")
    _check_named("choice", "a", a)
    axes = unique_axes(shape, "choice")
    i = locate_axis(a.axes, axis, "choice", "a")
    rest = a.axes[:i] + a.axes[i + 1 :]
    clash = [x.name for x in rest if x.name in name_index(axes)]
    if clash:
        raise ValueError(
            f"choice: axes {clash} of a {_fmt(a.axes)} (kept in the output) also appear in the shape {_fmt(axes)}"
        )
    if p is not None:
        if isinstance(p, NamedArray):
            if len(p.axes) != 1 or p.axes[0].name != a.axes[i].name:
                raise ValueError(f"choice: p must be 1-D over the axis {a.axes[i]}, got axes {_fmt(p.axes)}")
            p = p.array
        elif jnp.ndim(p) != 1:
            raise ValueError(f"choice: p must be 1-D over the axis {a.axes[i]}, got shape {jnp.shape(p)}")
    arr = jnp.moveaxis(a.array, i, 0) if i != 0 else a.array
    out = jax.random.choice(key, arr, tuple(x.size for x in axes), replace=replace, p=p, axis=0)
    return _out(out, axes + rest)


def categorical(key: Any, logits: NamedArray, axis: AxisSelector, shape: AxisSpec | None = None) -> NamedArray:
    """Sample category indices along ``axis`` from unnormalised log-probabilities ``logits``.

    With ``shape=None`` the output axes are ``logits.axes`` without ``axis``; otherwise ``shape`` (which must not
    contain ``axis`` and must contain every other axis of ``logits``). The logits are first broadcast to the shape
    (missing axes in front, ``axis`` kept in place), then `jax.random.categorical(key, logits_array, axis=i,
    shape=...)` is called, so with ``shape=None`` the numbers equal ``jax.random.categorical(key, logits.array,
    axis=i)``.

    Args:
        key: the PRNG key.
        logits: unnormalised log-probabilities.
        axis: the category axis of ``logits``.
        shape: the axes of the result (default: ``logits``' axes without ``axis``).

    Examples:
        >>> import jax, haliax as hax
        >>> B, V = hax.make_axes(B=4, V=3)
        >>> hax.random.categorical(jax.random.PRNGKey(0), hax.zeros((B, V)), V).axes
        (Axis(name='B', size=4),)
    """
    check_key(key, "categorical")
    _check_named("categorical", "logits", logits)
    i = locate_axis(logits.axes, axis, "categorical", "logits")
    cat = logits.axes[i]
    if shape is None:
        axes = logits.axes[:i] + logits.axes[i + 1 :]
    else:
        axes = unique_axes(shape, "categorical")
        if cat.name in name_index(axes):
            raise ValueError(f"categorical: the sampled axis {cat} must not be in shape {_fmt(axes)}")
        missing = [x.name for x in logits.axes if x.name != cat.name and x.name not in name_index(axes)]
        if missing:
            raise ValueError(
                f"categorical: logits axes {missing} (logits axes {_fmt(logits.axes)}) are not in shape {_fmt(axes)}"
            )
        logits = broadcast_axis(logits, axes)
        i = name_index(logits.axes)[cat.name]
    out = jax.random.categorical(key, logits.array, axis=i, shape=tuple(x.size for x in axes))
    return _out(out, axes)


def permutation(key: Any, x: NamedArray, axis: AxisSelector, independent: bool = False) -> NamedArray:
    """Shuffle ``x`` along ``axis``; same numbers as `jax.random.permutation(key, x.array, axis=i)`.

    With ``independent=True`` every slice along the other axes is shuffled independently.

    Args:
        key: the PRNG key.
        x: the array to shuffle.
        axis: the axis to shuffle along.
        independent: shuffle every slice along the other axes independently.

    Examples:
        >>> import jax, haliax as hax
        >>> X = hax.Axis("X", 5)
        >>> sorted(hax.random.permutation(jax.random.PRNGKey(0), hax.arange(X), X).tolist())
        [0, 1, 2, 3, 4]
    """
    check_key(key, "permutation")
    _check_named("permutation", "x", x)
    i = locate_axis(x.axes, axis, "permutation", "x")
    return _out(jax.random.permutation(key, x.array, axis=i, independent=independent), x.axes)
