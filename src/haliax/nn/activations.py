"""Activation functions and functional helpers over named axes.

The simple activations are generated from a table: each takes a NamedArray, a JAX array or a Python scalar,
applies the matching `jax.nn` function elementwise and keeps the axes (non-named inputs pass straight
through, so ``relu(-1.0) == 0.0``). No extra parameters are exposed (``leaky_relu`` uses JAX's default slope
0.01, ``elu``/``celu`` use alpha 1.0).

Normalising functions (`logsumexp`, `softmax`, `log_softmax`) compute in at least float32 and cast back to
the input dtype, so bfloat16/float16 inputs do not lose precision in the reduction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from ..axis import Axis, AxisIndexError, AxisSelection, AxisSelector, AxisSpec, locate_axes, lookup_axis
from ..core import NamedArray, from_validated
from ..ops.broadcast import broadcast_to
from ..ops.elementwise import wrap_elemwise_unary
from ..ops.reductions import wrap_axiswise_call, wrap_reduction_call

A = TypeVar("A", NamedArray, jax.Array, float)

__all__ = [
    "relu",
    "relu6",
    "sigmoid",
    "softplus",
    "soft_sign",
    "silu",
    "swish",
    "log_sigmoid",
    "leaky_relu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "elu",
    "celu",
    "selu",
    "gelu",
    "quick_gelu",
    "relu_squared",
    "glu",
    "logsumexp",
    "softmax",
    "log_softmax",
    "standardize",
    "one_hot",
]


def _make_activation(name: str, jfn: Callable[..., Any]) -> Callable[[Any], Any]:
    def fn(a: A) -> A:
        return wrap_elemwise_unary(jfn, a)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__module__ = __name__
    fn.__doc__ = f"""Named version of `jax.nn.{jfn.__name__}`, applied elementwise (axes kept).

    Accepts a NamedArray, a JAX array or a Python scalar.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> X = hax.Axis("X", 3)
        >>> y = hnn.{name}(hax.arange(X, dtype=float) - 1.0)
        >>> y.axes == (X,)
        True
    """
    return fn


# One line per activation (explicit assignments keep the names visible to static tools and mkdocstrings).
relu = _make_activation("relu", jax.nn.relu)
relu6 = _make_activation("relu6", jax.nn.relu6)
sigmoid = _make_activation("sigmoid", jax.nn.sigmoid)
softplus = _make_activation("softplus", jax.nn.softplus)
soft_sign = _make_activation("soft_sign", jax.nn.soft_sign)
silu = _make_activation("silu", jax.nn.silu)
swish = _make_activation("swish", jax.nn.silu)
log_sigmoid = _make_activation("log_sigmoid", jax.nn.log_sigmoid)
leaky_relu = _make_activation("leaky_relu", jax.nn.leaky_relu)
hard_sigmoid = _make_activation("hard_sigmoid", jax.nn.hard_sigmoid)
hard_silu = _make_activation("hard_silu", jax.nn.hard_silu)
hard_swish = _make_activation("hard_swish", jax.nn.hard_swish)
hard_tanh = _make_activation("hard_tanh", jax.nn.hard_tanh)
elu = _make_activation("elu", jax.nn.elu)
celu = _make_activation("celu", jax.nn.celu)
selu = _make_activation("selu", jax.nn.selu)


def gelu(a: A, approximate: bool = True) -> A:
    """Named `jax.nn.gelu`. Uses the tanh approximation by default (as JAX does).

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> X = hax.Axis("X", 2)
        >>> [round(v, 4) for v in hnn.gelu(hax.arange(X, dtype=float)).tolist()]
        [0.0, 0.8412]
    """
    return wrap_elemwise_unary(jax.nn.gelu, a, approximate=approximate)


def _quick_gelu(x: Any) -> Any:
    return x * jax.nn.sigmoid(1.702 * x)


def quick_gelu(x: A) -> A:
    """``x * sigmoid(1.702 * x)``, the fast GELU approximation used by CLIP.

    Examples:
        >>> import haliax.nn as hnn
        >>> round(float(hnn.quick_gelu(1.0)), 4)
        0.8458
    """
    return wrap_elemwise_unary(_quick_gelu, x)


def _relu_squared(x: Any) -> Any:
    return jnp.square(jax.nn.relu(x))


def relu_squared(x: A) -> A:
    """``square(relu(x))``; keeps the dtype of floating inputs and propagates NaN.

    Examples:
        >>> import haliax.nn as hnn
        >>> float(hnn.relu_squared(3.0)), float(hnn.relu_squared(-3.0))
        (9.0, 0.0)
    """
    return wrap_elemwise_unary(_relu_squared, x)


def glu(x: NamedArray, axis: AxisSelector) -> NamedArray:
    """Gated linear unit: split ``axis`` into halves ``a`` (first) and ``b`` (second), return ``a * sigmoid(b)``.

    The axis keeps its name and position, with half its size. ``axis`` may be an Axis or a name.

    Haliax re-wraps the halved array with the original axes, so its `glu` always raises a shape error, and it
    accepts only an Axis object; we compute the gated unit and accept a name too.

    Raises:
        ValueError: if the axis is missing or has an odd size.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, H = hax.make_axes(B=2, H=4)
        >>> hnn.glu(hax.ones((B, H)), "H").axes
        (Axis(name='B', size=2), Axis(name='H', size=2))
    """
    if not isinstance(x, NamedArray):
        raise TypeError(f"glu: argument 'x' must be a NamedArray, got {type(x).__name__}")
    (i,) = locate_axes(x.axes, axis, "glu")
    old = x.axes[i]
    if old.size % 2 != 0:
        raise ValueError(f"glu: axis {old.name} must have an even size to be split in two, got {old.size}")
    a, b = jnp.split(x.array, 2, axis=i)
    new_axes = x.axes[:i] + (old.resize(old.size // 2),) + x.axes[i + 1 :]
    return NamedArray(a * jax.nn.sigmoid(b), new_axes)


def compute_dtype(dtype: Any) -> Any:
    """At least float32 for floating dtypes (low-precision inputs are up-cast for the reduction)."""
    if jnp.issubdtype(dtype, jnp.floating) and jnp.finfo(dtype).bits < 32:
        return jnp.float32
    if not jnp.issubdtype(dtype, jnp.inexact):
        return jnp.result_type(float)
    return dtype


def _upcasting(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a raw-array ``fn(x, axis=...)`` to compute in at least float32 and cast floats back.

    The upcast, ``fn`` and the downcast are one jitted function per ``axis`` (cached; inlined when traced, so a
    traced program is unchanged): eagerly a call is one dispatch, where the separate ``astype`` calls and the
    un-jitted ``jax.nn`` function cost more than the work at small sizes."""
    cache: dict[Any, Callable[..., Any]] = {}

    def wrapped(x: Any, axis: Any = None, **kw: Any) -> Any:
        if not isinstance(x, jax.Array):
            x = jnp.asarray(x)
        if kw:
            return _upcast_call(fn, x, axis, kw)
        if isinstance(axis, list):
            axis = tuple(axis)
        f = cache.get(axis)
        if f is None:
            f = cache[axis] = jax.jit(lambda y: _upcast_call(fn, y, axis, {}), inline=True)
        return f(x)

    wrapped.__name__ = fn.__name__
    return wrapped


