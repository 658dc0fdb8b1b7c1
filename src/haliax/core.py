"""The named array: an immutable pytree pairing a JAX array with a tuple of named axes.

Methods are thin: they forward to the op modules in ``haliax.ops`` (imported lazily, after the first
call a dictionary lookup), so this module never imports them at load time.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from jax.core import Tracer

from .axis import (
    Axis,
    AxisSelection,
    AxisSelector,
    AxisSpec,
    axis_not_found_error,
    name_index,
)

__all__ = [
    "NamedArray",
    "named",
    "enable_shape_checks",
    "are_shape_checks_enabled",
    "is_named_array",
    "flatten_all_axes_but",
]

_SHAPE_CHECKS = [True]


@contextlib.contextmanager
def enable_shape_checks(enabled: bool) -> Iterator[bool]:
    """Context manager turning the NamedArray shape check on or off; yields the previous value.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> with hax.enable_shape_checks(False) as previous:
        ...     x = hax.NamedArray(jnp.zeros(3), (hax.Axis("X", 5),))  # not checked
        >>> previous, hax.are_shape_checks_enabled()
        (True, True)
    """
    old = _SHAPE_CHECKS[0]
    _SHAPE_CHECKS[0] = enabled
    try:
        yield old
    finally:
        _SHAPE_CHECKS[0] = old


def are_shape_checks_enabled() -> bool:
    """Whether NamedArray construction checks the array shape against the axes.

    Examples:
        >>> import haliax as hax
        >>> hax.are_shape_checks_enabled()
        True
    """
    return _SHAPE_CHECKS[0]


def _to_axes(axes: Any) -> tuple[Axis, ...]:
    if isinstance(axes, Axis):
        return (axes,)
    if isinstance(axes, Mapping):
        return tuple(Axis(n, s) for n, s in axes.items())
    if isinstance(axes, str):
        raise TypeError(
            f"NamedArray: Expected Axis, got the name {axes!r} (use hax.named to size names from the array)"
        )
    return tuple(axes)


def _check_axes_slow(axes: tuple[Any, ...]) -> tuple[int, ...]:
    for a in axes:
        if not isinstance(a, Axis):
            raise TypeError(f"NamedArray: Expected Axis, got {a!r} of type {type(a).__name__}")
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        dups = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"NamedArray: Axes must be unique, got {tuple(str(a) for a in axes)} (repeated: {dups})")
    return tuple(a.size for a in axes)


@functools.lru_cache(maxsize=8192)
def _checked_sizes(axes: tuple[Any, ...]) -> tuple[int, ...]:
    """Validate an axes tuple (every entry an Axis, unique names) and return its sizes (cached)."""
    return _check_axes_slow(axes)


def _install(attr: str, module: str, name: str) -> Callable[..., Any]:
    """A placeholder method: its first call imports ``module.name`` and installs it as ``attr``."""

    def method(self: NamedArray, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(importlib.import_module(module), name)
        setattr(NamedArray, attr, fn)
        return fn(self, *args, **kwargs)

    method.__name__ = attr
    method.__qualname__ = f"NamedArray.{attr}"
    method.__doc__ = f"Method form of `{module}.{name}`."
    return method


def _unchecked(array: Any, axes: tuple[Axis, ...]) -> NamedArray:
    """Internal: build a NamedArray without validation, for results whose axes come from a validated plan
    (and for pytree unflattening, which must accept placeholder leaves)."""
    obj = _new_object(NamedArray)
    _set_attr(obj, "array", array)
    _set_attr(obj, "axes", axes)
    return obj


_new_object = object.__new__
_set_attr = object.__setattr__

if TYPE_CHECKING:  # declares the operators and methods installed below (setattr) for type checkers
    from ._core_typing import NamedArrayMethods as _TypedMethods
else:
    _TypedMethods = object


@jax.tree_util.register_pytree_node_class
class NamedArray(_TypedMethods):
    """A JAX array whose axes have names.

    ``NamedArray(array, axes)``: ``axes`` may be an Axis, a tuple of Axis or a shape dict. Names must be
    unique and the array shape must equal the axis sizes.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> x = hax.NamedArray(jnp.ones((2, 3)), (X, Y))
        >>> x.shape, x.dtype, x.ndim, x.size, x.nbytes
        ({'X': 2, 'Y': 3}, dtype('float32'), 2, 6, 24)
        >>> x.sum("Y").axes
        (Axis(name='X', size=2),)
        >>> x.real.tolist() == x.conj().copy().tolist(), x.imag.sum().item(), len(x.tobytes())
        (True, 0.0, 24)
    """

    __slots__ = ("array", "axes")
    __array_priority__ = 100
    array: Any
    axes: tuple[Axis, ...]

    def __init__(self, array: Any, axes: AxisSpec):
        if type(axes) is not tuple:
            axes = _to_axes(axes)
        try:
            sizes = _checked_sizes(axes)
        except TypeError:  # an unhashable entry: give the proper message
            sizes = _check_axes_slow(axes)
        if _SHAPE_CHECKS[0]:
            shape = getattr(array, "shape", None)
            if shape is not None and shape != sizes and tuple(shape) != sizes:
                raise ValueError(
                    f"NamedArray: Shape of underlying array {tuple(shape)} does not match shape of axes "
                    f"{tuple(str(a) for a in axes)}"
                )
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "axes", axes)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("NamedArray is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle / copy / deepcopy rebuild through the constructor (``__setattr__`` is blocked)
        return (NamedArray, (self.array, self.axes))

    # pytree
    def tree_flatten(self) -> tuple[tuple[Any], tuple[Axis, ...]]:
        return (self.array,), self.axes

    @classmethod
    def tree_unflatten(cls, aux: tuple[Axis, ...], children: Sequence[Any]) -> NamedArray:
        return _unchecked(children[0], aux)

    # --------------------------------------------------------------------------------------------
    # properties

    @property
    def shape(self) -> dict[str, int]:
        """A dict ``{name: size}`` in axis order (not a tuple).

        Examples:
            >>> import haliax as hax
            >>> hax.zeros(hax.make_axes(X=2, Y=3)).shape
            {'X': 2, 'Y': 3}
        """
        return {a.name: a.size for a in self.axes}

    @property
    def dtype(self) -> Any:
        """The dtype of the underlying array."""
        return self.array.dtype

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.axes)

    @property
    def size(self) -> int:
        """The number of elements (product of the axis sizes)."""
        out = 1
        for a in self.axes:
            out *= a.size
        return out

    @property
    def nbytes(self) -> int:
        """Bytes used by the underlying array."""
        return self.array.nbytes

    @property
    def real(self) -> NamedArray:
        """The real part, same axes."""
        return NamedArray(jnp.real(self.array), self.axes)

    @property
    def imag(self) -> NamedArray:
        """The imaginary part, same axes."""
        return NamedArray(jnp.imag(self.array), self.axes)

    def conj(self) -> NamedArray:
        """The complex conjugate, same axes."""
        return NamedArray(jnp.conj(self.array), self.axes)

    def item(self) -> Any:
        """The single element as a Python scalar."""
        return self.array.item()

    def scalar(self) -> jax.Array:
        """The raw array of a 0-d NamedArray (``ValueError`` for any other).

        Examples:
            >>> import haliax as hax
            >>> float(hax.ones(hax.Axis("X", 3)).sum().scalar())
            3.0
        """
        if self.axes:
            raise ValueError(
                f"Expected scalar, got {len(self.axes)}-dimensional array with axes {tuple(str(a) for a in self.axes)}"
            )
        return self.array

    def tolist(self) -> Any:
        """Nested Python lists in axis order."""
        return self.array.tolist()

    def tobytes(self) -> bytes:
        """The raw bytes of the array, in axis order."""
        return self.array.tobytes()

    def copy(self) -> NamedArray:
        """A copy with the same axes."""
        return NamedArray(jnp.array(self.array, copy=True), self.axes)

    def astype(self, dtype: Any) -> NamedArray:
        """Convert the dtype, keeping the axes.

        ``astype(None)`` converts to JAX's *default* float dtype: float32, or float64 when x64 is enabled
        (corrections C10).

        Examples:
            >>> import jax.numpy as jnp
            >>> import haliax as hax
            >>> x = hax.arange(hax.Axis("X", 2))
            >>> x.astype(jnp.float16).dtype, x.astype(None).dtype
            (dtype('float16'), dtype('float32'))
        """
        if dtype is None:
            dtype = jnp.result_type(float)
        return NamedArray(self.array.astype(dtype), self.axes)

    # --------------------------------------------------------------------------------------------
    # axis queries

    def _lookup(self, sel: AxisSelector) -> int | None:
        """Position of one axis, or None. A same-name Axis of another size raises ``RuntimeError``."""
        if isinstance(sel, Axis):
            i = name_index(self.axes).get(sel.name)
            if i is not None and self.axes[i].size != sel.size:
                raise RuntimeError(
                    f"Found axis with same name but different size: asked for {sel}, the array has {self.axes[i]} "
                    f"(axes {tuple(str(a) for a in self.axes)})"
                )
            return i
        if not isinstance(sel, str):
            raise TypeError(f"Expected an axis name or Axis, got {sel!r} of type {type(sel).__name__}")
        return name_index(self.axes).get(sel)

    def axis_indices(self, sel: AxisSelection) -> Any:
        """Position of one axis (or None), or a tuple of positions (None for missing ones) for several.

        An Axis whose name matches but whose size differs raises ``RuntimeError``.

        Examples:
            >>> import haliax as hax
            >>> x = hax.zeros(hax.make_axes(X=2, Y=3))
            >>> x.axis_indices("Y"), x.axis_indices(("Y", "Q", "X"))
            (1, (1, None, 0))
        """
        if isinstance(sel, (Axis, str)):
            return self._lookup(sel)
        if isinstance(sel, Mapping):
            return tuple(self._lookup(n if s is None else Axis(n, s)) for n, s in sel.items())
        if not isinstance(sel, Iterable):
            return self._lookup(sel)  # raises the TypeError
        return tuple(self._lookup(s) for s in sel)

    def has_axis(self, sel: AxisSelection) -> bool:
        """Whether the axis, or every one of several axes, is present.

        REF-BUG fixed: in the reference a *sequence* selector is always "present" (a tuple is never None);
        here every axis of a sequence or dict is checked. A same-name Axis of another size raises
        ``RuntimeError``, as in the reference.

        Examples:
            >>> import haliax as hax
            >>> x = hax.zeros(hax.make_axes(X=2, Y=3))
            >>> x.has_axis("X"), x.has_axis(("X", "Y")), x.has_axis(("X", "Q"))
            (True, True, False)
        """
        idx = self.axis_indices(sel)
        if isinstance(idx, tuple):
            return all(i is not None for i in idx)
        return idx is not None

    def _resolve_one(self, sel: AxisSelector, fn: str) -> Axis:
        i = self._lookup(sel)
        if i is None:
            raise axis_not_found_error(sel.name if isinstance(sel, Axis) else sel, self.axes, fn, capitalize=True)
        return self.axes[i]

    def resolve_axis(self, sel: AxisSelection) -> Any:
        """The full Axis (or tuple of Axis, or shape dict for a dict selection) for the given names.

        A missing axis raises ``ValueError("... Axis Q not found ...")``; a same-name Axis of another size
        raises ``RuntimeError``.

        Examples:
            >>> import haliax as hax
            >>> x = hax.zeros(hax.make_axes(X=2, Y=3))
            >>> x.resolve_axis("Y"), x.resolve_axis({"X": None})
            (Axis(name='Y', size=3), {'X': 2})
        """
        if isinstance(sel, (Axis, str)):
            return self._resolve_one(sel, "NamedArray.resolve_axis")
        if isinstance(sel, Mapping):
            out = {}
            for n, s in sel.items():
                a = self._resolve_one(n if s is None else Axis(n, s), "NamedArray.resolve_axis")
                out[a.name] = a.size
            return out
        return tuple(self._resolve_one(s, "NamedArray.resolve_axis") for s in sel)

    def axis_size(self, sel: AxisSelection) -> Any:
        """Size of one axis, or a tuple of sizes for several (missing → ``ValueError``).

        Examples:
            >>> import haliax as hax
            >>> x = hax.zeros(hax.make_axes(X=2, Y=3))
            >>> x.axis_size("Y"), x.axis_size(("Y", "X"))
            (3, (3, 2))
        """
        if isinstance(sel, (Axis, str)):
            return self._resolve_one(sel, "NamedArray.axis_size").size
        if isinstance(sel, Mapping):
            sel = tuple(n if s is None else Axis(n, s) for n, s in sel.items())
        return tuple(self._resolve_one(s, "NamedArray.axis_size").size for s in sel)

    def matches_axes(self, spec: Any) -> bool:
        """Whether the axes match a typing spec; see `haliax.haxtyping.matches_axes`."""
        from .haxtyping import matches_axes

        return matches_axes(self, spec)

    def __class_getitem__(cls, item: Any) -> Any:
        from .haxtyping import named_array_annotation

        return named_array_annotation(item)

    # --------------------------------------------------------------------------------------------
    # printing and conversions

    def __str__(self) -> str:
        arr, dtype = self.array, getattr(self.array, "dtype", None)
        if isinstance(arr, Tracer):
            return f"NamedArray(Tracer<{arr.dtype}{self.shape}>)"
        return f"NamedArray({arr!r}, {self.shape})" if dtype is None else f"NamedArray({dtype}{self.shape}, {arr})"

    def __repr__(self) -> str:
        return f"NamedArray(array={self.array!r}, axes={self.axes!r})"

    def __bool__(self) -> bool:
        return bool(self.array)

    def __int__(self) -> int:
        return int(self.array)

    def __float__(self) -> float:
        return float(self.array)

    def __complex__(self) -> complex:
        return complex(self.array)

    def __index__(self) -> int:
        return self.array.__index__()

    def __hash__(self) -> int:
        return id(self)

    def __matmul__(self, other: Any) -> Any:
        raise ValueError("matmul is too ambiguous with NamedArrays. Use dot instead.")

    def __rmatmul__(self, other: Any) -> Any:
        raise ValueError("matmul is too ambiguous with NamedArrays. Use dot instead.")

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        """Elementwise ``==`` (a NamedArray). Special case (B4): if either side's ``.array`` is None, a plain
        bool (equal axes and both arrays None), which pytree comparisons rely on."""
        if self.array is None or (isinstance(other, NamedArray) and other.array is None):
            return isinstance(other, NamedArray) and self.axes == other.axes and self.array is other.array
        return importlib.import_module("haliax.ops.elementwise").equal(self, other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        """Elementwise ``!=``; a plain bool when either ``.array`` is None (see ``__eq__``)."""
        if self.array is None or (isinstance(other, NamedArray) and other.array is None):
            return not self.__eq__(other)
        return importlib.import_module("haliax.ops.elementwise").not_equal(self, other)

    # There is deliberately no __len__ / __iter__ (corrections B4): iteration falls back to
    # __getitem__(0), which raises ValueError("Invalid index type ...").
    def __getitem__(self, idx: Any) -> Any:
        from .ops import indexing

        return indexing.getitem(self, idx)

    @property
    def at(self) -> Any:
        """Functional updates, ``x.at["X", 1].set(v)``: see `haliax.ops.indexing`."""
        return importlib.import_module("haliax.ops.indexing")._AtIndexer(self)


# --------------------------------------------------------------------------------------------------
# operator dunders and forwarded methods, generated from tables

_BINARY_DUNDERS = dict(
    add="add",
    sub="subtract",
    mul="multiply",
    truediv="true_divide",
    floordiv="floor_divide",
    mod="mod",
    pow="power",
    divmod="divmod",
    lshift="left_shift",
    rshift="right_shift",
    and_="bitwise_and",
    or_="bitwise_or",
    xor="bitwise_xor",
)
_COMPARE_DUNDERS = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal"}
_UNARY_DUNDERS = {"neg": "negative", "pos": "positive", "abs": "absolute", "invert": "invert"}


def _reflected(fname: str) -> Callable[..., Any]:
    cache: list[Callable[..., Any]] = []

    def method(self: NamedArray, other: Any) -> Any:
        if not cache:
            cache.append(getattr(importlib.import_module("haliax.ops.elementwise"), fname))
        return cache[0](other, self)

    method.__name__ = fname
    method.__doc__ = f"Reflected `haliax.{fname}`: ``{fname}(other, self)``."
    return method


for _d, _f in {**_BINARY_DUNDERS, **_COMPARE_DUNDERS, **_UNARY_DUNDERS}.items():
    setattr(NamedArray, f"__{_d.rstrip('_')}__", _install(f"__{_d.rstrip('_')}__", "haliax.ops.elementwise", _f))
for _d, _f in _BINARY_DUNDERS.items():
    setattr(NamedArray, f"__r{_d.rstrip('_')}__", _reflected(_f))

_FORWARDED = {
    "haliax.ops.reductions": (
        "max min all any amax amin ptp argmax argmin nansum nanmean nanmax nanmin "
        "nanprod nanstd nanvar nanargmax nanargmin cumsum cumprod nancumsum nancumprod sort argsort top_k"
    ),
    "haliax.ops.linalg": "dot trace tril triu",
    "haliax.ops.broadcast": "broadcast_to broadcast_axis",
    "haliax.ops.shape": "rearrange rename flatten_axes unflatten_axis split unbind ravel flatten roll pad repeat tile",
    "haliax.ops.indexing": "take slice updated_slice",
    "haliax.ops.elementwise": "clip round isclose allclose",
}
for _mod, _names in _FORWARDED.items():
    for _n in _names.split():
        setattr(NamedArray, _n, _install(_n, _mod, _n))


def _reduction_method(name: str, ddof: bool) -> Callable[..., Any]:
    """Method spelling of a reduction: ``x.sum(axis, dtype)`` / ``x.var(axis, dtype, ddof)``, ``where`` keyword."""

    def red() -> Callable[..., Any]:
        return getattr(importlib.import_module("haliax.ops.reductions"), name)

    def method(self: NamedArray, axis: Any = None, dtype: Any = None, *, where: Any = None) -> Any:
        return red()(self, axis, where=where, dtype=dtype)

    def method_ddof(self: NamedArray, axis: Any = None, dtype: Any = None, ddof: int = 0, *, where: Any = None) -> Any:
        return red()(self, axis, where=where, dtype=dtype, ddof=ddof)

    out = method_ddof if ddof else method
    out.__name__ = name
    out.__qualname__ = f"NamedArray.{name}"
    out.__doc__ = f"Method form of `haliax.{name}` (``dtype`` may be given positionally after ``axis``)."
    return out


for _n in ("sum", "mean", "prod", "product", "std", "var"):
    setattr(NamedArray, _n, _reduction_method(_n, _n in ("std", "var")))


def is_named_array(x: Any) -> bool:
    """True for a NamedArray.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> hax.is_named_array(hax.zeros(hax.Axis("X", 2))), hax.is_named_array(jnp.zeros(2))
        (True, False)
    """
    return isinstance(x, NamedArray)


def named(a: Any, axis: AxisSelection) -> NamedArray:
    """Wrap an array with names.

    ``jnp.asarray(a)``, then axes from ``axis``: string entries take their size from the array, Axis
    entries are size-checked; a single name is fine for a 1-D array; shape dicts are accepted.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> hax.named(jnp.zeros((2, 3)), ("X", "Y")).shape
        {'X': 2, 'Y': 3}
    """
    a = jnp.asarray(a)
    if isinstance(axis, (str, Axis)):
        axis = (axis,)
    if isinstance(axis, Mapping):
        axis = tuple(Axis(n, s) if s is not None else n for n, s in axis.items())
    axis = tuple(axis)
    if len(axis) != a.ndim:
        raise ValueError(
            f"named: Shape mismatch: array has shape {a.shape} ({a.ndim} dims) but {len(axis)} axes were given: "
            f"{tuple(str(x) for x in axis)}"
        )
    out = []
    for sel, n in zip(axis, a.shape, strict=True):
        if isinstance(sel, Axis):
            if sel.size != n:
                raise ValueError(
                    f"named: Shape mismatch: axis {sel} does not match array dimension of size {n} "
                    f"(array shape {a.shape})"
                )
            out.append(sel)
        elif isinstance(sel, str):
            out.append(Axis(sel, n))
        else:
            raise TypeError(f"named: argument 'axis': expected an axis name or Axis, got {sel!r}")
    return NamedArray(a, tuple(out))


def flatten_all_axes_but(
    a: NamedArray, axis_name: str, axis: AxisSelection, reorder_to_front: bool = False
) -> tuple[NamedArray, Callable[[NamedArray], NamedArray]]:
    """Flatten ``axis`` into one axis called ``axis_name``; return it and a function restoring the axes.

    Despite its (reference-compatible) name, this merges the *given* axes (corrections B11).

    Examples:
        >>> import haliax as hax
        >>> x = hax.zeros(hax.make_axes(B=2, S=3, E=4))
        >>> flat, unflatten = hax.flatten_all_axes_but(x, "BS", ("B", "S"))
        >>> flat.shape, unflatten(flat).shape
        ({'BS': 6, 'E': 4}, {'B': 2, 'S': 3, 'E': 4})
    """
    from .ops import shape

    sel = (axis,) if isinstance(axis, (str, Axis)) else tuple(axis)
    old = a.resolve_axis(sel)
    flat = shape.flatten_axes(a, old, axis_name)
    if reorder_to_front:
        flat = shape.rearrange(flat, (axis_name, ...))

    def unflatten(x: NamedArray) -> NamedArray:
        return shape.unflatten_axis(x, axis_name, old)

    return flat, unflatten
