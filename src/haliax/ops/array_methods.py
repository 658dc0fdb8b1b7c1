"""The methods and operators of `NamedArray`, declared once and attached to the class from above.

`haliax.core` defines the data of a named array (the pytree, properties, axis queries) and imports no op module.
The op layer owns the behaviour: this module declares every method and operator of `NamedArray` as a plain
attribute of `NamedArrayMethods` (most are the op functions themselves, so ``x.sum`` *is* a forward to
`haliax.sum`), and `attach` copies them onto `NamedArray` when `haliax.ops` is imported. JAX attaches its array
methods the same way (``jax.numpy``'s array-methods module).

The same class is the one declaration type checkers read: `haliax.core` names it as `NamedArray`'s base under
``typing.TYPE_CHECKING`` only (at run time the base is ``object``), so there is no second table to keep in sync.

Follow ``x.sum("Y")``: `NamedArrayMethods.sum` calls `haliax.ops.reductions.sum`, which resolves ``"Y"`` through
`haliax.axis.locate_axes` and calls ``jnp.sum`` once with the position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import haxtyping
from ..core import NamedArray
from . import broadcast, elementwise, indexing, linalg, reductions, shape

if TYPE_CHECKING:
    from ..axis import Axis, AxisSelection

__all__ = ["NamedArrayMethods", "attach"]


class NamedArrayMethods:
    """Every method and operator `NamedArray` gets from the op layer (copied onto the class by `attach`).

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.array_methods import NamedArrayMethods
        >>> hax.NamedArray.sum is NamedArrayMethods.sum, hax.NamedArray.dot is hax.dot
        (True, True)
    """

    __slots__ = ()
    array: Any  # the data fields of NamedArray, declared for type checkers (annotations only)
    axes: tuple[Axis, ...]

    # ---------------------------------------------------------------------------------------------
    # operators (named broadcasting); ``@`` is refused in core: "matmul is too ambiguous"

    __add__ = elementwise.add
    __sub__ = elementwise.subtract
    __mul__ = elementwise.multiply
    __truediv__ = elementwise.true_divide
    __floordiv__ = elementwise.floor_divide
    __mod__ = elementwise.mod
    __pow__ = elementwise.power
    __divmod__ = elementwise.divmod
    __lshift__ = elementwise.left_shift
    __rshift__ = elementwise.right_shift
    __and__ = elementwise.bitwise_and
    __or__ = elementwise.bitwise_or
    __xor__ = elementwise.bitwise_xor
    __lt__ = elementwise.less
    __le__ = elementwise.less_equal
    __gt__ = elementwise.greater
    __ge__ = elementwise.greater_equal
    __neg__ = elementwise.negative
    __pos__ = elementwise.positive
    __abs__ = elementwise.absolute
    __invert__ = elementwise.invert

    def __radd__(self, other: Any) -> NamedArray:
        return elementwise.add(other, self)

    def __rsub__(self, other: Any) -> NamedArray:
        return elementwise.subtract(other, self)

    def __rmul__(self, other: Any) -> NamedArray:
        return elementwise.multiply(other, self)

    def __rtruediv__(self, other: Any) -> NamedArray:
        return elementwise.true_divide(other, self)

    def __rfloordiv__(self, other: Any) -> NamedArray:
        return elementwise.floor_divide(other, self)

    def __rmod__(self, other: Any) -> NamedArray:
        return elementwise.mod(other, self)

    def __rpow__(self, other: Any) -> NamedArray:
        return elementwise.power(other, self)

    def __rdivmod__(self, other: Any) -> tuple[NamedArray, NamedArray]:
        return elementwise.divmod(other, self)

    def __rlshift__(self, other: Any) -> NamedArray:
        return elementwise.left_shift(other, self)

    def __rrshift__(self, other: Any) -> NamedArray:
        return elementwise.right_shift(other, self)

    def __rand__(self, other: Any) -> NamedArray:
        return elementwise.bitwise_and(other, self)

    def __ror__(self, other: Any) -> NamedArray:
        return elementwise.bitwise_or(other, self)

    def __rxor__(self, other: Any) -> NamedArray:
        return elementwise.bitwise_xor(other, self)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        """Elementwise ``==`` (a NamedArray).

        When either side's ``.array`` is None (a placeholder leaf, as pytree utilities build), a plain bool
        instead: equal axes and both arrays None.
        """
        same = _placeholder_equality(self, other)
        return elementwise.equal(self, other) if same is None else same

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        """Elementwise ``!=``; a plain bool when either ``.array`` is None (see ``__eq__``)."""
        same = _placeholder_equality(self, other)
        return elementwise.not_equal(self, other) if same is None else not same

    # ---------------------------------------------------------------------------------------------
    # indexing. There is deliberately no ``__len__``/``__iter__``: iteration falls back to ``x[0]``, which
    # raises "Invalid index type".

    __getitem__ = indexing.getitem

    @property
    def at(self) -> indexing.AtIndexer:
        """Functional updates, ``x.at["X", 1].set(v)``: see `haliax.ops.indexing.AtIndexer`."""
        return indexing.AtIndexer(self)  # type: ignore[arg-type]

    take = indexing.take
    slice = indexing.slice
    updated_slice = indexing.updated_slice

    # ---------------------------------------------------------------------------------------------
    # reductions: the method spelling lets ``dtype`` (and ``ddof``) follow ``axis`` positionally

    def sum(self, axis: AxisSelection | None = None, dtype: Any = None, *, where: Any = None) -> NamedArray:
        """Method form of `haliax.sum`."""
        return reductions.sum(self, axis, where=where, dtype=dtype)

    def mean(self, axis: AxisSelection | None = None, dtype: Any = None, *, where: Any = None) -> NamedArray:
        """Method form of `haliax.mean`."""
        return reductions.mean(self, axis, where=where, dtype=dtype)

    def prod(self, axis: AxisSelection | None = None, dtype: Any = None, *, where: Any = None) -> NamedArray:
        """Method form of `haliax.prod`."""
        return reductions.prod(self, axis, where=where, dtype=dtype)

    product = prod

    def std(
        self, axis: AxisSelection | None = None, dtype: Any = None, ddof: int = 0, *, where: Any = None
    ) -> NamedArray:
        """Method form of `haliax.std`.

        Args:
            axis: the axis or axes to reduce (None: all).
            dtype: the dtype of the computation and result.
            ddof: delta degrees of freedom: the divisor is ``N - ddof``.
            where: an optional boolean mask; only the True entries take part.
        """
        return reductions.std(self, axis, where=where, dtype=dtype, ddof=ddof)

    def var(
        self, axis: AxisSelection | None = None, dtype: Any = None, ddof: int = 0, *, where: Any = None
    ) -> NamedArray:
        """Method form of `haliax.var`.

        Args:
            axis: the axis or axes to reduce (None: all).
            dtype: the dtype of the computation and result.
            ddof: delta degrees of freedom: the divisor is ``N - ddof``.
            where: an optional boolean mask; only the True entries take part.
        """
        return reductions.var(self, axis, where=where, dtype=dtype, ddof=ddof)

    max = reductions.max
    min = reductions.min
    amax = reductions.amax
    amin = reductions.amin
    all = reductions.all
    any = reductions.any
    ptp = reductions.ptp
    nansum = reductions.nansum
    nanmean = reductions.nanmean
    nanprod = reductions.nanprod
    nanmax = reductions.nanmax
    nanmin = reductions.nanmin
    nanstd = reductions.nanstd
    nanvar = reductions.nanvar
    argmax = reductions.argmax
    argmin = reductions.argmin
    nanargmax = reductions.nanargmax
    nanargmin = reductions.nanargmin
    cumsum = reductions.cumsum
    cumprod = reductions.cumprod
    nancumsum = reductions.nancumsum
    nancumprod = reductions.nancumprod
    sort = reductions.sort
    argsort = reductions.argsort
    top_k = reductions.top_k

    # ---------------------------------------------------------------------------------------------
    # linear algebra, shape, broadcasting, elementwise helpers

    dot = linalg.dot
    trace = linalg.trace
    tril = linalg.tril
    triu = linalg.triu
    rearrange = shape.rearrange
    rename = shape.rename
    flatten_axes = shape.flatten_axes
    unflatten_axis = shape.unflatten_axis
    split = shape.split
    unbind = shape.unbind
    ravel = shape.ravel
    flatten = shape.flatten
    roll = shape.roll
    pad = shape.pad
    repeat = shape.repeat
    tile = shape.tile
    broadcast_to = broadcast.broadcast_to
    broadcast_axis = broadcast.broadcast_axis
    clip = elementwise.clip
    round = elementwise.round
    isclose = elementwise.isclose
    allclose = elementwise.allclose

    # ---------------------------------------------------------------------------------------------
    # typing helpers

    matches_axes = haxtyping.matches_axes

    def __class_getitem__(cls, item: Any) -> Any:
        """``NamedArray["batch embed"]``: an ``Annotated`` type; see `haliax.haxtyping`."""
        return haxtyping.named_array_annotation(item)


def _placeholder_equality(x: Any, other: Any) -> bool | None:
    """``x == other`` as a plain bool when either side is a placeholder NamedArray (``.array`` is None), else None."""
    if not (x.array is None or (isinstance(other, NamedArray) and other.array is None)):
        return None
    return isinstance(other, NamedArray) and x.axes == other.axes and x.array is other.array


# class-machinery attributes that are not methods to copy
_NOT_METHODS = frozenset(
    {"__module__", "__qualname__", "__doc__", "__slots__", "__dict__", "__weakref__", "__firstlineno__"}
    | {"__static_attributes__", "__annotations__", "__hash__"}  # defining __eq__ sets __hash__ = None here
)


def attach(cls: type = NamedArray) -> None:
    """Copy every attribute of `NamedArrayMethods` onto ``cls`` (done once, when `haliax.ops` is imported).

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.array_methods import attach
        >>> attach()  # idempotent
        >>> (hax.arange(hax.Axis("X", 3)) + 1).tolist()
        [1, 2, 3]
    """
    for name, value in vars(NamedArrayMethods).items():
        if name not in _NOT_METHODS:
            setattr(cls, name, value)


attach()