def _upcast_call(fn: Callable[..., Any], x: Any, axis: Any, kw: dict[str, Any]) -> Any:
    """``fn(x, axis=axis, **kw)`` computed in at least float32, floats cast back to ``x``'s dtype."""
    in_dtype = x.dtype
    out = fn(x.astype(compute_dtype(in_dtype)), axis=axis, **kw)
    return out.astype(in_dtype) if jnp.issubdtype(in_dtype, jnp.inexact) else out


_logsumexp = _upcasting(jax.nn.logsumexp)
_logsumexp.__name__ = "logsumexp"
_softmax = _upcasting(jax.nn.softmax)
_softmax.__name__ = "softmax"
_log_softmax = _upcasting(jax.nn.log_softmax)
_log_softmax.__name__ = "log_softmax"


def logsumexp(a: A, axis: AxisSelection | None = None) -> A:
    """``log(sum(exp(a)))`` over one or several named axes (``axis=None``: all axes, a 0-d NamedArray).

    Computed in at least float32; the result has the input's floating dtype.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, L = hax.make_axes(B=2, L=3)
        >>> out = hnn.logsumexp(hax.zeros((B, L)), L)
        >>> out.axes, round(float(out.array[0]), 4)
        ((Axis(name='B', size=2),), 1.0986)
    """
    return wrap_reduction_call(_logsumexp, a, axis, supports_where=False)


