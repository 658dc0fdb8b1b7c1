"""Elementwise functions, generated from tables, and broadcasting binary operations by name."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from ..core import NamedArray, from_validated
from ..partitioning import explicit_align, explicit_out_sharding, explicit_reshard, explicit_retry
from .broadcast import binary_align, broadcast_arrays_and_return_axes, realign

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
    # the generated elementwise functions (defined below from their jnp counterparts)
    "abs",
    "absolute",
    "angle",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctanh",
    "around",
    "bitwise_count",
    "bitwise_invert",
    "bitwise_not",
    "cbrt",
    "ceil",
    "conj",
    "conjugate",
    "copy",
    "cos",
    "cosh",
    "deg2rad",
    "degrees",
    "exp",
    "exp2",
    "expm1",
    "fabs",
    "floor",
    "i0",
    "imag",
    "invert",
    "iscomplex",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "isreal",
    "log",
    "log10",
    "log1p",
    "log2",
    "logical_not",
    "negative",
    "positive",
    "rad2deg",
    "radians",
    "real",
    "reciprocal",
    "rint",
    "sign",
    "signbit",
    "sin",
    "sinc",
    "sinh",
    "square",
    "sqrt",
    "tan",
    "tanh",
    "trunc",
    "rsqrt",
    "fix",
    "add",
    "arctan2",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "divide",
    "equal",
    "float_power",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "greater",
    "greater_equal",
    "hypot",
    "left_shift",
    "less",
    "less_equal",
    "logaddexp",
    "logaddexp2",
    "logical_and",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "nextafter",
    "not_equal",
    "power",
    "remainder",
    "right_shift",
    "subtract",
    "true_divide",
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

    Args:
        f: a function on raw arrays that keeps the shape.
        a: a NamedArray (or anything else, passed to ``f`` unchanged).
        *args: further positional arguments of ``f``.
        **kwargs: keyword arguments of ``f``.

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


def is_array_or_number(x: Any) -> bool:
    """Whether ``x`` is something the elementwise functions accept: a NamedArray, an array (``.shape`` and
    ``.dtype``: JAX, NumPy, tracers) or a number."""
    return (
        isinstance(x, (NamedArray, int, float, complex, bool, np.generic))
        or (hasattr(x, "shape") and hasattr(x, "dtype"))
        or hasattr(x, "__jax_array__")
    )


def operand_type_error(fname: str, arg: str, x: Any) -> TypeError:
    """The ``TypeError`` for an operand that is not an array or a number, naming the function and argument.

    Examples:
        >>> from haliax.ops.elementwise import operand_type_error
        >>> str(operand_type_error("exp", "a", "x"))
        "exp: argument 'a' must be a NamedArray, an array or a number, got 'x' of type str"
    """
    hint = " (convert it with jnp.asarray(...) and name it with hax.named(...))" if isinstance(x, (list, tuple)) else ""
    shown = repr(x) if len(repr(x)) <= 40 else repr(x)[:37] + "..."
    return TypeError(
        f"{fname}: argument {arg!r} must be a NamedArray, an array or a number, got {shown} of type "
        f"{type(x).__name__}{hint}"
    )


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
    a plain array gives the plain result. An operand that is not an array or a number (a ``str``, ``None``, a
    list) is a ``TypeError`` naming the op and the argument (Haliax passes it on to JAX).

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
    wrap = from_validated if _trusted else NamedArray

    def binop(a: Any, b: Any) -> Any:
        a_named = isinstance(a, NamedArray)
        b_named = isinstance(b, NamedArray)
        if a_named and b_named:
            if a.axes == b.axes:
                try:
                    return wrap(op(a.array, b.array), a.axes)
                except Exception as e:  # an explicit mesh can reject operands typed differently
                    if type(e).__name__ != "ShardingTypeError":
                        raise
                    spec = explicit_retry(fname, (a, b), a.axes, e)
                    if isinstance(spec, Exception):
                        raise spec from e
                    return wrap(op(explicit_reshard(a.array, spec), explicit_reshard(b.array, spec)), a.axes)
            if not a.axes:
                return wrap(op(a.array, b.array), b.axes)
            if not b.axes:
                return wrap(op(a.array, b.array), a.axes)
            out, plan_a, plan_b = binary_align(a.axes, b.axes, fname)
            ra, rb = realign(a.array, plan_a), realign(b.array, plan_b)
            spec = explicit_out_sharding(out, fname)  # an explicit mesh: both operands typed as the output
            if spec is not None:
                ra, rb = explicit_align(ra, a.axes, out, spec), explicit_align(rb, b.axes, out, spec)
            return wrap(op(ra, rb), out)
        if a_named:
            if _is_scalarish(b):
                return wrap(op(a.array, b), a.axes)
            if not is_array_or_number(b):
                raise operand_type_error(fname, "b", b)
            if not a.axes:
                return op(a.array, b)
            raise ValueError(
                f"{fname}: Cannot apply {fname} to a NamedArray and a non-scalar array of shape {jnp.shape(b)}; "
                "wrap it with hax.named(...) first"
            )
        if b_named:
            if _is_scalarish(a):
                return wrap(op(a, b.array), b.axes)
            if not is_array_or_number(a):
                raise operand_type_error(fname, "a", a)
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


def _doc(summary: str, setup: tuple[str, ...], call: str, out: str, comment: str = "") -> str:
    """A docstring: ``summary`` plus an ``Examples:`` doctest running ``setup`` and printing ``hax.<call>``."""
    lines = [">>> import haliax as hax", *(f">>> {s}" for s in setup), f">>> print(hax.{call}){comment}"]
    lines += out.split("\n")
    return summary + "\n\nExamples:\n" + "\n".join("    " + line for line in lines)


UNARY_FUNCTIONS: dict[str, Callable[..., Any]] = {}
"""Name -> the jnp/lax function behind each generated unary elementwise function."""
BINARY_FUNCTIONS: dict[str, Callable[..., Any]] = {}
"""Name -> the jnp function behind each generated binary elementwise function."""


def _unary(fname: str, jfn: Callable[..., Any], x: str, out: str) -> Callable[..., Any]:
    """The named version of the elementwise ``jfn``, registered in `UNARY_FUNCTIONS`.

    Its docstring example prints ``hax.<fname>(hax.named(x, "X"))``; ``out`` is the printed dtype and values
    (``...`` abbreviates long floats: the suite runs doctests with ELLIPSIS and NORMALIZE_WHITESPACE).
    """

    def fn(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, NamedArray):
            return from_validated(jfn(a.array, *args, **kwargs), a.axes)
        if not is_array_or_number(a):
            raise operand_type_error(fname, "a", a)
        return jfn(a, *args, **kwargs)

    ref = f"jax.numpy.{fname}" if getattr(jnp, fname, None) is jfn else f"{jfn.__module__}.{jfn.__name__}"
    dtype, values = out.split(" ", 1)
    fn.__name__ = fname
    fn.__qualname__ = fname
    fn.__doc__ = _doc(
        f"Named version of `{ref}`: applied elementwise, axes kept.",
        (f'x = hax.named({x}, "X")',),
        f"{fname}(x)",
        f"NamedArray({dtype}{{'X': {x.count(',') + 1}}}, {values})",
    )
    UNARY_FUNCTIONS[fname] = jfn
    return fn


# default left operands of the binary examples (X, Y); the right operand has axis X only
_AF = "[[1.0, 2.0], [3.0, 4.0]]"
_AI = "[[1, 2], [3, 4]]"
_AB = "[[True, False], [True, False]]"
_AM = "[[5.0, -5.0], [7.0, -7.0]]"
_ANAN = "[[1.0, float('nan')], [3.0, 4.0]]"


def _binary(fname: str, jfn: Callable[..., Any], b: str, out: str, a: str = _AF) -> Callable[[Any, Any], Any]:
    """The named version of ``jfn`` (`wrap_elemwise_binary`), registered in `BINARY_FUNCTIONS`.

    Its docstring example prints ``hax.<fname>(a, b)`` for ``a`` over (X, Y) and ``b`` over X: ``b`` is matched
    to ``a``'s X axis by name, where positional broadcasting would pair it with the last axis.
    """
    f = wrap_elemwise_binary(jfn, fname, _trusted=True)
    dtype, values = out.split(" ", 1)
    f.__doc__ = _doc(
        f"Named version of `jax.numpy.{fname}`: broadcasts by axis name (strict subset rule).",
        (f'a = hax.named({a}, ("X", "Y"))', f'b = hax.named({b}, "X")'),
        f"{fname}(a, b)",
        f"NamedArray({dtype}{{'X': 2, 'Y': 2}}, {values})",
        "  # b follows a's axis X by name, not a's last axis",
    )
    BINARY_FUNCTIONS[fname] = jfn
    return f


abs = _unary("abs", jnp.abs, "[-1.5, 0.0, 2.0]", "float32 [1.5 0.  2. ]")  # noqa: A001
absolute = _unary("absolute", jnp.absolute, "[-1.5, 0.0, 2.0]", "float32 [1.5 0.  2. ]")
angle = _unary("angle", jnp.angle, "[1.0, 1j, -1.0]", "float32 [0.        1.5707... 3.1415...]")
arccos = _unary("arccos", jnp.arccos, "[1.0, 0.0, -1.0]", "float32 [0.        1.5707... 3.1415...]")
arccosh = _unary("arccosh", jnp.arccosh, "[1.0, 2.0]", "float32 [0.       1.3169...]")
arcsin = _unary("arcsin", jnp.arcsin, "[0.0, 1.0]", "float32 [0.        1.5707...]")
arcsinh = _unary("arcsinh", jnp.arcsinh, "[0.0, 1.0]", "float32 [0.         0.8813...]")
arctan = _unary("arctan", jnp.arctan, "[0.0, 1.0]", "float32 [0.        0.7853...]")
arctanh = _unary("arctanh", jnp.arctanh, "[0.0, 0.5]", "float32 [0.         0.5493...]")
around = _unary("around", jnp.around, "[0.4, 1.6, 2.5]", "float32 [0. 2. 2.]")
bitwise_count = _unary("bitwise_count", jnp.bitwise_count, "[0, 1, 7]", "uint8 [0 1 3]")
bitwise_invert = _unary("bitwise_invert", jnp.bitwise_invert, "[0, 1, -2]", "int32 [-1 -2  1]")
bitwise_not = _unary("bitwise_not", jnp.bitwise_not, "[0, 1, -2]", "int32 [-1 -2  1]")
cbrt = _unary("cbrt", jnp.cbrt, "[1.0, 8.0, -27.0]", "float32 [ 1.  2. -3.]")
ceil = _unary("ceil", jnp.ceil, "[-1.5, 0.2, 1.5]", "float32 [-1.  1.  2.]")
conj = _unary("conj", jnp.conj, "[1+2j, 3-1j]", "complex64 [1.-2.j 3.+1.j]")
conjugate = _unary("conjugate", jnp.conjugate, "[1+2j, 3-1j]", "complex64 [1.-2.j 3.+1.j]")
copy = _unary("copy", jnp.copy, "[1, 2, 3]", "int32 [1 2 3]")
cos = _unary("cos", jnp.cos, "[0.0, 1.0]", "float32 [1.        0.5403...]")
cosh = _unary("cosh", jnp.cosh, "[0.0, 1.0]", "float32 [1.        1.5430...]")
deg2rad = _unary("deg2rad", jnp.deg2rad, "[0.0, 90.0, 180.0]", "float32 [0.        1.5707... 3.1415...]")
degrees = _unary("degrees", jnp.degrees, "[0.0, 1.0]", "float32 [ 0.      57.2957...]")
exp = _unary("exp", jnp.exp, "[0.0, 1.0]", "float32 [1.        2.7182...]")
exp2 = _unary("exp2", jnp.exp2, "[0.0, 1.0, 3.0]", "float32 [1. 2. 8.]")
expm1 = _unary("expm1", jnp.expm1, "[0.0, 1.0]", "float32 [0.        1.7182...]")
fabs = _unary("fabs", jnp.fabs, "[-1.5, 0.0, 2.0]", "float32 [1.5 0.  2. ]")
floor = _unary("floor", jnp.floor, "[-1.5, 0.2, 1.5]", "float32 [-2.  0.  1.]")
i0 = _unary("i0", jnp.i0, "[1.0, 2.0]", "float32 [1.2660...  2.2795...]")
imag = _unary("imag", jnp.imag, "[1+2j, 3-1j]", "float32 [ 2. -1.]")
invert = _unary("invert", jnp.invert, "[0, 1, -2]", "int32 [-1 -2  1]")
iscomplex = _unary("iscomplex", jnp.iscomplex, "[1+0j, 2+1j]", "bool [False  True]")
isfinite = _unary("isfinite", jnp.isfinite, "[1.0, float('inf'), float('nan')]", "bool [ True False False]")
isinf = _unary("isinf", jnp.isinf, "[1.0, float('inf'), float('-inf')]", "bool [False  True  True]")
isnan = _unary("isnan", jnp.isnan, "[1.0, float('inf'), float('nan')]", "bool [False False  True]")
isneginf = _unary("isneginf", jnp.isneginf, "[1.0, float('inf'), float('-inf')]", "bool [False False  True]")
isposinf = _unary("isposinf", jnp.isposinf, "[1.0, float('inf'), float('-inf')]", "bool [False  True False]")
isreal = _unary("isreal", jnp.isreal, "[1+0j, 2+1j]", "bool [ True False]")
log = _unary("log", jnp.log, "[1.0, 2.0]", "float32 [0.        0.6931...]")
log10 = _unary("log10", jnp.log10, "[1.0, 10.0, 100.0]", "float32 [0. 1. 2.]")
log1p = _unary("log1p", jnp.log1p, "[0.0, 1.0]", "float32 [0.        0.6931...]")
log2 = _unary("log2", jnp.log2, "[1.0, 2.0, 8.0]", "float32 [0. 1. 3.]")
logical_not = _unary("logical_not", jnp.logical_not, "[True, False]", "bool [False  True]")
negative = _unary("negative", jnp.negative, "[-1.5, 2.0]", "float32 [ 1.5 -2. ]")
positive = _unary("positive", jnp.positive, "[-1.5, 2.0]", "float32 [-1.5  2. ]")
rad2deg = _unary("rad2deg", jnp.rad2deg, "[0.0, 1.0]", "float32 [ 0.      57.2957...]")
radians = _unary("radians", jnp.radians, "[0.0, 90.0, 180.0]", "float32 [0.        1.5707... 3.1415...]")
real = _unary("real", jnp.real, "[1+2j, 3-1j]", "float32 [1. 3.]")
reciprocal = _unary("reciprocal", jnp.reciprocal, "[1.0, 2.0, 4.0]", "float32 [1.   0.5  0.25]")
rint = _unary("rint", jnp.rint, "[0.4, 1.6, 2.5]", "float32 [0. 2. 2.]")
sign = _unary("sign", jnp.sign, "[-2.0, 0.0, 3.0]", "float32 [-1.  0.  1.]")
signbit = _unary("signbit", jnp.signbit, "[-2.0, 0.0, 3.0]", "bool [ True False False]")
sin = _unary("sin", jnp.sin, "[0.0, 1.0]", "float32 [0.         0.8414...]")
sinc = _unary("sinc", jnp.sinc, "[0.0, 0.5]", "float32 [1.         0.6366...]")
sinh = _unary("sinh", jnp.sinh, "[0.0, 1.0]", "float32 [0.        1.1752...]")
square = _unary("square", jnp.square, "[-1.5, 2.0, 3.0]", "float32 [2.25 4.   9.  ]")
sqrt = _unary("sqrt", jnp.sqrt, "[1.0, 4.0, 9.0]", "float32 [1. 2. 3.]")
tan = _unary("tan", jnp.tan, "[0.0, 1.0]", "float32 [0.        1.5574...]")
tanh = _unary("tanh", jnp.tanh, "[0.0, 1.0]", "float32 [0.        0.7615...]")
trunc = _unary("trunc", jnp.trunc, "[-1.5, 0.2, 1.7]", "float32 [-1.  0.  1.]")
rsqrt = _unary("rsqrt", jax.lax.rsqrt, "[1.0, 4.0, 16.0]", "float32 [1.   0.5  0.25]")
fix = _unary("fix", jnp.trunc, "[-1.5, 0.2, 1.7]", "float32 [-1.  0.  1.]")
add = _binary("add", jnp.add, "[10.0, 20.0]", "float32 [[11. 12.]\n [23. 24.]]")
arctan2 = _binary("arctan2", jnp.arctan2, "[1.0, -1.0]", "float32 [[0.7853... 1.1071...]\n [1.8925... 1.8157...]]")
bitwise_and = _binary("bitwise_and", jnp.bitwise_and, "[3, 1]", "int32 [[1 2]\n [1 0]]", _AI)
bitwise_left_shift = _binary("bitwise_left_shift", jnp.bitwise_left_shift, "[1, 2]", "int32 [[ 2  4]\n [12 16]]", _AI)
bitwise_or = _binary("bitwise_or", jnp.bitwise_or, "[3, 1]", "int32 [[3 3]\n [3 5]]", _AI)
bitwise_right_shift = _binary("bitwise_right_shift", jnp.bitwise_right_shift, "[1, 2]", "int32 [[0 1]\n [0 1]]", _AI)
bitwise_xor = _binary("bitwise_xor", jnp.bitwise_xor, "[3, 1]", "int32 [[2 1]\n [2 5]]", _AI)
divide = _binary("divide", jnp.divide, "[2.0, 4.0]", "float32 [[0.5  1.  ]\n [0.75 1.  ]]")
equal = _binary("equal", jnp.equal, "[2.0, 3.0]", "bool [[False  True]\n [ True False]]")
float_power = _binary(
    "float_power", jnp.float_power, "[2.0, 0.5]", "float32 [[1.        4.       ]\n [1.7320... 2.       ]]"
)
floor_divide = _binary("floor_divide", jnp.floor_divide, "[3.0, 4.0]", "float32 [[ 1. -2.]\n [ 1. -2.]]", _AM)
fmax = _binary("fmax", jnp.fmax, "[2.0, 5.0]", "float32 [[2. 2.]\n [5. 5.]]", _ANAN)
fmin = _binary("fmin", jnp.fmin, "[2.0, 5.0]", "float32 [[1. 2.]\n [3. 4.]]", _ANAN)
fmod = _binary("fmod", jnp.fmod, "[3.0, 4.0]", "float32 [[ 2. -2.]\n [ 3. -3.]]", _AM)
greater = _binary("greater", jnp.greater, "[2.0, 3.0]", "bool [[False False]\n [False  True]]")
greater_equal = _binary("greater_equal", jnp.greater_equal, "[2.0, 3.0]", "bool [[False  True]\n [ True  True]]")
hypot = _binary("hypot", jnp.hypot, "[4.0, 8.0]", "float32 [[ 5.  4.]\n [10.  8.]]", "[[3.0, 0.0], [6.0, 0.0]]")
left_shift = _binary("left_shift", jnp.left_shift, "[1, 2]", "int32 [[ 2  4]\n [12 16]]", _AI)
less = _binary("less", jnp.less, "[2.0, 3.0]", "bool [[ True False]\n [False False]]")
less_equal = _binary("less_equal", jnp.less_equal, "[2.0, 3.0]", "bool [[ True  True]\n [ True False]]")
logaddexp = _binary(
    "logaddexp", jnp.logaddexp, "[0.0, 1.0]", "float32 [[1.3132... 2.1269... ]\n [3.1269...  4.0485...]]"
)
logaddexp2 = _binary(
    "logaddexp2", jnp.logaddexp2, "[1.0, 3.0]", "float32 [[2.        2.5849...]\n [4.        4.5849...]]"
)
logical_and = _binary("logical_and", jnp.logical_and, "[True, False]", "bool [[ True False]\n [False False]]", _AB)
logical_or = _binary("logical_or", jnp.logical_or, "[True, False]", "bool [[ True  True]\n [ True False]]", _AB)
logical_xor = _binary("logical_xor", jnp.logical_xor, "[True, False]", "bool [[False  True]\n [ True False]]", _AB)
maximum = _binary("maximum", jnp.maximum, "[1.5, 3.5]", "float32 [[1.5 2. ]\n [3.5 4. ]]")
minimum = _binary("minimum", jnp.minimum, "[1.5, 3.5]", "float32 [[1.  1.5]\n [3.  3.5]]")
mod = _binary("mod", jnp.mod, "[3.0, 4.0]", "float32 [[2. 1.]\n [3. 1.]]", _AM)
multiply = _binary("multiply", jnp.multiply, "[10.0, 20.0]", "float32 [[10. 20.]\n [60. 80.]]")
nextafter = _binary(
    "nextafter", jnp.nextafter, "[0.0, 5.0]", "float32 [[0.99999994 1.9999999 ]\n [3.0000002  4.0000005 ]]"
)
not_equal = _binary("not_equal", jnp.not_equal, "[2.0, 3.0]", "bool [[ True False]\n [False  True]]")
power = _binary("power", jnp.power, "[2.0, 0.5]", "float32 [[1.        4.       ]\n [1.7320... 2.       ]]")
remainder = _binary("remainder", jnp.remainder, "[3.0, 4.0]", "float32 [[2. 1.]\n [3. 1.]]", _AM)
right_shift = _binary("right_shift", jnp.right_shift, "[1, 2]", "int32 [[0 1]\n [0 1]]", _AI)
subtract = _binary("subtract", jnp.subtract, "[10.0, 20.0]", "float32 [[ -9.  -8.]\n [-17. -16.]]")
true_divide = _binary("true_divide", jnp.true_divide, "[2.0, 4.0]", "float32 [[0.5  1.  ]\n [0.75 1.  ]]")


def ndim(a: Any) -> int:
    """Number of axes (of a NamedArray) or dimensions (of anything else).

    Examples:
        >>> import haliax as hax
        >>> hax.ndim(hax.zeros(hax.make_axes(X=2, Y=3))), hax.ndim(1.0)
        (2, 0)
    """
    return a.ndim if isinstance(a, NamedArray) else jnp.ndim(a)


def round(a: Any, decimals: int = 0) -> Any:  # noqa: A001
    """Round to ``decimals`` places, keeping axes (a non-integer ``decimals`` is a ``TypeError`` naming it).

    Examples:
        >>> import haliax as hax
        >>> hax.round(hax.arange(hax.Axis("X", 3)) * 0.75).tolist()
        [0.0, 1.0, 2.0]
    """
    if not is_array_or_number(a):
        raise operand_type_error("round", "a", a)
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(
            f"round: argument 'decimals' must be an int, got {decimals!r} of type {type(decimals).__name__}"
        )
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
    if not is_array_or_number(a):
        raise operand_type_error("frexp", "a", a)
    return _pair(jnp.frexp, a)


def divmod(a: Any, b: Any) -> Any:  # noqa: A001
    """``(a // b, a % b)`` with named broadcasting.

    Examples:
        >>> import haliax as hax
        >>> q, r = hax.divmod(hax.arange(hax.Axis("X", 4)), 3)
        >>> q.tolist(), r.tolist()
        ([0, 0, 0, 1], [0, 1, 2, 0])
    """
    return _divmod_quotient(a, b), _divmod_remainder(a, b)


_divmod_quotient = wrap_elemwise_binary(jnp.floor_divide, "divmod", _trusted=True)
_divmod_remainder = wrap_elemwise_binary(jnp.mod, "divmod", _trusted=True)


def clip(array: Any, a_min: Any, a_max: Any) -> Any:
    """Clip to ``[a_min, a_max]``; bounds may be scalars, None (no bound) or NamedArrays (broadcast by name
    with the strict rule). A bound that does not broadcast raises a ``ValueError`` naming ``clip`` and the bound.

    Examples:
        >>> import haliax as hax
        >>> hax.clip(hax.arange(hax.Axis("X", 5)), 1, 3).tolist()
        [1, 1, 2, 3, 3]
    """
    if not is_array_or_number(array):
        raise operand_type_error("clip", "array", array)
    for arg, bound, op in (("a_min", a_min, maximum), ("a_max", a_max, minimum)):
        if bound is None:
            continue
        if not is_array_or_number(bound):
            raise operand_type_error("clip", arg, bound)
        try:
            array = op(array, bound)
        except ValueError as e:  # a bound that does not broadcast: say clip and which bound
            msg = str(e).removeprefix(f"{op.__name__}: ").replace(f"apply {op.__name__} to", "apply clip to")
            raise type(e)(f"clip: argument {arg!r}: {msg}") from None
    return array


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Any:
    """Elementwise closeness (`jax.numpy.isclose`), with named broadcasting.

    Args:
        a: the first array (NamedArray or scalar).
        b: the second array, broadcast with ``a`` by name.
        rtol: the relative tolerance.
        atol: the absolute tolerance.
        equal_nan: whether NaNs in the same place count as equal.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> hax.isclose(hax.ones(X), hax.ones(X) + 1e-9).tolist()
        [True, True]
    """
    _check_tolerances("isclose", rtol, atol)
    return wrap_elemwise_binary(functools.partial(jnp.isclose, rtol=rtol, atol=atol, equal_nan=equal_nan), "isclose")(
        a, b
    )


def _check_tolerances(fname: str, rtol: Any, atol: Any) -> None:
    for arg, v in (("rtol", rtol), ("atol", atol)):
        if not is_array_or_number(v):
            raise operand_type_error(fname, arg, v)


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True if every element is close (a Python bool); named broadcasting applies.

    Args:
        a: the first array (NamedArray or scalar).
        b: the second array, broadcast with ``a`` by name.
        rtol: the relative tolerance.
        atol: the absolute tolerance.
        equal_nan: whether NaNs in the same place count as equal.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> hax.allclose(hax.ones(X), hax.ones(X) * 1.01), hax.allclose(hax.ones(X), 1.0)
        (False, True)
    """
    _check_tolerances("allclose", rtol, atol)
    close = wrap_elemwise_binary(functools.partial(jnp.isclose, rtol=rtol, atol=atol, equal_nan=equal_nan), "allclose")
    return bool(jnp.all(unwrap_namedarrays(close(a, b))[0]))


def array_equal(a: NamedArray, b: NamedArray) -> bool:
    """True if the two arrays have the same axes (in any order) and the same values.

    A non-NamedArray argument is a ``TypeError`` naming it (Haliax raises an ``AttributeError``).

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> x = hax.arange((X, Y))
        >>> hax.array_equal(x, hax.named(x.array.T, (Y, X))), hax.array_equal(x, x.sum("Y"))
        (True, False)
    """
    for arg, v in (("a", a), ("b", b)):
        if not isinstance(v, NamedArray):
            raise TypeError(f"array_equal: argument {arg!r} must be a NamedArray, got {type(v).__name__}")
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
    for arg, v in (("a", a), ("b", b)):
        if not is_array_or_number(v):
            raise operand_type_error("array_equiv", arg, v)
    try:
        return bool(jnp.all(equal(a, b).array))
    except ValueError:
        return False


class ReductionFunction(Protocol):
    """A reduction over named axes: ``f(array, axis=None, *, where=None, **kwargs)``.

    `haliax.sum`, `haliax.mean`, `haliax.max` and the other reductions that take a ``where`` mask fit this type;
    use it to annotate a parameter that accepts any of them.

    Examples:
        >>> import haliax as hax
        >>> def reduce_x(x: hax.NamedArray, reduce: hax.ReductionFunction = hax.sum) -> hax.NamedArray:
        ...     return reduce(x, "X")
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> reduce_x(hax.ones((X, Y))).tolist(), reduce_x(hax.ones((X, Y)), hax.max).tolist()
        ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    """

    def __call__(self, array: NamedArray, axis: Any = None, where: NamedArray | None = None, **kwargs: Any) -> Any:
        """Reduce ``array`` over ``axis``.

        Args:
            array: the array to reduce.
            axis: the axis or axes to reduce over; None reduces over all of them.
            where: an optional boolean mask; only the entries where it is True take part.
            **kwargs: options of the particular reduction.
        """
        ...


class SimpleReductionFunction(Protocol):
    """A reduction over named axes without ``where``: ``f(array, axis=None, **kwargs)``.

    Examples:
        >>> import haliax as hax
        >>> def reduce_x(x: hax.NamedArray, reduce: hax.SimpleReductionFunction) -> hax.NamedArray:
        ...     return reduce(x, "X")
        >>> X = hax.Axis("X", 3)
        >>> int(reduce_x(hax.named([1, 5, 2], X), hax.argmax).array)
        1
    """

    def __call__(self, array: NamedArray, axis: Any = None, **kwargs: Any) -> Any: ...
