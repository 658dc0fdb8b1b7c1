"""The named array: an immutable pytree pairing a JAX array with a tuple of named axes.

Methods are thin: they forward to the op modules in ``haliax.ops`` (imported lazily, after the first
call a dictionary lookup), so this module never imports them at load time.
"""

from __future__ import annotations

import contextlib
import importlib
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

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
    """Context manager turning the NamedArray shape check on or off; yields the previous value."""
    old = _SHAPE_CHECKS[0]
    _SHAPE_CHECKS[0] = enabled
    try:
        yield old
    finally:
        _SHAPE_CHECKS[0] = old


def are_shape_checks_enabled() -> bool:
    """Whether NamedArray construction checks the array shape against the axes."""
    return _SHAPE_CHECKS[0]


def _to_axes(axes: Any) -> tuple[Axis, ...]:
    if isinstance(axes, Axis):
        return (axes,)
    if isinstance(axes, Mapping):
        return tuple(Axis(n, s) for n, s in axes.items())
    if isinstance(axes, tuple) and all(type(a) is Axis for a in axes):
        return axes
    out = tuple(axes)
    for a in out:
        if not isinstance(a, Axis):
            raise TypeError(f"NamedArray: Expected Axis, got {a!r} of type {type(a).__name__}")
    return out


def _lazy(module: str, name: str) -> Callable[..., Any]:
    """A method that forwards ``self`` and its arguments to ``module.name`` (imported on first use)."""
    cache: list[Callable[..., Any]] = []

    def method(self: NamedArray, *args: Any, **kwargs: Any) -> Any:
        if not cache:
            cache.append(getattr(importlib.import_module(module), name))
        return cache[0](self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"Method form of `haliax.{name}` (see `{module}.{name}`)."
    return method


@jax.tree_util.register_pytree_node_class
class NamedArray:
    """A JAX array whose axes have names.

    ``NamedArray(array, axes)``: ``axes`` may be an Axis, a tuple of Axis or a shape dict. Names must be
    unique and the array shape must equal the axis sizes.

    Example:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> x = hax.NamedArray(jnp.ones((2, 3)), (X, Y))
        >>> x.shape
        {'X': 2, 'Y': 3}
        >>> x.sum("Y").axes
        (Axis(name='X', size=2),)
    """

    __slots__ = ("array", "axes")
    __array_priority__ = 100
    array: Any
    axes: tuple[Axis, ...]

    def __init__(self, array: Any, axes: AxisSpec):
        axes = _to_axes(axes)
        if len(name_index(axes)) != len(axes):
            raise ValueError(f"NamedArray: Axes must be unique, got {tuple(str(a) for a in axes)}")
        if _SHAPE_CHECKS[0]:
            shape = getattr(array, "shape", None)
            if shape is not None and tuple(shape) != tuple(a.size for a in axes):
                raise ValueError(
                    f"NamedArray: Shape of underlying array {tuple(shape)} does not match shape of axes "
                    f"{tuple(str(a) for a in axes)}"
                )
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "axes", axes)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("NamedArray is immutable")

    # pytree
    def tree_flatten(self) -> tuple[tuple[Any], tuple[Axis, ...]]:
        return (self.array,), self.axes

    @classmethod
    def tree_unflatten(cls, aux: tuple[Axis, ...], children: Sequence[Any]) -> NamedArray:
        obj = object.__new__(cls)
        object.__setattr__(obj, "array", children[0])
        object.__setattr__(obj, "axes", aux)
        return obj

    # --------------------------------------------------------------------------------------------
    # properties

    @property
    def shape(self) -> dict[str, int]:
        """A dict ``{name: size}`` in axis order (not a tuple)."""
        return {a.name: a.size for a in self.axes}

    @property
    def dtype(self) -> Any:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def size(self) -> int:
        out = 1
        for a in self.axes:
            out *= a.size
        return out

    @property
    def nbytes(self) -> int:
        return self.array.nbytes

    @property
    def real(self) -> NamedArray:
        return NamedArray(jnp.real(self.array), self.axes)

    @property
    def imag(self) -> NamedArray:
        return NamedArray(jnp.imag(self.array), self.axes)

    def conj(self) -> NamedArray:
        return NamedArray(jnp.conj(self.array), self.axes)

    def item(self) -> Any:
        """The single element as a Python scalar."""
        return self.array.item()

    def scalar(self) -> jax.Array:
        """The array of a 0-d NamedArray."""
        if self.axes:
            raise ValueError(f"Expected scalar, got {len(self.axes)}-dimensional array with axes {self.axes}")
        return self.array

    def tolist(self) -> Any:
        return self.array.tolist()

    def tobytes(self) -> bytes:
        return self.array.tobytes()

    def copy(self) -> NamedArray:
        return NamedArray(jnp.array(self.array, copy=True), self.axes)

    def astype(self, dtype: Any) -> NamedArray:
        """Convert the dtype. ``astype(None)`` converts to JAX's default float dtype."""
        if dtype is None:
            dtype = jnp.zeros(()).dtype
        return NamedArray(self.array.astype(dtype), self.axes)

    # --------------------------------------------------------------------------------------------
    # axis queries

    def _lookup(self, sel: AxisSelector) -> int | None:
        if isinstance(sel, Axis):
            i = name_index(self.axes).get(sel.name)
            if i is not None and self.axes[i].size != sel.size:
                raise RuntimeError(
                    f"Found axis with same name but different size: {sel} vs {self.axes[i]} in {self.axes}"
                )
            return i
        return name_index(self.axes).get(sel)

    def axis_indices(self, sel: AxisSelection) -> Any:
        """Position of one axis (or None), or a tuple of positions for several."""
        if isinstance(sel, (Axis, str)):
            return self._lookup(sel)
        if isinstance(sel, Mapping):
            return tuple(self._lookup(n if s is None else Axis(n, s)) for n, s in sel.items())
        return tuple(self._lookup(s) for s in sel)

    def has_axis(self, sel: AxisSelection) -> bool:
        """Whether the axis (or every one of several axes) is present.

        Unlike the reference (where a sequence selector is always "present"), a sequence checks every
        axis. A same-name, different-size Axis raises ``RuntimeError``.
        """
        idx = self.axis_indices(sel)
        if isinstance(idx, tuple):
            return all(i is not None for i in idx)
        return idx is not None

    def _resolve_one(self, sel: AxisSelector, fn: str = "resolve_axis") -> Axis:
        i = self._lookup(sel)
        if i is None:
            raise axis_not_found_error(sel.name if isinstance(sel, Axis) else sel, self.axes, fn)
        return self.axes[i]

    def resolve_axis(self, sel: AxisSelection) -> Any:
        """The full Axis (or tuple of Axis, or shape dict) for the given names."""
        if isinstance(sel, (Axis, str)):
            return self._resolve_one(sel)
        if isinstance(sel, Mapping):
            return {a.name: a.size for a in (self._resolve_one(n if s is None else Axis(n, s)) for n, s in sel.items())}
        return tuple(self._resolve_one(s) for s in sel)

    def axis_size(self, sel: AxisSelection) -> Any:
        """Size of one axis, or a tuple of sizes."""
        r = self.resolve_axis(sel)
        if isinstance(r, Axis):
            return r.size
        if isinstance(r, dict):
            return tuple(r.values())
        return tuple(a.size for a in r)

    def matches_axes(self, spec: Any) -> bool:
        """See `haliax.haxtyping.matches_axes`."""
        from .haxtyping import matches_axes

        return matches_axes(self, spec)

    def __class_getitem__(cls, item: Any) -> Any:
        from .haxtyping import named_array_annotation

        return named_array_annotation(item)

    # --------------------------------------------------------------------------------------------
    # printing and conversions

    def __str__(self) -> str:
        if isinstance(self.array, jax.core.Tracer):
            return f"NamedArray({self.array})"
        return f"NamedArray({self.dtype}{self.shape}, {self.array})"

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
        return int(self.array)

    def __hash__(self) -> int:
        return id(self)

    def __matmul__(self, other: Any) -> Any:
        raise ValueError("matmul is too ambiguous with NamedArrays. Use dot instead.")

    def __rmatmul__(self, other: Any) -> Any:
        raise ValueError("matmul is too ambiguous with NamedArrays. Use dot instead.")

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        if self.array is None or (isinstance(other, NamedArray) and other.array is None):
            return isinstance(other, NamedArray) and self.axes == other.axes and self.array is other.array
        from .ops import elementwise

        return elementwise.equal(self, other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        if self.array is None or (isinstance(other, NamedArray) and other.array is None):
            return not self.__eq__(other)
        from .ops import elementwise

        return elementwise.not_equal(self, other)

    # Indexing
    def __getitem__(self, idx: Any) -> Any:
        from .ops import indexing

        return indexing.getitem(self, idx)

    @property
    def at(self) -> Any:
        """Functional updates, ``x.at["X", 1].set(v)``: see `haliax.ops.indexing`."""
        from .ops import indexing

        return indexing._AtIndexer(self)


# --------------------------------------------------------------------------------------------------
# operator dunders and forwarded methods, generated from tables

_BINARY_DUNDERS = {
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "truediv": "true_divide",
    "floordiv": "floor_divide",
    "mod": "mod",
    "pow": "power",
    "divmod": "divmod",
    "lshift": "left_shift",
    "rshift": "right_shift",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "xor": "bitwise_xor",
}
_COMPARE_DUNDERS = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal"}
_UNARY_DUNDERS = {"neg": "negative", "pos": "positive", "abs": "absolute", "invert": "invert"}


def _binary_dunder(fname: str, reflected: bool) -> Callable[..., Any]:
    cache: list[Callable[..., Any]] = []

    def method(self: NamedArray, other: Any) -> Any:
        if not cache:
            cache.append(getattr(importlib.import_module("haliax.ops.elementwise"), fname))
        if reflected:
            return cache[0](other, self)
        return cache[0](self, other)

    return method


for _d, _f in {**_BINARY_DUNDERS, **_COMPARE_DUNDERS}.items():
    setattr(NamedArray, f"__{_d}__", _binary_dunder(_f, False))
for _d, _f in _BINARY_DUNDERS.items():
    setattr(NamedArray, f"__r{_d}__", _binary_dunder(_f, True))
for _d, _f in _UNARY_DUNDERS.items():
    setattr(NamedArray, f"__{_d}__", _lazy("haliax.ops.elementwise", _f))

_FORWARDED = {
    "haliax.ops.reductions": (
        "sum mean max min prod product std var all any amax amin ptp argmax argmin nansum nanmean nanmax nanmin "
        "nanprod nanstd nanvar nanargmax nanargmin cumsum cumprod nancumsum nancumprod sort argsort top_k"
    ),
    "haliax.ops.linalg": "dot",
    "haliax.ops.broadcast": "broadcast_to broadcast_axis",
    "haliax.ops.shape": "rearrange rename flatten_axes unflatten_axis split unbind ravel flatten roll pad repeat tile",
    "haliax.ops.indexing": "take slice updated_slice",
    "haliax.ops.elementwise": "clip round isclose allclose",
}
for _mod, _names in _FORWARDED.items():
    for _n in _names.split():
        setattr(NamedArray, _n, _lazy(_mod, _n))
NamedArray.trace = _lazy("haliax.ops.linalg", "trace")  # type: ignore[attr-defined]
NamedArray.tril = _lazy("haliax.ops.linalg", "tril")  # type: ignore[attr-defined]
NamedArray.triu = _lazy("haliax.ops.linalg", "triu")  # type: ignore[attr-defined]

if typing.TYPE_CHECKING:  # give static checkers the forwarded methods

    def _any_method(self: NamedArray, *args: Any, **kwargs: Any) -> Any: ...

    for _n in (
        "sum mean max min prod product std var all any amax amin ptp argmax argmin cumsum cumprod sort argsort "
        "dot broadcast_to broadcast_axis rearrange rename flatten_axes unflatten_axis split unbind ravel take slice "
        "updated_slice clip round"
    ).split():
        pass


def is_named_array(x: Any) -> bool:
    """True for a NamedArray."""
    return isinstance(x, NamedArray)


def named(a: Any, axis: AxisSelection) -> NamedArray:
    """Wrap an array with names. String entries take their size from the array; Axis entries are
    size-checked.

    Example:
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
            f"named: Shape mismatch: array has shape {a.shape} ({a.ndim} dims) but {len(axis)} axes were given: {axis}"
        )
    out = []
    for sel, n in zip(axis, a.shape, strict=True):
        if isinstance(sel, Axis):
            if sel.size != n:
                raise ValueError(f"named: Shape mismatch: axis {sel} does not match array dimension of size {n}")
            out.append(sel)
        elif isinstance(sel, str):
            out.append(Axis(sel, n))
        else:
            raise TypeError(f"named: expected an axis name or Axis, got {sel!r}")
    return NamedArray(a, tuple(out))


def flatten_all_axes_but(
    a: NamedArray, axis_name: str, axis: AxisSelection, reorder_to_front: bool = False
) -> tuple[NamedArray, Callable[[NamedArray], NamedArray]]:
    """Flatten ``axis`` into one axis called ``axis_name``; return it and a function restoring the axes.

    Despite its (reference-compatible) name, this merges the *given* axes.
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


def _np_like(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic))
