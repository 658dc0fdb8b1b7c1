"""The named array: an immutable pytree pairing a JAX array with a tuple of named axes.

This module holds the data side of `NamedArray`: construction and validation, the pytree, properties and axis
queries. It imports no op module. The methods and operators (``x + y``, ``x.sum("Y")``, ``x["X", 0]``) are
declared in `haliax.ops.array_methods` and attached to the class from there when `haliax.ops` is imported;
that class is also what type checkers read as `NamedArray`'s base.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from jax.core import Tracer

from .axis import Axis, AxisSelection, AxisSpec, axes_str, locate_axis, lookup_axis, to_selectors

__all__ = [
    "NamedArray",
    "NamedOrNumeric",
    "named",
    "check_shape",
    "enable_shape_checks",
    "are_shape_checks_enabled",
    "is_named_array",
    "flatten_all_axes_but",
    "NotScalarError",
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


def from_validated(array: Any, axes: tuple[Axis, ...]) -> NamedArray:
    """Build a NamedArray without validation.

    For op results whose axes come from an already validated plan, and for pytree unflattening (which must
    accept placeholder leaves). Not part of the public API; callers guarantee unique Axis entries whose sizes
    match the array.
    """
    obj = _new_object(NamedArray)
    _set_attr(obj, "array", array)
    _set_attr(obj, "axes", axes)
    return obj


_new_object = object.__new__
_set_attr = object.__setattr__

if TYPE_CHECKING:  # the methods attached by haliax.ops.array_methods, as type checkers see them
    from .ops.array_methods import NamedArrayMethods as _Methods
else:
    _Methods = object


@jax.tree_util.register_pytree_node_class
class NamedArray(_Methods):
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
        return from_validated(children[0], aux)

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
        """The single element as a Python scalar (an error listing the axes unless there is one element)."""
        self._check_scalar("x.item()")
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
                f"scalar: Expected scalar, got {len(self.axes)}-dimensional array with axes "
                f"{tuple(str(a) for a in self.axes)}; reduce it first (e.g. `x.sum()`) or pick one element"
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

        ``astype(None)`` converts to JAX's *default* float dtype: float32, or float64 when x64 is enabled.

        Examples:
            >>> import jax.numpy as jnp
            >>> import haliax as hax
            >>> x = hax.arange(hax.Axis("X", 2))
            >>> x.astype(jnp.float16).dtype, x.astype(None).dtype
            (dtype('float16'), dtype('float32'))
        """
        if dtype is None:
            dtype = jnp.result_type(float)
        try:
            out = self.array.astype(dtype)
        except TypeError as e:
            raise TypeError(
                f"astype: argument 'dtype': {e} (expected a dtype such as jnp.float32 or 'bfloat16', got {dtype!r})"
            ) from None
        return NamedArray(out, self.axes)

    # --------------------------------------------------------------------------------------------
    # axis queries

    def axis_indices(self, sel: AxisSelection) -> Any:
        """Position of one axis (or None), or a tuple of positions (None for missing ones) for several.

        An Axis whose name matches but whose size differs raises `haliax.axis.AxisSizeMismatchError` (a
        ``ValueError`` that is also a ``RuntimeError``, the type Haliax raises here).

        Examples:
            >>> import haliax as hax
            >>> x = hax.zeros(hax.make_axes(X=2, Y=3))
            >>> x.axis_indices("Y"), x.axis_indices(("Y", "Q", "X"))
            (1, (1, None, 0))
        """
        fn = "NamedArray.axis_indices"
        if isinstance(sel, (Axis, str)) or not isinstance(sel, (Mapping, Iterable)):
            return lookup_axis(self.axes, sel, fn, "sel")  # type: ignore[arg-type]
        return tuple(lookup_axis(self.axes, s, fn, "sel") for s in to_selectors(sel, fn, "sel"))

    def has_axis(self, sel: AxisSelection) -> bool:
        """Whether the axis, or every one of several axes, is present.

        Every axis of a sequence or dict is checked. (Haliax reports any *sequence* as present, since it tests
        the tuple of positions against None; we check each entry.) A same-name Axis of another size raises
        `haliax.axis.AxisSizeMismatchError`.

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

    def resolve_axis(self, sel: AxisSelection) -> Any:
        """The full Axis (or tuple of Axis, or shape dict for a dict selection) for the given names.

        A missing axis raises ``ValueError("... Axis Q not found ...")``; a same-name Axis of another size
        raises `haliax.axis.AxisSizeMismatchError`.

        Examples:
            >>> import haliax as hax
            >>> x = hax.zeros(hax.make_axes(X=2, Y=3))
            >>> x.resolve_axis("Y"), x.resolve_axis({"X": None})
            (Axis(name='Y', size=3), {'X': 2})
        """
        fn = "NamedArray.resolve_axis"
        if isinstance(sel, (Axis, str)):
            return self.axes[locate_axis(self.axes, sel, fn, "sel", capitalize=True)]
        found = tuple(
            self.axes[locate_axis(self.axes, s, fn, "sel", capitalize=True)] for s in to_selectors(sel, fn, "sel")
        )
        return {a.name: a.size for a in found} if isinstance(sel, Mapping) else found

    def axis_size(self, sel: AxisSelection) -> Any:
        """Size of one axis, or a tuple of sizes for several (missing → ``ValueError``).

        Examples:
            >>> import haliax as hax
            >>> x = hax.zeros(hax.make_axes(X=2, Y=3))
            >>> x.axis_size("Y"), x.axis_size(("Y", "X"))
            (3, (3, 2))
        """
        fn = "NamedArray.axis_size"
        if isinstance(sel, (Axis, str)):
            return self.axes[locate_axis(self.axes, sel, fn, "sel", capitalize=True)].size
        return tuple(
            self.axes[locate_axis(self.axes, s, fn, "sel", capitalize=True)].size for s in to_selectors(sel, fn, "sel")
        )

    # --------------------------------------------------------------------------------------------
    # printing and conversions

    def __str__(self) -> str:
        arr, dtype = self.array, getattr(self.array, "dtype", None)
        if isinstance(arr, Tracer):
            return f"NamedArray(Tracer<{arr.dtype}{self.shape}>)"
        return f"NamedArray({arr!r}, {self.shape})" if dtype is None else f"NamedArray({dtype}{self.shape}, {arr})"

    def __repr__(self) -> str:
        return f"NamedArray(array={self.array!r}, axes={self.axes!r})"

    def _check_scalar(self, conversion: str) -> None:
        """Raise `NotScalarError` naming ``conversion`` and listing the axes unless this NamedArray is a scalar
        (0-d; for ``bool``/``item`` one element, as in JAX)."""
        if not self.axes or (conversion in ("bool(x)", "x.item()") and self.size == 1):
            return
        first = self.axes[0].name
        raise NotScalarError(
            f"{conversion}: x is not a scalar: it has axes {axes_str(self.axes)} ({self.size} elements), and only a "
            f"0-d NamedArray converts to a Python scalar. Reduce it first (e.g. `x.sum()`, `x.max()`), pick one "
            f"element (e.g. `x[{first!r}, 0]`), or use `x.array` / `x.tolist()`"
        )

    def __bool__(self) -> bool:
        self._check_scalar("bool(x)")
        return bool(self.array)

    def __int__(self) -> int:
        self._check_scalar("int(x)")
        return int(self.array)

    def __float__(self) -> float:
        self._check_scalar("float(x)")
        return float(self.array)

    def __complex__(self) -> complex:
        self._check_scalar("complex(x)")
        return complex(self.array)

    def __index__(self) -> int:
        self._check_scalar("operator.index(x)")
        return self.array.__index__()

    def __hash__(self) -> int:
        return id(self)

    def __matmul__(self, other: Any) -> Any:
        raise ValueError("matmul is too ambiguous with NamedArrays. Use dot instead.")

    def __rmatmul__(self, other: Any) -> Any:
        raise ValueError("matmul is too ambiguous with NamedArrays. Use dot instead.")


class NotScalarError(TypeError, ValueError):
    """``float``/``int``/``bool``/``complex``/``item`` of a NamedArray that is not a scalar.

    A ``TypeError`` (as JAX raises for ``float`` of an array) and a ``ValueError`` (as NumPy raises for ``bool``
    and ``item`` of several elements), so code catching either keeps working; the message lists the axes
    (Haliax lets JAX's message, which names neither, through).

    Examples:
        >>> import haliax as hax
        >>> try:
        ...     float(hax.ones(hax.Axis("X", 2)))
        ... except TypeError as e:
        ...     print(str(e).split(", and")[0])
        float(x): x is not a scalar: it has axes (X(2)) (2 elements)
    """


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
    axis = to_selectors(axis, "named", "axis")
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
    """Merge the axes ``axis`` into one axis called ``axis_name``; return it and a function restoring them.

    Despite its name (kept for compatibility with Haliax), this merges the *given* axes, in the order given,
    into one axis placed where the first of them sits (at the front with ``reorder_to_front``). The returned
    function splits ``axis_name`` of any array back into those axes, in place.

    Args:
        a: the array.
        axis_name: the name of the merged axis.
        axis: the axes to merge, in the order in which they are merged.
        reorder_to_front: put the merged axis first instead of where the first merged axis was.

    Examples:
        >>> import haliax as hax
        >>> x = hax.zeros(hax.make_axes(B=2, S=3, E=4))
        >>> flat, unflatten = hax.flatten_all_axes_but(x, "BS", ("B", "S"))
        >>> flat.shape, unflatten(flat).shape
        ({'BS': 6, 'E': 4}, {'B': 2, 'S': 3, 'E': 4})
    """
    fn = "flatten_all_axes_but"
    idx = [locate_axis(a.axes, s, fn, "axis") for s in to_selectors(axis, fn, "axis")]
    old = tuple(a.axes[i] for i in idx)
    first = 0 if reorder_to_front or not idx else min(idx)
    rest = [k for k in range(a.ndim) if k not in idx]
    before, after = [k for k in rest if k < first], [k for k in rest if k >= first]
    merged = Axis(axis_name, math.prod(ax.size for ax in old))
    out_axes = tuple(a.axes[k] for k in before) + (merged,) + tuple(a.axes[k] for k in after)
    flat = jnp.reshape(jnp.transpose(a.array, before + idx + after), tuple(ax.size for ax in out_axes))
    flat_named = NamedArray(flat, out_axes)

    def unflatten(x: NamedArray) -> NamedArray:
        p = locate_axis(x.axes, axis_name, "flatten_all_axes_but (unflatten)", "x")
        new_axes = x.axes[:p] + old + x.axes[p + 1 :]
        return NamedArray(jnp.reshape(x.array, tuple(ax.size for ax in new_axes)), new_axes)

    return flat_named, unflatten


def check_shape(jnp_shape: Sequence[int], hax_axes: AxisSelection) -> tuple[Axis, ...]:
    """Name a positional shape: string entries take their size from ``jnp_shape``; Axis entries must match it.

    A length or size mismatch raises ``ValueError("Shape mismatch: jnp_shape=... hax_axes=...")``; an entry
    that is neither a str nor an Axis raises ``ValueError("Invalid axis spec: ...")``; an array (or NamedArray)
    given instead of a shape is a ``TypeError`` (Haliax fails while iterating it).

    Examples:
        >>> import haliax as hax
        >>> hax.core.check_shape((2, 3), ("X", hax.Axis("Y", 3)))
        (Axis(name='X', size=2), Axis(name='Y', size=3))
    """
    sels = to_selectors(hax_axes, "check_shape", "hax_axes")
    if isinstance(jnp_shape, NamedArray) or hasattr(jnp_shape, "dtype") or not isinstance(jnp_shape, Sequence):
        got = (
            f"a NamedArray with axes {axes_str(jnp_shape.axes)}"
            if isinstance(jnp_shape, NamedArray)
            else repr(jnp_shape)
        )
        raise TypeError(
            f"check_shape: argument 'jnp_shape' must be a shape (a sequence of ints), got {got}; pass an array's "
            "`.shape` (to name an array, use hax.named(array, axes))"
        )
    shape = tuple(jnp_shape)
    if len(sels) != len(shape):
        raise ValueError(f"check_shape: Shape mismatch: jnp_shape={shape} hax_axes={hax_axes}")
    out = []
    for sel, n in zip(sels, shape, strict=True):
        if isinstance(sel, Axis):
            if sel.size != n:
                raise ValueError(f"check_shape: Shape mismatch: jnp_shape={shape} hax_axes={hax_axes}")
            out.append(sel)
        elif isinstance(sel, str):
            out.append(Axis(sel, n))
        else:
            raise ValueError(f"check_shape: Invalid axis spec: {sel!r}")
    return tuple(out)


NamedOrNumeric = Any
"""A NamedArray or a scalar (``Scalar | NamedArray`` to a reader; ``typing.Any`` at run time, as in Haliax)."""