def softmax(a: A, axis: AxisSelection | None = None) -> A:
    """Softmax over one or several named axes (normalised jointly); the output keeps all axes.

    Computed in at least float32 and cast back to the input's floating dtype. As in Haliax,
    ``axis=None`` normalises over every element and returns a raw JAX array.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, L = hax.make_axes(B=2, L=4)
        >>> hnn.softmax(hax.zeros((B, L)), L).array[0].tolist()
        [0.25, 0.25, 0.25, 0.25]
    """
    if type(a) is NamedArray and axis is not None:  # the eager fast path: one cached jitted call
        return from_validated(_softmax(a.array, axis=locate_axes(a.axes, axis, "softmax")), a.axes)
    return wrap_axiswise_call(_softmax, a, axis, single_axis_only=False)


def log_softmax(a: A, axis: AxisSelection | None = None) -> A:
    """Log-softmax over one or several named axes; the output keeps all axes.

    Computed in at least float32 and cast back. ``axis=None`` returns a raw JAX array (as in Haliax).

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> L = hax.Axis("L", 2)
        >>> [round(v, 4) for v in hnn.log_softmax(hax.zeros(L), L).tolist()]
        [-0.6931, -0.6931]
    """
    if type(a) is NamedArray and axis is not None:  # the eager fast path: one cached jitted call
        return from_validated(_log_softmax(a.array, axis=locate_axes(a.axes, axis, "log_softmax")), a.axes)
    return wrap_axiswise_call(_log_softmax, a, axis, single_axis_only=False)


def standardize(
    x: NamedArray,
    axis: AxisSpec | AxisSelection,
    *,
    mean: NamedArray | None = None,
    variance: NamedArray | None = None,
    epsilon: float = 1e-5,
    where: NamedArray | None = None,
) -> NamedArray:
    """``(x - mean) * rsqrt(variance + epsilon)``, like `jax.nn.standardize`, over named axes.

    ``mean``/``variance`` default to the (``where``-masked) statistics of ``x`` over ``axis``; when given they
    are NamedArrays broadcast to ``x`` by name (e.g. a mean over ``(B,)`` for ``x`` of ``(B, C)``
    standardised over ``C``). The output keeps ``x``'s axes.

    Args:
        x: the array to standardise.
        axis: the axis or axes over which the statistics are taken.
        mean: a precomputed mean, broadcast to ``x`` by name (default: the mean of ``x`` over ``axis``).
        variance: a precomputed variance, broadcast to ``x`` by name (default: the variance of ``x`` over ``axis``).
        epsilon: added to the variance before the square root.
        where: an optional boolean mask: only the True entries enter the default statistics.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> C = hax.Axis("C", 2)
        >>> [round(v, 3) for v in hnn.standardize(hax.arange(C, dtype=float), C).tolist()]
        [-1.0, 1.0]
    """
    if not isinstance(x, NamedArray):
        raise TypeError(f"standardize: argument 'x' must be a NamedArray, got {type(x).__name__}")
    idx = locate_axes(x.axes, axis, "standardize")
    w = None
    if where is not None:
        named = isinstance(where, NamedArray)
        wdtype = where.dtype if named else jnp.result_type(where)
        if not jnp.issubdtype(wdtype, jnp.bool_):
            raise TypeError(f"standardize: argument 'where' must be a boolean mask, got dtype {wdtype}")
        if not named and jnp.ndim(where) != 0:
            raise TypeError(
                f"standardize: argument 'where' must be a NamedArray (or a scalar), got a plain array of shape "
                f"{jnp.shape(where)}; wrap it with hax.named(...) first"
            )
        w = _bcast("where", where, x) if named else where
    m = None if mean is None else _bcast("mean", mean, x)
    v = None if variance is None else _bcast("variance", variance, x)
    try:
        f = _standardize_fn(idx, epsilon)
    except TypeError:  # a traced (unhashable) epsilon
        return NamedArray(_standardize(x.array, m, v, w, idx, epsilon), x.axes)
    return from_validated(f(x.array, m, v, w), x.axes)


def _standardize(raw: Any, m: Any, v: Any, w: Any, idx: tuple[int, ...], epsilon: Any) -> Any:
    if m is None:
        m = jnp.mean(raw, axis=idx, keepdims=True, where=w)
    if v is None:
        v = jnp.mean(jnp.square(raw - m), axis=idx, keepdims=True, where=w)
    return (raw - m) * jax.lax.rsqrt(v + epsilon)


