"""Axes and axis specs: the one place that knows how a name becomes a position.

Everything here is pure Python (no JAX arrays). Resolution results are cached by the axes tuple,
because eager code and tracing pay for name lookup on every call.
"""

from __future__ import annotations

import difflib
import functools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import EllipsisType
from typing import Any, overload

__all__ = [
    "Axis",
    "AxisSelector",
    "AxisSelection",
    "AxisSpec",
    "ShapeDict",
    "PartialShapeDict",
    "PartialAxisSpec",
    "make_axes",
    "axis_name",
    "axis_size",
    "concat_axes",
    "concat_axis_specs",
    "union_axes",
    "eliminate_axes",
    "without_axes",
    "unsize_axes",
    "replace_axis",
    "intersect_axes",
    "selects_axis",
    "is_axis_compatible",
    "resolve_axis",
    "axis_spec_to_shape_dict",
    "axis_spec_to_tuple",
    "to_jax_shape",
    "rearrange_for_partial_order",
    "name_index",
    "to_selectors",
    "lookup_axis",
    "locate_axis",
    "locate_axes",
    "axis_not_found_error",
    "axis_size_mismatch_error",
    "AxisSizeMismatchError",
    "AxisIndexError",
    "conflicting_sizes_error",
    "closest_name",
    "axes_str",
]


@dataclass(frozen=True, slots=True)
class Axis:
    """A named dimension with a size.

    Equality and hashing compare both the name and the size.

    The name must be a ``str`` (``TypeError`` otherwise) and the size a non-negative integer: a Python
    ``int`` or a NumPy integer scalar (anything with ``__index__``), which is stored as an ``int``. A ``bool``,
    a float or another object is a ``TypeError``, a negative size a ``ValueError``; both messages name ``Axis``
    and the field. Haliax accepts any name and size here and fails later, far from the mistake; we reject them
    at construction.

    Examples:
        >>> import haliax as hax
        >>> E = hax.Axis("embed", 4)
        >>> str(E), E.resize(8).size, E.alias("hidden").name
        ('embed(4)', 8, 'hidden')
    """

    name: str
    size: int

    def __post_init__(self) -> None:
        name, size = self.name, self.size
        if not isinstance(name, str):
            raise TypeError(f"Axis: field 'name' must be a str, got {name!r} of type {type(name).__name__}")
        if type(size) is not int:
            try:
                if isinstance(size, bool) or type(size).__name__ == "bool_":
                    raise TypeError
                size = operator.index(size)  # ints, NumPy integer scalars, concrete 0-d integer arrays
            except TypeError:
                raise TypeError(
                    f"Axis: field 'size' of axis {name!r} must be a non-negative int, got {size!r} "
                    f"of type {type(size).__name__}"
                ) from None
            object.__setattr__(self, "size", size)
        if size < 0:
            raise ValueError(f"Axis: field 'size' of axis {name!r} must be a non-negative int, got {size}")

    def alias(self, new_name: str) -> Axis:
        """The same size under another name."""
        return Axis(new_name, self.size)

    def resize(self, size: int) -> Axis:
        """The same name with another size."""
        return Axis(self.name, size)

    def __str__(self) -> str:
        return f"{self.name}({self.size})"


AxisSelector = Axis | str
"""One existing axis: a name, or an Axis (which also asserts the size)."""
ShapeDict = Mapping[str, int]
PartialShapeDict = Mapping[str, int | None]
AxisSelection = AxisSelector | Sequence[AxisSelector] | PartialShapeDict
"""Several existing axes. Dict values of None mean "any size"."""
AxisSpec = Axis | Sequence[Axis] | ShapeDict
"""Full shape information (names and sizes), used for creation."""
PartialAxisSpec = Sequence[AxisSelector | EllipsisType]
"""An ordering spec: selectors and ``...`` (for rearrange and ``out_axes``)."""


def make_axes(**sizes: int) -> tuple[Axis, ...]:
    """Make several axes at once, in keyword order.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=10, Y=20)
        >>> Y
        Axis(name='Y', size=20)
    """
    return tuple(Axis(n, s) for n, s in sizes.items())


# --------------------------------------------------------------------------------------------------
# errors


