"""Static declarations of the NamedArray methods that ``core.py`` attaches at import time.

``core.py`` installs the operator dunders and the methods that forward to ``haliax.ops`` with ``setattr``
(importing the op modules lazily), which a type checker cannot follow. ``NamedArray`` derives from
`NamedArrayMethods` only under ``typing.TYPE_CHECKING``; at run time its base is ``object`` and this module is
never imported, so it costs nothing on the eager path.

Operators are declared as returning a NamedArray, the result whenever a NamedArray is involved (the exception:
a 0-d NamedArray combined with a non-scalar plain array gives the plain result). Forwarded methods are the op
functions themselves, so their signatures cannot drift; only the reductions whose method form differs (``dtype``
and ``ddof`` may be positional) are spelled out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .ops import broadcast, elementwise, indexing, linalg, reductions, shape

if TYPE_CHECKING:
    from .axis import AxisSelection
    from .core import NamedArray

__all__: list[str] = []


class NamedArrayMethods:
    """Type-checking-only base of NamedArray: the dynamically installed operators and forwarded methods."""

    __slots__ = ()

    # operators: every binary one (named broadcasting), reflected or not, and the comparisons (``==`` / ``!=``
    # are real methods of NamedArray) share one signature, as do the unary ones
    def __add__(self, other: Any) -> NamedArray: ...
    def __divmod__(self, other: Any) -> tuple[NamedArray, NamedArray]: ...
    def __neg__(self) -> NamedArray: ...

    __sub__ = __mul__ = __truediv__ = __floordiv__ = __mod__ = __pow__ = __add__
    __lshift__ = __rshift__ = __and__ = __or__ = __xor__ = __add__
    __radd__ = __rsub__ = __rmul__ = __rtruediv__ = __rfloordiv__ = __rmod__ = __rpow__ = __add__
    __rlshift__ = __rrshift__ = __rand__ = __ror__ = __rxor__ = __add__
    __lt__ = __le__ = __gt__ = __ge__ = __add__
    __rdivmod__ = __divmod__
    __pos__ = __abs__ = __invert__ = __neg__

    # method spellings of the reductions: ``dtype`` (and ``ddof``) may follow ``axis`` positionally
    def sum(self, axis: AxisSelection | None = None, dtype: Any = None, *, where: Any = None) -> NamedArray: ...
    def std(
        self, axis: AxisSelection | None = None, dtype: Any = None, ddof: int = 0, *, where: Any = None
    ) -> NamedArray: ...

    mean = prod = product = sum
    var = std

    # forwarded methods: the op functions themselves (bound with the array as first argument)
    max = reductions.max
    min = reductions.min
    amax = reductions.amax
    amin = reductions.amin
    nanmax = reductions.nanmax
    nanmin = reductions.nanmin
    all = reductions.all
    any = reductions.any
    ptp = reductions.ptp
    nansum = reductions.nansum
    nanmean = reductions.nanmean
    nanprod = reductions.nanprod
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
    dot = linalg.dot
    trace = linalg.trace
    tril = linalg.tril
    triu = linalg.triu
    broadcast_to = broadcast.broadcast_to
    broadcast_axis = broadcast.broadcast_axis
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
    take = indexing.take
    slice = indexing.slice
    updated_slice = indexing.updated_slice
    clip = elementwise.clip
    round = elementwise.round
    isclose = elementwise.isclose
    allclose = elementwise.allclose