@functools.lru_cache(maxsize=1024)
def _standardize_fn(idx: tuple[int, ...], epsilon: float) -> Callable[..., Any]:
    """`_standardize` as one jitted call per (axes, epsilon); inlined when traced."""
    return jax.jit(lambda raw, m, v, w: _standardize(raw, m, v, w, idx, epsilon), inline=True)


def _bcast(arg: str, stat: Any, x: NamedArray) -> Any:
    if not isinstance(stat, NamedArray):
        return stat
    for a in stat.axes:
        if lookup_axis(x.axes, a, "standardize", arg) is None:  # a same name of another size raises there
            raise ValueError(
                f"standardize: argument {arg!r} has axis {a} which is not in x's axes {tuple(str(b) for b in x.axes)}"
            )
    return broadcast_to(stat, x.axes).array


class _OneHotIndexError(AxisIndexError, AssertionError):
    """A Python int outside ``class_axis``: an `AxisIndexError` (``IndexError`` and ``ValueError``) and an
    ``AssertionError``, what Haliax raises there."""


def one_hot(x: NamedArray | int | jax.Array, class_axis: Axis, *, dtype: Any = None) -> NamedArray:
    """One-hot encode integers along ``class_axis``.

    * NamedArray ``x`` (integer or bool dtype, a bool counting as 0/1; a float dtype is a ``TypeError``, where
      Haliax gives an all-zero row for a non-whole value): result axes ``x.axes + (class_axis,)``; values out of range (negative or
      ``>= size``) give all-zero rows.
    * Python int ``x`` (``-size <= x < size``, else an error that is an ``IndexError``, a ``ValueError`` and,
      as in Haliax, an ``AssertionError``; negative values wrap) or a 0-d integer/bool
      array (negative values wrap too; a bool counts as 0/1): a 1-D array over ``class_axis``. Any other plain
      array raises ``TypeError``.

    ``dtype`` defaults to JAX's default float.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> C = hax.Axis("C", 3)
        >>> hnn.one_hot(-1, C).tolist()
        [0.0, 0.0, 1.0]
    """
    if not isinstance(class_axis, Axis):
        raise TypeError(f"one_hot: argument 'class_axis' must be an Axis (a size is needed), got {class_axis!r}")
    if dtype is None:
        dtype = jnp.result_type(float)
    if isinstance(x, NamedArray):
        if class_axis.name in {a.name for a in x.axes}:
            raise ValueError(
                f"one_hot: class_axis {class_axis} is already an axis of x {tuple(str(a) for a in x.axes)}"
            )
        if not (jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.bool_)):
            raise TypeError(  # jax.nn.one_hot compares floats with the class indices: 0.5 gives a zero row
                f"one_hot: argument 'x' must hold integer class ids, got dtype {x.dtype} with axes "
                f"{tuple(str(a) for a in x.axes)}; cast it with x.astype(int) if its values are whole numbers"
            )
        ids = x.array.astype(jnp.int32) if x.dtype == jnp.bool_ else x.array  # a bool counts as 0/1
        return NamedArray(jax.nn.one_hot(ids, class_axis.size, dtype=dtype), x.axes + (class_axis,))
    if isinstance(x, bool) or not isinstance(x, int):
        shape = getattr(x, "shape", None)
        if isinstance(x, bool) or shape is None or len(shape) != 0:  # a Python bool has no shape either
            raise TypeError(f"one_hot expects a scalar integer or NamedArray, got {type(x).__name__} {shape}")
        if not (jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.bool_)):
            raise TypeError(f"one_hot expects an integer or bool scalar, got dtype {x.dtype}")
        xi = jnp.asarray(x).astype(jnp.int32)
        xi = jnp.where(xi < 0, xi + class_axis.size, xi)
        return NamedArray(jax.nn.one_hot(xi, class_axis.size, dtype=dtype), (class_axis,))
    if not -class_axis.size <= x < class_axis.size:  # not an `assert`: under `python -O` it would give zeros
        raise _OneHotIndexError(
            f"one_hot: argument 'x' {x} is out of bounds for class_axis {class_axis.name} with size "
            f"{class_axis.size} (valid: {-class_axis.size} to {class_axis.size - 1})"
        )
    if x < 0:
        x = x + class_axis.size
    return NamedArray(jnp.zeros(class_axis.size, dtype=dtype).at[x].set(1), (class_axis,))