def closest_name(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate most similar to ``name`` (case-insensitive match first), if any is reasonably close.

    Examples:
        >>> from haliax.axis import closest_name
        >>> closest_name("embd", ["batch", "embed"]), closest_name("zzz", ["batch"])
        ('embed', None)
    """
    cands = list(candidates)
    for c in cands:
        if c.lower() == name.lower():
            return c
    m = difflib.get_close_matches(name, cands, n=1, cutoff=0.5)
    return m[0] if m else None


def axis_not_found_error(
    name: str, present: Sequence[Any], where: str = "", arg: str | None = None, *, capitalize: bool = False
) -> ValueError:
    """Build the ``ValueError`` for a missing axis.

    The message names the function (``where``) and argument (``arg``), the axis asked for, the axes that
    exist and, when one is close, the most similar name.

    Args:
        name: the missing axis name.
        present: the axes (or names) that exist.
        where: the function name, e.g. ``"sum"``.
        arg: the argument name, e.g. ``"axis"``.
        capitalize: start the core of the message with ``Axis`` instead of ``axis``.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> str(hax.axis_not_found_error("x", (X, Y), "sum", "axis"))
        "sum: argument 'axis': axis x not found in (X(2), Y(3)). Did you mean 'X'?"
    """
    present_names = [a.name if isinstance(a, Axis) else str(a) for a in present]
    shown = ", ".join(str(a) for a in present) if present else "no axes"
    loc = ""
    if where:
        loc = f"{where}: "
    if arg:
        loc += f"argument {arg!r}: "
    word = "Axis" if capitalize else "axis"
    msg = f"{loc}{word} {name} not found in ({shown})"
    hint = closest_name(str(name), present_names)
    if hint is not None and hint != name:
        msg += f". Did you mean {hint!r}?"
    return ValueError(msg)


# --------------------------------------------------------------------------------------------------
# spec conversion


def axis_name(ax: AxisSelection) -> str | tuple[str, ...]:
    """The name of an axis, or a tuple of names for several.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> hax.axis_name(X), hax.axis_name((X, "Y")), hax.axis_name({"Z": 3})
        ('X', ('X', 'Y'), ('Z',))
    """
    if isinstance(ax, Axis):
        return ax.name
    if isinstance(ax, str):
        return ax
    if isinstance(ax, Mapping):
        return tuple(ax.keys())
    return tuple(a.name if isinstance(a, Axis) else a for a in ax)


def axis_size(spec: AxisSpec) -> int:
    """The size of an Axis, or the product of the sizes of several axes (a tuple or a shape dict).

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.axis_size(X), hax.axis_size((X, Y)), hax.axis_size({"A": 4, "B": 5})
        (2, 6, 20)
    """
    if isinstance(spec, Axis):
        return spec.size
    if isinstance(spec, Mapping):
        sizes = list(spec.values())
    else:
        sizes = []
        for a in spec:
            if not isinstance(a, Axis):
                raise TypeError(f"axis_size: argument 'spec': expected Axis objects (sizes are needed), got {a!r}")
            sizes.append(a.size)
    out = 1
    for s in sizes:
        out *= s
    return out


def axis_spec_to_tuple(spec: AxisSpec) -> tuple[Axis, ...]:
    """Normalise an AxisSpec (an Axis, a sequence of Axis, or a shape dict) to a tuple of Axis.

    Examples:
        >>> import haliax as hax
        >>> hax.axis_spec_to_tuple({"X": 2})
        (Axis(name='X', size=2),)
    """
    if isinstance(spec, Axis):
        return (spec,)
    if isinstance(spec, Mapping):
        return tuple(Axis(n, s) for n, s in spec.items())
    if isinstance(spec, str):
        raise TypeError(f"Expected an Axis or a sequence of Axis, got the name {spec!r} (a size is needed)")
    out = tuple(spec)
    for a in out:
        if not isinstance(a, Axis):
            raise TypeError(f"Expected Axis, got {a!r}")
    return out


def unique_axes(shape: AxisSpec, fn: str, arg: str = "shape") -> tuple[Axis, ...]:
    """`axis_spec_to_tuple` for the shape of a new array: a value that is not an AxisSpec raises ``TypeError`` and
    a name given twice ``ValueError``, each naming ``fn`` and ``arg`` (the one check behind creation and
    `haliax.random`).

    Examples:
        >>> import haliax as hax
        >>> hax.axis.unique_axes({"X": 2, "Y": 3}, "zeros")
        (Axis(name='X', size=2), Axis(name='Y', size=3))
    """
    try:
        axes = axis_spec_to_tuple(shape)
    except TypeError as e:
        raise TypeError(f"{fn}: argument {arg!r}: {e}") from None
    if len(name_index(axes)) != len(axes):
        dup = next(a.name for i, a in enumerate(axes) if any(b.name == a.name for b in axes[:i]))
        raise ValueError(
            f"{fn}: argument {arg!r} names axis {dup} more than once: ({', '.join(str(b) for b in axes)}); "
            "axis names in an array must be unique"
        )
    return axes


def axis_spec_to_shape_dict(spec: AxisSelection) -> dict[str, int | None]:
    """Normalise a selection to ``{name: size or None}`` (None: a bare name, any size).

    Examples:
        >>> import haliax as hax
        >>> hax.axis_spec_to_shape_dict((hax.Axis("X", 2), "Y"))
        {'X': 2, 'Y': None}
    """
    if isinstance(spec, Axis):
        return {spec.name: spec.size}
    if isinstance(spec, str):
        return {spec: None}
    if isinstance(spec, Mapping):
        return dict(spec)
    out: dict[str, int | None] = {}
    for a in spec:
        if isinstance(a, Axis):
            out[a.name] = a.size
        else:
            out[a] = None
    return out


def to_jax_shape(spec: AxisSpec) -> tuple[int, ...]:
    """The positional shape of an AxisSpec.

    Examples:
        >>> import haliax as hax
        >>> hax.to_jax_shape(hax.make_axes(X=2, Y=3))
        (2, 3)
    """
    if isinstance(spec, Axis):
        return (spec.size,)
    if isinstance(spec, Mapping):
        return tuple(spec.values())
    return tuple(a.size for a in axis_spec_to_tuple(spec))


# --------------------------------------------------------------------------------------------------
# resolution: names to positions (the one home of this mechanism)


def _name_of(a: Any) -> str:
    return a if isinstance(a, str) else a.name


def to_selectors(sel: AxisSelection, fn: str = "", arg: str = "axis") -> tuple[AxisSelector, ...]:
    """Normalise a selection (one selector, a sequence of them, or a partial shape dict) to a tuple of selectors.

    Dict entries with a size become ``Axis`` objects; entries whose size is None stay names. A value that is
    not a selection raises ``TypeError`` naming ``fn`` and ``arg``.

    Examples:
        >>> import haliax as hax
        >>> hax.axis.to_selectors("X"), hax.axis.to_selectors({"X": 2, "Y": None})
        (('X',), (Axis(name='X', size=2), 'Y'))
    """
    if isinstance(sel, (Axis, str)):
        return (sel,)
    if isinstance(sel, Mapping):
        try:
            return tuple(Axis(n, s) if s is not None else n for n, s in sel.items())
        except (TypeError, ValueError) as e:
            raise type(e)(f"{fn}: argument '{arg}': {e}" if fn else str(e)) from None
    try:
        return tuple(sel)
    except TypeError:
        raise TypeError(f"{_where(fn, arg)}expected axis names or Axis objects, got {sel!r}") from None


def axes_str(axes: Sequence[Any]) -> str:
    """Axes as messages show them: ``(X(2), Y(3))``.

    Examples:
        >>> import haliax as hax
        >>> hax.axis.axes_str(hax.make_axes(X=2, Y=3))
        '(X(2), Y(3))'
    """
    return "(" + ", ".join(str(a) for a in axes) + ")"


def _where(fn: str, arg: str | None) -> str:
    loc = f"{fn}: " if fn else ""
    return loc + (f"argument {arg!r}: " if arg else "")


class AxisIndexError(IndexError, ValueError):
    """A concrete integer index outside an axis.

    It is an ``IndexError`` (what Python and Haliax raise for an index out of range) and a ``ValueError``
    (a bad argument), so either ``except`` clause catches it. The message names the function, the axis, its
    size and the index; negative indices count from the end, as in Python. It covers Python and NumPy integers
    (and lists of them); array indices, traced or not, follow JAX (clamped reads, dropped writes), since
    checking them would need their values on the host.

    Examples:
        >>> import haliax as hax
        >>> x = hax.zeros(hax.Axis("X", 4))
        >>> try:
        ...     x["X", 7]
        ... except hax.axis.AxisIndexError as e:
        ...     print(e)
        NamedArray indexing: index 7 is out of bounds for axis X with size 4 (valid: -4 to 3)
    """


class AxisSizeMismatchError(ValueError, RuntimeError):
    """An Axis selector whose name matches an array axis but whose size differs.

    It is a ``ValueError`` (a bad argument) and, for code written against Haliax, which raises
    ``RuntimeError`` here, also a ``RuntimeError``.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> try:
        ...     hax.axis.locate_axis((X,), X.resize(3), "sum", "axis")
        ... except hax.axis.AxisSizeMismatchError as e:
        ...     print(e)
        sum: argument 'axis': Found axis with same name but different size: asked for X(3), the array has X(2) (axes X(2))
    """


def axis_size_mismatch_error(
    given: Axis | str, actual: Axis | int, present: Sequence[Any] = (), fn: str = "", arg: str | None = None
) -> AxisSizeMismatchError:
    """Build the error for an axis given with one size where another is found.

    Every size mismatch in the package reads the same way: the function, the argument, the axis asked for,
    the axis found and (when given) the axes that exist.

    Args:
        given: the Axis asked for (or its name).
        actual: the Axis found (or its size).
        present: the axes that exist, shown in the message.
        fn: the function name, e.g. ``"sum"``.
        arg: the argument name, e.g. ``"axis"``.

    Examples:
        >>> import haliax as hax
        >>> str(hax.axis.axis_size_mismatch_error(hax.Axis("X", 3), hax.Axis("X", 2), fn="dot", arg="axis"))
        "dot: argument 'axis': Found axis with same name but different size: asked for X(3), the array has X(2)"
    """
    name = _name_of(given)
    shown_given = given if isinstance(given, Axis) else name
    shown_actual = actual if isinstance(actual, Axis) else Axis(name, actual)
    msg = (
        f"{_where(fn, arg)}Found axis with same name but different size: asked for {shown_given}, "
        f"the array has {shown_actual}"
    )
    if present:
        msg += f" (axes {', '.join(str(a) for a in present)})"
    return AxisSizeMismatchError(msg)


def conflicting_sizes_error(
    name: str, sizes_by_source: Mapping[str, int], fn: str = "", arg: str | None = None
) -> ValueError:
    """Build the ``ValueError`` for an axis whose size differs between two (or more) operands.

    This is for inputs that disagree with each other (two arrays being broadcast, a binding and an array, two
    specs being merged); an Axis *selector* of the wrong size is `axis_size_mismatch_error` instead. Every such
    message in the package reads the same way: the function, the argument (when one is to blame), the axis and
    each size with where it comes from, in the given order.

    Args:
        name: the axis name.
        sizes_by_source: ``{source description: size}``, e.g. ``{"first operand": 2, "second operand": 5}``.
        fn: the function name, e.g. ``"broadcast_arrays"``.
        arg: the argument name, if one argument is to blame.

    Examples:
        >>> from haliax.axis import conflicting_sizes_error
        >>> str(conflicting_sizes_error("X", {"first operand": 2, "second operand": 5}, "broadcast_arrays"))
        'broadcast_arrays: axis X has conflicting sizes: 2 (first operand), 5 (second operand)'
    """
    shown = ", ".join(f"{size} ({source})" for source, size in sizes_by_source.items())
    return ValueError(f"{_where(fn, arg)}axis {name} has conflicting sizes: {shown}")


def lookup_axis(axes: tuple[Axis, ...], sel: AxisSelector, fn: str = "", arg: str | None = "axis") -> int | None:
    """Position of one selector in ``axes``, or None when the name is absent.

    An Axis whose name is present with another size raises `AxisSizeMismatchError`; a selector that is
    neither a name nor an Axis raises ``TypeError``.

    Args:
        axes: the axes to search (a NamedArray's ``.axes``).
        sel: an axis name or an Axis.
        fn: the name of the calling function, used in error messages.
        arg: the name of the argument holding the selector, used in error messages (None: not named).

    Examples:
        >>> import haliax as hax
        >>> axes = hax.make_axes(X=2, Y=3)
        >>> hax.axis.lookup_axis(axes, "Y"), hax.axis.lookup_axis(axes, "Q")
        (1, None)
    """
    if isinstance(sel, str):
        return name_index(axes).get(sel)
    if isinstance(sel, Axis):
        i = name_index(axes).get(sel.name)
        if i is not None and axes[i].size != sel.size:
            raise axis_size_mismatch_error(sel, axes[i], axes, fn, arg)
        return i
    raise TypeError(f"{_where(fn, arg)}expected an axis name or Axis, got {sel!r} of type {type(sel).__name__}")


def locate_axis(
    axes: tuple[Axis, ...], sel: AxisSelector, fn: str = "", arg: str | None = "axis", *, capitalize: bool = False
) -> int:
    """Position of one selector in ``axes``; a missing name raises the `axis_not_found_error` ``ValueError``.

    ``capitalize`` spells the message ``Axis Q not found`` (the wording of the NamedArray methods).

    Args:
        axes: the axes to search (a NamedArray's ``.axes``).
        sel: an axis name or an Axis.
        fn: the name of the calling function, used in error messages.
        arg: the name of the argument holding the selector, used in error messages (None: not named).
        capitalize: spell the message ``Axis Q not found`` instead of ``axis Q not found``.

    Examples:
        >>> import haliax as hax
        >>> hax.axis.locate_axis(hax.make_axes(X=2, Y=3), hax.Axis("Y", 3), "sum")
        1
    """
    i = lookup_axis(axes, sel, fn, arg)
    if i is None:
        raise axis_not_found_error(_name_of(sel), axes, fn, arg, capitalize=capitalize)
    return i


@functools.lru_cache(maxsize=8192)
def _locate_cached(axes: tuple[Axis, ...], sels: tuple[AxisSelector, ...], fn: str, arg: str | None) -> tuple[int, ...]:
    out: list[int] = []
    for s in sels:
        i = locate_axis(axes, s, fn, arg)
        if i in out:
            raise ValueError(f"{_where(fn, arg)}axis {_name_of(s)} is given more than once")
        out.append(i)
    return tuple(out)


def locate_axes(axes: tuple[Axis, ...], sel: AxisSelection, fn: str = "", arg: str | None = "axis") -> tuple[int, ...]:
    """Positions of every selected axis, in selection order (cached by the axes and the selection).

    A missing axis, a wrong-size Axis or an axis given twice raises ``ValueError`` naming ``fn`` and ``arg``.

    Args:
        axes: the axes to search (a NamedArray's ``.axes``).
        sel: one selector or several (a name, an Axis, a sequence of them, or a shape dict).
        fn: the name of the calling function, used in error messages.
        arg: the name of the argument holding the selector, used in error messages (None: not named).

    Examples:
        >>> import haliax as hax
        >>> hax.axis.locate_axes(hax.make_axes(X=2, Y=3, Z=4), ("Z", "X"), "sum")
        (2, 0)
    """
    sels = to_selectors(sel, fn, arg or "axis")
    try:
        return _locate_cached(axes, sels, fn, arg)
    except TypeError as e:  # an unhashable selector: resolve uncached for the proper message
        if "unhashable" not in str(e):
            raise
        return _locate_cached.__wrapped__(axes, sels, fn, arg)


# --------------------------------------------------------------------------------------------------
# lookup and partial orders


@functools.lru_cache(maxsize=8192)
def name_index(axes: tuple[AxisSelector, ...]) -> dict[str, int]:
    """``{name: position}`` for an axes tuple (cached by the tuple; do not mutate the result).

    Entries may also be bare names (a tuple of selectors, as `to_selectors` returns).

    Examples:
        >>> import haliax as hax
        >>> hax.axis.name_index(hax.make_axes(X=2, Y=3)), hax.axis.name_index(("X", hax.Axis("Y", 3)))
        ({'X': 0, 'Y': 1}, {'X': 0, 'Y': 1})
    """
    return {a if isinstance(a, str) else a.name: i for i, a in enumerate(axes)}


# --------------------------------------------------------------------------------------------------
# partial orders


@overload
def rearrange_for_partial_order(partial_order: Sequence[Any], axes: tuple[Axis, ...]) -> tuple[Axis, ...]: ...


@overload
def rearrange_for_partial_order(
    partial_order: Sequence[Any], axes: Sequence[AxisSelector] | Mapping[str, int]
) -> tuple[AxisSelector, ...]: ...


def rearrange_for_partial_order(
    partial_order: Sequence[Any], axes: Sequence[AxisSelector] | Mapping[str, int]
) -> tuple[AxisSelector, ...]:
    """Order ``axes`` to follow ``partial_order``, a sequence of selectors and ``...``.

    ``axes`` (the candidates) may hold names, Axis objects or a mix of both, or be a shape dict (read as a
    tuple of Axis). Each result element has the kind of its candidate: a name comes back as the name, an Axis
    as the Axis. Entries of ``partial_order`` are matched to candidates by name; an Axis entry whose size
    differs from an Axis candidate's raises, but a name candidate carries no size and is never checked.

    Without ``...`` the order must name every axis. With one or more ``...``, named axes keep the given
    relative order and each unmentioned axis goes, in input order, into an ellipsis slot chosen by a
    pointer: it starts at the first ``...``; when the walk meets a named axis at slot ``p`` it moves to the
    first still-empty ``...`` slot at or after ``max(p + 1, pointer)`` (staying put if there is none).

    Raises ``ValueError`` for a name repeated in the order, a name that is not a candidate, an order without
    ``...`` that is not a permutation of the candidates, and candidates whose names are not unique. Haliax
    raises on duplicate candidate names only when the order mentions the repeated name, and otherwise passes
    the duplicates through or drops them; we always raise.

    Examples:
        >>> import haliax as hax
        >>> a, b, c = hax.make_axes(a=1, b=2, c=3)
        >>> [x.name for x in hax.axis.rearrange_for_partial_order(("c", ...), (a, b, c))]
        ['c', 'a', 'b']
        >>> hax.axis.rearrange_for_partial_order(("x", ..., "y"), ("y", "x", "z"))
        ('x', 'z', 'y')
        >>> hax.axis.rearrange_for_partial_order(("W", ...), ("H", hax.Axis("W", 3)))
        (Axis(name='W', size=3), 'H')
    """
    fn = "rearrange_for_partial_order"
    if isinstance(axes, Mapping):
        cands: tuple[AxisSelector, ...] = tuple(Axis(n, s) if s is not None else n for n, s in axes.items())
    elif isinstance(axes, (str, Axis)):
        raise TypeError(f"{fn}: argument 'axes': expected a sequence of axis names or Axis objects, got {axes!r}")
    else:
        cands = tuple(axes)
    for c in cands:
        if not isinstance(c, (str, Axis)):
            raise TypeError(f"{fn}: argument 'axes': expected axis names or Axis objects, got {c!r}")
    order = tuple(partial_order)
    for item in order:
        if item is not Ellipsis and not isinstance(item, (str, Axis)):
            raise TypeError(f"{fn}: argument 'partial_order': expected axis names, Axis objects or ..., got {item!r}")
    return _rearrange_cached(order, cands)


@functools.lru_cache(maxsize=4096)
def _rearrange_cached(partial_order: tuple[Any, ...], axes: tuple[AxisSelector, ...]) -> tuple[AxisSelector, ...]:
    fn = "rearrange_for_partial_order"
    cand_names = [_name_of(a) for a in axes]
    idx = {n: i for i, n in enumerate(cand_names)}
    if len(idx) != len(cand_names):
        dups = sorted({n for n in cand_names if cand_names.count(n) > 1})
        raise ValueError(
            f"{fn}: argument 'axes': axis names must be unique, but {', '.join(dups)} appear more than once"
        )
    names_seen: set[str] = set()
    slot_of_name: dict[str, int] = {}
    for p, item in enumerate(partial_order):
        if item is Ellipsis:
            continue
        n = _name_of(item)
        if n in names_seen:
            raise ValueError(f"Axis {n} appears more than once in the partial order {partial_order}")
        names_seen.add(n)
        slot_of_name[n] = p
    missing = [n for n in slot_of_name if n not in idx]
    if missing:
        hint = closest_name(str(missing[0]), [_name_of(a) for a in axes])
        raise ValueError(
            f"The following axes are not present in output: {missing}. Axes present: {tuple(str(a) for a in axes)}"
            + (f". Did you mean {hint!r}?" if hint is not None and hint != missing[0] else "")
        )
    for item in partial_order:
        if isinstance(item, Axis):
            cand = axes[idx[item.name]]
            if isinstance(cand, Axis) and cand.size != item.size:
                raise axis_size_mismatch_error(item, cand, axes, fn, "partial_order")
    ellipsis_slots = [p for p, item in enumerate(partial_order) if item is Ellipsis]
    if not ellipsis_slots:
        if len(slot_of_name) != len(axes):
            raise ValueError(
                "Partial order must be a permutation of the axes if no ellipsis is provided. "
                f"Got {tuple(_name_of(x) for x in partial_order)} for axes {tuple(cand_names)}"
            )
        return tuple(axes[idx[_name_of(x)]] for x in partial_order)
    filled: dict[int, list[AxisSelector]] = {p: [] for p in ellipsis_slots}
    pointer = ellipsis_slots[0]
    for ax in axes:
        p = slot_of_name.get(_name_of(ax))
        if p is None:
            filled[pointer].append(ax)
        else:
            lo = max(p + 1, pointer)
            for q in ellipsis_slots:
                if q >= lo and not filled[q]:
                    pointer = q
                    break
    out: list[AxisSelector] = []
    for p, item in enumerate(partial_order):
        if item is Ellipsis:
            out.extend(filled[p])
        else:
            out.append(axes[idx[_name_of(item)]])
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# combining


def concat_axes(a1: AxisSelection, a2: AxisSelection) -> Any:
    """Concatenate two axis specs; any shared name raises ``ValueError``.

    Two single Axis give a pair; if either side is a dict the result is a shape dict; otherwise a tuple.
    ``concat_axis_specs`` is the older name of the same function.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.concat_axes(X, Y)
        (Axis(name='X', size=2), Axis(name='Y', size=3))
        >>> hax.concat_axes((X,), {"Z": 4})
        {'X': 2, 'Z': 4}
    """
    if isinstance(a1, Axis) and isinstance(a2, Axis):
        if a1.name == a2.name:
            raise ValueError(f"Axis {a1.name} specified twice")
        return (a1, a2)
    if isinstance(a1, Mapping) or isinstance(a2, Mapping):
        d1 = axis_spec_to_shape_dict(a1)
        d2 = axis_spec_to_shape_dict(a2)
        overlap = [k for k in d1 if k in d2]
        if overlap:
            raise ValueError(f"AxisSpecs overlap! {overlap} appear in both {a1} and {a2}")
        return {**d1, **d2}
    t1 = to_selectors(a1)
    t2 = to_selectors(a2)
    n1 = {_name_of(a) for a in t1}
    overlap = [_name_of(a) for a in t2 if _name_of(a) in n1]
    if overlap:
        raise ValueError(f"AxisSpecs overlap! {overlap} appear in both {t1} and {t2}")
    return t1 + t2


concat_axis_specs = concat_axes


def union_axes(a1: AxisSelection, a2: AxisSelection) -> Any:
    """Union of two specs: shared axes are kept once, in order of first occurrence.

    The same name with different sizes raises ``ValueError``.

    Examples:
        >>> import haliax as hax
        >>> X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)
        >>> hax.union_axes((X, Y), (Y, Z))
        (Axis(name='X', size=2), Axis(name='Y', size=3), Axis(name='Z', size=4))
    """
    if isinstance(a1, Mapping) or isinstance(a2, Mapping):
        d1 = axis_spec_to_shape_dict(a1)
        d2 = axis_spec_to_shape_dict(a2)
        out = dict(d1)
        for k, v in d2.items():
            prev = out.get(k)
            if prev is not None and v is not None and prev != v:
                raise conflicting_sizes_error(k, {"a1": prev, "a2": v}, "union_axes")
            if prev is None:
                out[k] = v
        return out
    t1 = to_selectors(a1, "union_axes", "a1")
    t2 = to_selectors(a2, "union_axes", "a2")
    out_list = list(t1)
    idx = dict(name_index(t1))  # grows as axes of a2 are appended
    for a in t2:
        n = _name_of(a)
        if n in idx:
            b = out_list[idx[n]]
            if isinstance(a, Axis) and isinstance(b, Axis) and a.size != b.size:
                raise conflicting_sizes_error(n, {"a1": b.size, "a2": a.size}, "union_axes")
            if isinstance(a, Axis) and not isinstance(b, Axis):
                out_list[idx[n]] = a
        else:
            idx[n] = len(out_list)
            out_list.append(a)
    return tuple(out_list)


def _remove(spec: AxisSelection, to_remove: AxisSelection, strict: bool, allow_mismatch: bool, fn: str) -> Any:
    is_dict = isinstance(spec, Mapping)
    # (name, entry) pairs: the size (or None) of a shape dict entry, else the Axis or name itself
    items: list[tuple[str, Any]] = (
        list(spec.items()) if isinstance(spec, Mapping) else [(_name_of(a), a) for a in to_selectors(spec, fn, "spec")]
    )
    pos = name_index(tuple(m for m, _ in items))
    removed: set[int] = set()

    def kept() -> Any:
        rest = [x for j, x in enumerate(items) if j not in removed]
        return dict(rest) if is_dict else tuple(a for _, a in rest)

    for r in to_selectors(to_remove, fn, "to_remove"):
        n = _name_of(r)
        i = pos.get(n)
        if i is None or i in removed:
            if strict:
                hint = closest_name(n, [m for j, (m, _) in enumerate(items) if j not in removed])
                raise ValueError(
                    f"{fn}: argument 'to_remove': Axis {n} not present in axis spec {kept()}"
                    + (f". Did you mean {hint!r}?" if hint is not None and hint != n else "")
                )
            continue
        size = items[i][1] if is_dict else getattr(items[i][1], "size", None)
        if isinstance(r, Axis) and size is not None and size != r.size and not allow_mismatch:
            present = tuple((Axis(m, v) if v is not None else m) if is_dict else v for m, v in items)
            raise axis_size_mismatch_error(r, size, present, fn, "to_remove")
        removed.add(i)
    return kept()


def eliminate_axes(spec: AxisSelection, to_remove: AxisSelection) -> Any:
    """Remove axes from a spec. A missing axis or a size mismatch raises ``ValueError`` (a missing one that is
    a typo of an axis of the spec adds "Did you mean ...", which Haliax does not).

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.eliminate_axes((X, Y), "X")
        (Axis(name='Y', size=3),)
    """
    return _remove(spec, to_remove, strict=True, allow_mismatch=False, fn="eliminate_axes")


def without_axes(spec: AxisSelection, to_remove: AxisSelection, allow_mismatched_sizes: bool = False) -> Any:
    """Remove axes from a spec, ignoring ones that are missing (a size mismatch still raises unless allowed).

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.without_axes((X, Y), ("Y", "Q"))
        (Axis(name='X', size=2),)
    """
    return _remove(spec, to_remove, strict=False, allow_mismatch=allow_mismatched_sizes, fn="without_axes")


def unsize_axes(spec: AxisSelection, to_unsize: AxisSelection | None = None) -> Any:
    """Replace Axis objects by their names (all of them, or the selected ones).

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.unsize_axes((X, Y)), hax.unsize_axes((X, Y), "Y")
        (('X', 'Y'), (Axis(name='X', size=2), 'Y'))
    """
    if to_unsize is None:
        if isinstance(spec, Mapping):
            return {k: None for k in spec}
        return tuple(_name_of(a) for a in to_selectors(spec))
    sel = [_name_of(a) for a in to_selectors(to_unsize, "unsize_axes", "to_unsize")]
    items = to_selectors(spec, "unsize_axes", "spec")
    present = name_index(items)
    for n in sel:
        if n not in present:
            raise axis_not_found_error(n, items, "unsize_axes", "to_unsize")
    sel_set = set(sel)
    if isinstance(spec, Mapping):
        return {k: (None if k in sel_set else v) for k, v in spec.items()}
    return tuple(_name_of(a) if _name_of(a) in sel_set else a for a in items)


def replace_axis(spec: AxisSelection, old: AxisSelector, new: AxisSelection) -> Any:
    """Swap one axis for one or more axes, in place.

    Examples:
        >>> import haliax as hax
        >>> X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)
        >>> hax.replace_axis((X, Y), "X", Z)
        (Axis(name='Z', size=4), Axis(name='Y', size=3))
    """
    items = list(to_selectors(spec, "replace_axis", "spec"))
    on = _name_of(old)
    i = name_index(tuple(items)).get(on)
    if i is None:
        raise axis_not_found_error(on, items, "replace_axis", "old")
    new_items = list(to_selectors(new, "replace_axis", "new"))
    names = [_name_of(a) for a in items]
    rest = set(names[:i] + names[i + 1 :])
    seen: set[str] = set()
    for a in new_items:
        n = _name_of(a)
        if n in rest or n in seen:
            raise ValueError(f"replace_axis: axis {n} would appear twice in {tuple(items)} with {on} -> {new}")
        seen.add(n)
    out = items[:i] + new_items + items[i + 1 :]
    if isinstance(spec, Mapping):
        return axis_spec_to_shape_dict(out)
    return tuple(out)


def intersect_axes(a1: AxisSelection, a2: AxisSelection) -> Any:
    """The axes of ``a1`` that are also in ``a2`` (in ``a1``'s order), size-checked.

    Examples:
        >>> import haliax as hax
        >>> X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)
        >>> hax.intersect_axes((X, Y, Z), (Z, X))
        (Axis(name='X', size=2), Axis(name='Z', size=4))
    """
    t1 = to_selectors(a1, "intersect_axes", "a1")
    t2 = to_selectors(a2, "intersect_axes", "a2")
    idx2 = name_index(t2)
    out = []
    for a in t1:
        n = _name_of(a)
        if n in idx2:
            b = t2[idx2[n]]
            if isinstance(a, Axis) and isinstance(b, Axis) and a.size != b.size:
                raise conflicting_sizes_error(n, {"a1": a.size, "a2": b.size}, "intersect_axes")
            out.append(a if isinstance(a, Axis) else b)
    return tuple(out)


def selects_axis(selector: AxisSelection, selected: AxisSelection) -> bool:
    """True if every axis of ``selected`` is in ``selector`` with a matching size (None matches any).

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.selects_axis((X, Y), "Y"), hax.selects_axis((X,), Y), hax.selects_axis((X, Y), X.resize(5))
        (True, False, False)
    """
    d = axis_spec_to_shape_dict(selector)
    for n, s in axis_spec_to_shape_dict(selected).items():
        if n not in d:
            return False
        if s is not None and d[n] is not None and d[n] != s:
            return False
    return True


def is_axis_compatible(a: AxisSelector, b: AxisSelector) -> bool:
    """True if the names are equal (sizes are ignored).

    Examples:
        >>> import haliax as hax
        >>> hax.is_axis_compatible(hax.Axis("X", 2), "X")
        True
    """
    return _name_of(a) == _name_of(b)


def resolve_axis(spec: AxisSpec, selection: AxisSelection) -> Any:
    """The full Axis (or tuple of Axis, or shape dict) in ``spec`` for the selected names.

    A missing name or a size mismatch raises ``ValueError``.

    Examples:
        >>> import haliax as hax
        >>> X, Y = hax.make_axes(X=2, Y=3)
        >>> hax.resolve_axis((X, Y), "Y"), hax.resolve_axis((X, Y), {"X": None})
        (Axis(name='Y', size=3), {'X': 2})
    """
    axes = axis_spec_to_tuple(spec)

    def one(s: AxisSelector) -> Axis:
        return axes[locate_axis(axes, s, "resolve_axis", "selection", capitalize=True)]

    if isinstance(selection, (Axis, str)):
        return one(selection)
    if isinstance(selection, Mapping):
        return {a.name: a.size for a in map(one, to_selectors(selection))}
    return tuple(one(s) for s in selection)
