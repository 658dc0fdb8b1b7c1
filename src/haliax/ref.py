"""Mutable named references: a `NamedRef` is a `jax.Ref` whose axes have names.

A `jax.Ref` (made by `jax.new_ref`) is JAX's mutable array: it can be read and written in place, and it works
inside `jax.jit`, `jax.grad` and `jax.lax.scan` (and so inside `haliax.scan`). `new_ref` wraps a NamedArray in
one, keeping its axes, and the result is indexed by name exactly like a NamedArray:

* ``ref[{"X": 1}]`` or ``ref["X", 1]`` reads a region as a NamedArray (``ref[...]`` reads everything);
* ``ref["X", 1] = value`` writes it in place, ``ref["X", 1] += value`` reads and writes;
* `get` and `swap` are the function forms (`swap` returns what was there); `freeze` reads the whole ref.

``ref.slice({"X": slice(1, 3)})`` makes a *slice ref*: a view of part of the same buffer. Indices into a view
are relative to the view; reads and writes through it land in the base buffer. The view keeps its selection in
``_prefix``, one entry per axis of the base buffer, always in base coordinates: ``slice(None)`` for an
untouched axis, an int (or a 0-d integer array) for a fixed axis, a ``jax.ds``/Pallas ``Slice(start, size,
stride)`` for a range, and a list, an integer array or an integer NamedArray for a gathered selection.

Differences from Haliax (which raises or misbehaves in these cases): a scalar, or a NamedArray with only some
of the target's axes, is broadcast on write; list indices work as in NumPy; views whose prefix holds a 0-d
integer array or a gathered selection report their axes and can be indexed further; a static ``dslice`` that
would leave a view raises, naming the axis; an Axis key of the wrong size raises `AxisSizeMismatchError`;
``ref.slice`` also accepts the shorthand ``ref.slice(("X", 1))``; and prefix entries that hold arrays are
pytree leaves (so such views can be passed to `jax.jit`).

Examples:
    >>> import haliax as hax
    >>> from haliax.ref import new_ref, freeze
    >>> X, Y = hax.make_axes(X=3, Y=2)
    >>> r = new_ref(hax.zeros((X, Y)))
    >>> r["X", 1] = 5.0
    >>> row = r.slice({"X": slice(1, 3)})
    >>> row["X", 1] = hax.named([1.0, 2.0], "Y")
    >>> freeze(r).tolist()
    [[0.0, 0.0], [5.0, 5.0], [1.0, 2.0]]
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .axis import Axis, AxisIndexError, AxisSelector, closest_name, lookup_axis
from .core import NamedArray
from .ops.broadcast import broadcast_to
from .ops.dslice import dslice
from .util import is_static_int

__all__ = ["NamedRef", "new_ref", "freeze", "get", "swap"]

# The class of ``jax.ds(...)`` / ``jax.experimental.pallas.dslice(...)``: a ``Slice(start, size, stride)``.
_Slice: Any = type(jax.ds(0, 1))

_READ = "NamedRef indexing"
_WRITE = "NamedRef assignment"


# --------------------------------------------------------------------------------------------------
# small predicates


def _is_arraylike(v: Any) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, NamedArray)


def _is_int_dtype(dtype: Any) -> bool:
    return jnp.issubdtype(dtype, jnp.integer)


def _names(axes: tuple[Axis, ...]) -> tuple[str, ...]:
    return tuple(a.name for a in axes)


def _shown(axes: tuple[Axis, ...]) -> str:
    return "(" + ", ".join(str(a) for a in axes) + ")"


def _span(size: int, stride: int) -> int:
    """How many positions ``size`` elements with ``stride`` cover (0 when empty)."""
    return (size - 1) * stride + 1 if size > 0 else 0


# --------------------------------------------------------------------------------------------------
# classifying one index value against one view axis (view coordinates)
#
# Tags:
#   ("int", j)                     a static int, in range, wrapped
#   ("dint", j)                    a 0-d integer array (traced or not) or 0-d integer NamedArray (raw array)
#   ("slice", j0, size, step, sl)  a Python slice or a range (static, step >= 1); ``sl`` is the Python slice
#   ("ds", start, size, stride)    a dslice / Pallas Slice; a static start is in range, a traced one is clamped
#   ("dsn", start, size)           a hax.dslice whose start is a NamedArray (one window per element)
#   ("list", (j, ...))             a list of static ints, in range, wrapped
#   ("arr", a)                     a plain integer array with at least one dimension
#   ("named", a)                   an integer NamedArray with at least one axis


def _oob_slice(start: Any, size: int, stride: int, ax: Axis, fn: str) -> ValueError:
    return ValueError(
        f"{fn}: Out of bound slice: start={start}, size={size}, stride={stride}, for axis {ax.name} of size "
        f"{ax.size} in this view"
    )


def _check_int(v: Any, ax: Axis, fn: str) -> int:
    j = int(v)
    if not -ax.size <= j < ax.size:
        raise AxisIndexError(f"{fn}: Index {j} out of bounds for axis {ax.name} (size {ax.size} in this view)")
    return j % ax.size


def _classify(v: Any, ax: Axis, fn: str) -> tuple[Any, ...]:
    n = ax.size
    if v is Ellipsis:
        raise TypeError(f"{fn}: Ellipsis is not a valid index for axis {ax.name}; use ref[...] for the whole view")
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{fn}: boolean indices are not supported (axis {ax.name})")
    if is_static_int(v):
        return ("int", _check_int(v, ax, fn))
    if isinstance(v, (slice, range)):
        step = 1 if v.step is None else v.step
        for part in (v.start, v.stop, step):
            if part is not None and not is_static_int(part):
                raise TypeError(
                    f"{fn}: slice bounds for axis {ax.name} must be static ints, got {v!r}; "
                    "use hax.dslice(start, size) for a traced start"
                )
        if step < 0:
            raise ValueError(f"{fn}: `stride` must be >= 0. Got step {step} for axis {ax.name}")
        if step == 0:
            raise ValueError(f"{fn}: slice step cannot be zero (axis {ax.name})")
        if isinstance(v, range):
            size = len(v)
            if size and (v.start < 0 or v[-1] >= n):
                raise _oob_slice(v.start, size, step, ax, fn)
            j0 = v.start if size else 0
            return ("slice", j0, size, step, slice(j0, j0 + _span(size, step), step))
        j0, stop, step = v.indices(n)
        size = len(range(j0, stop, step))
        return ("slice", j0, size, step, v)
    if isinstance(v, (dslice, _Slice)):
        size = int(v.size)
        stride = int(getattr(v, "stride", 1))
        if stride < 0:
            raise ValueError(f"{fn}: `stride` must be >= 0. Got stride {stride} for axis {ax.name}")
        span = _span(size, stride)
        start = v.start
        if is_static_int(start):
            start = int(start)
            if start < 0 or start + span > n:
                raise _oob_slice(start, size, stride, ax, fn)
            return ("ds", start, size, stride)
        if span > n:
            raise _oob_slice(start, size, stride, ax, fn)
        if isinstance(start, NamedArray) and start.axes:
            if not _is_int_dtype(start.dtype):
                raise ValueError(f"{fn}: the dslice start for axis {ax.name} must be an integer, got {start.dtype}")
            if stride != 1:
                raise NotImplementedError(f"{fn}: a NamedArray dslice start needs stride 1 (axis {ax.name})")
            return ("dsn", NamedArray(jnp.clip(start.array, 0, n - span), start.axes), size)
        raw: Any = start.array if isinstance(start, NamedArray) else start
        if not (_is_arraylike(raw) and len(raw.shape) == 0 and _is_int_dtype(raw.dtype)):
            raise TypeError(f"{fn}: a dslice start for axis {ax.name} must be an integer scalar, got {start!r}")
        return ("ds", jnp.clip(raw, 0, n - span), size, stride)  # like lax.dynamic_slice
    if isinstance(v, list):
        for e in v:
            if not is_static_int(e):
                raise TypeError(f"{fn}: a list index (axis {ax.name}) must contain only ints, got {v!r}")
        return ("list", tuple(_check_int(e, ax, fn) for e in v))
    if isinstance(v, NamedArray):
        if not _is_int_dtype(v.dtype):
            raise TypeError(f"{fn}: an index array must hold integers, got dtype {v.dtype} (axis {ax.name})")
        return ("dint", v.array) if not v.axes else ("named", v)
    if _is_arraylike(v):
        if not _is_int_dtype(v.dtype):
            raise TypeError(f"{fn}: an index array must hold integers, got dtype {v.dtype} (axis {ax.name})")
        return ("dint", v) if len(v.shape) == 0 else ("arr", v)
    raise TypeError(f"{fn}: invalid index {v!r} of type {type(v).__name__} for axis {ax.name}")


def _as_array_index(start: Any, size: int, stride: int, name: str) -> NamedArray:
    """A strided window as an integer NamedArray named like the axis it replaces."""
    return NamedArray(start + stride * jnp.arange(size, dtype=jnp.int32), (Axis(name, size),))


def _to_named_index(tag: tuple[Any, ...], ax: Axis) -> Any:
    """The NamedArray indexing value for a classified view index."""
    kind = tag[0]
    if kind in ("int", "dint", "named", "arr"):
        return tag[1]
    if kind == "slice":
        return tag[4]
    if kind == "list":
        return list(tag[1])
    if kind == "dsn":
        return dslice(tag[1], tag[2])
    _, start, size, stride = tag
    if stride == 1:
        return dslice(start, size)
    return _as_array_index(start, size, stride, ax.name)


# --------------------------------------------------------------------------------------------------
# prefix entries (base coordinates)


def _entry_kind(p: Any) -> str:
    if isinstance(p, slice):
        return "full"
    if is_static_int(p):
        return "int"
    if isinstance(p, _Slice):
        return "slice"
    if isinstance(p, list):
        return "list"
    if isinstance(p, NamedArray):
        return "named" if p.axes else "dint"
    if _is_arraylike(p):
        return "dint" if len(p.shape) == 0 else "arr"
    raise TypeError(f"NamedRef: invalid prefix entry {p!r} of type {type(p).__name__}")


def _normalize_entry(p: Any, ax: Axis) -> Any:
    """Canonical form of a user-given prefix entry: Python slices other than ``slice(None)`` become a Slice,
    NumPy ints become ints and 0-d NamedArrays their raw array."""
    if isinstance(p, slice):
        if p == slice(None):
            return p
        start, stop, step = p.indices(ax.size)
        if step <= 0:
            raise ValueError(f"NamedRef: `stride` must be >= 0. Got prefix {p!r} for axis {ax.name}")
        return jax.ds(start, len(range(start, stop, step)), step)
    if is_static_int(p):
        return int(p)
    if isinstance(p, NamedArray) and not p.axes:
        return p.array
    _entry_kind(p)
    return p


def _prefix_step(p: Any, ax: Axis) -> Any:
    """The NamedArray index that applies one prefix entry to its base axis (alone, so it stays in place)."""
    kind = _entry_kind(p)
    if kind in ("int", "dint", "list", "named"):
        return p
    if kind == "arr":
        return NamedArray(p, (Axis(ax.name, int(p.shape[0])),))
    start, size, stride = p.start, int(p.size), int(p.stride)
    if is_static_int(start) and stride >= 1:
        start = int(start)
        return slice(start, start + _span(size, stride), stride)
    if stride == 1:
        return dslice(start, size)
    return _as_array_index(start, size, stride, ax.name)


def _flatten_entry(p: Any) -> tuple[tuple[Any, ...], list[Any]]:
    """A hashable description of a prefix entry and its array leaves."""
    kind = _entry_kind(p)
    if kind == "full":
        return ("full",), []
    if kind == "int":
        return ("int", p), []
    if kind == "list":
        return ("list", tuple(p)), []
    if kind == "slice":
        if is_static_int(p.start):
            return ("slice", int(p.start), int(p.size), int(p.stride)), []
        return ("dslice", int(p.size), int(p.stride)), [p.start]
    if kind == "named":
        return ("named", p.axes), [p.array]
    return (kind,), [p]  # "dint" / "arr"


def _unflatten_entry(spec: tuple[Any, ...], leaves: list[Any]) -> Any:
    kind = spec[0]
    if kind == "full":
        return slice(None)
    if kind == "int":
        return spec[1]
    if kind == "list":
        return list(spec[1])
    if kind == "slice":
        return jax.ds(spec[1], spec[2], spec[3])
    leaf = leaves.pop(0)
    if kind == "dslice":
        return jax.ds(leaf, spec[1], spec[2])
    if kind == "named":
        return NamedArray(leaf, spec[1])
    return leaf


# --------------------------------------------------------------------------------------------------
# NamedRef


def _view_of(axes: tuple[Axis, ...], prefix: tuple[Any, ...]) -> tuple[tuple[Axis, ...], dict[str, tuple[str, int]]]:
    """The view's axes and, per view axis name, where it comes from: ``("base", i)`` for base axis ``i`` or
    ``("index", i)`` for an axis of the NamedArray prefix entry of base axis ``i``."""
    out: list[Axis] = []
    origin: dict[str, tuple[str, int]] = {}
    for i, (ax, p) in enumerate(zip(axes, prefix)):
        kind = _entry_kind(p)
        if kind in ("int", "dint"):
            continue
        if kind == "named":
            for a in p.axes:
                out.append(a)
                origin[a.name] = ("index", i)
            continue
        if kind == "slice":
            out.append(ax.resize(int(p.size)))
        elif kind == "list":
            out.append(ax.resize(len(p)))
        elif kind == "arr":
            out.append(ax.resize(int(p.shape[0])))
        else:
            out.append(ax)
        origin[ax.name] = ("base", i)
    return tuple(out), origin


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class NamedRef:
    """A mutable named array: a `jax.Ref` with axes, or a view of part of one (a slice ref).

    Made by `new_ref`. Indexing follows NamedArray indexing, with indices relative to the view: ``ref[idx]``
    reads a NamedArray, ``ref[idx] = value`` writes in place (a scalar, or a NamedArray with some or all of
    the target's axes in any order, is broadcast; a plain array must have the target's exact shape), and
    ``ref[idx] += value`` reads and writes. Values must have the ref's dtype, except that weakly typed
    Python floats fit any float ref and integers any integer ref (as for `jax.Ref`).

    Index values: an int (or 0-d integer array, traced or not) drops the axis; a ``slice``, ``range`` or list
    keeps it, resized; ``hax.dslice(start, size)`` or ``jax.ds(start, size, stride)`` keeps it with ``size``
    elements (a traced start is clamped into the view like ``lax.dynamic_slice``, a static one must fit); an
    integer NamedArray replaces the axis by its own axes; a 1-D plain array is named as in NamedArray indexing.

    ``ref.slice(selector)`` returns a view sharing the same buffer; `value` / `freeze` read the whole view,
    `unsliced` returns the whole buffer again. A NamedRef is a pytree whose leaf is the `jax.Ref` (plus any
    arrays held by the view's selection); it is not a NamedArray: it has no arithmetic and compares by
    identity.

    Attributes:
        _ref: the underlying `jax.Ref` holding the whole base buffer.
        _axes: the axes of the base buffer.
        _prefix: the view's selection, one entry per base axis, in base coordinates.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.ref import new_ref
        >>> X, Y = hax.make_axes(X=4, Y=3)
        >>> r = new_ref(hax.arange((X, Y)).astype(jnp.float32))
        >>> r["X", 1].tolist()
        [3.0, 4.0, 5.0]
        >>> r[{"X": slice(1, 3)}].axes
        (Axis(name='X', size=2), Axis(name='Y', size=3))
        >>> r["X", 0] = 1.0
        >>> r["X", 0] += hax.named([1.0, 2.0, 3.0], "Y")
        >>> r["X", 0].tolist()
        [2.0, 3.0, 4.0]
        >>> view = r.slice({"X": slice(2, 4)})
        >>> view.axes, view._prefix[0]
        ((Axis(name='X', size=2), Axis(name='Y', size=3)), Slice(start=2, size=2, stride=1))
        >>> view["X", 0, "Y", 0] = -1.0
        >>> r["X", 2, "Y", 0].item()
        -1.0
    """

    _ref: Any
    _axes: tuple[Axis, ...]
    _prefix: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        axes = tuple(self._axes)
        object.__setattr__(self, "_axes", axes)
        if self._prefix is None:
            object.__setattr__(self, "_prefix", tuple(slice(None) for _ in axes))
            return
        prefix = tuple(self._prefix)
        if len(prefix) != len(axes):
            raise ValueError(
                f"NamedRef: Prefix entries must align with axes: got {len(prefix)} entries for axes {_shown(axes)}"
            )
        object.__setattr__(self, "_prefix", tuple(_normalize_entry(p, a) for p, a in zip(prefix, axes)))

    # ---------------------------------------------------------------------------------------------
    # pytree

    def _tree_flatten(self) -> tuple[list[Any], tuple[Any, ...]]:
        leaves: list[Any] = [self._ref]
        specs = []
        for p in self._prefix_entries:
            spec, lv = _flatten_entry(p)
            specs.append(spec)
            leaves.extend(lv)
        return leaves, (self._axes, tuple(specs))

    @classmethod
    def _tree_unflatten(cls, aux: tuple[Any, ...], leaves: Any) -> NamedRef:
        axes, specs = aux
        rest = list(leaves)
        ref = rest.pop(0)
        prefix = tuple(_unflatten_entry(s, rest) for s in specs)
        obj = object.__new__(cls)
        object.__setattr__(obj, "_ref", ref)
        object.__setattr__(obj, "_axes", axes)
        object.__setattr__(obj, "_prefix", prefix)
        return obj

    # ---------------------------------------------------------------------------------------------
    # the view

    @property
    def _prefix_entries(self) -> tuple[Any, ...]:
        prefix = self._prefix
        assert prefix is not None  # set by __post_init__
        return prefix

    @functools.cached_property
    def _view(self) -> tuple[tuple[Axis, ...], dict[str, tuple[str, int]]]:
        return _view_of(self._axes, self._prefix_entries)

    @property
    def axes(self) -> tuple[Axis, ...]:
        """The axes of the view: the base axes without int-fixed ones, ranges resized, gathers replaced.

        Examples:
            >>> import haliax as hax
            >>> from haliax.ref import new_ref
            >>> r = new_ref(hax.zeros(hax.make_axes(X=4, Y=3)))
            >>> r.slice({"X": 1}).axes
            (Axis(name='Y', size=3),)
        """
        return self._view[0]

    @property
    def shape(self) -> dict[str, int]:
        """The view's ``{name: size}`` dict (like `NamedArray.shape`).

        Examples:
            >>> import haliax as hax
            >>> from haliax.ref import new_ref
            >>> new_ref(hax.zeros(hax.make_axes(X=4, Y=3))).slice({"Y": slice(1, 3)}).shape
            {'X': 4, 'Y': 2}
        """
        return {a.name: a.size for a in self.axes}

    @property
    def named_shape(self) -> dict[str, int]:
        """The same as `shape`.

        Examples:
            >>> import haliax as hax
            >>> from haliax.ref import new_ref
            >>> new_ref(hax.zeros(hax.Axis("X", 2))).named_shape
            {'X': 2}
        """
        return self.shape

    @property
    def ndim(self) -> int:
        """The number of axes of the view.

        Examples:
            >>> import haliax as hax
            >>> from haliax.ref import new_ref
            >>> new_ref(hax.zeros(hax.make_axes(X=4, Y=3))).slice({"X": 0}).ndim
            1
        """
        return len(self.axes)

    @property
    def dtype(self) -> Any:
        """The dtype of the buffer.

        Examples:
            >>> import haliax as hax
            >>> from haliax.ref import new_ref
            >>> new_ref(hax.zeros(hax.Axis("X", 2))).dtype
            dtype('float32')
        """
        return self._ref.dtype

    def resolve_axis(self, name: AxisSelector) -> Axis:
        """The view's Axis called ``name`` (a name, or an Axis whose size is checked).

        Examples:
            >>> import haliax as hax
            >>> from haliax.ref import new_ref
            >>> r = new_ref(hax.zeros(hax.make_axes(X=4, Y=3))).slice({"X": slice(0, 2)})
            >>> r.resolve_axis("X")
            Axis(name='X', size=2)
        """
        return self.axes[self._locate(name, "NamedRef.resolve_axis", "name")]

    def _locate(self, key: Any, fn: str, arg: str) -> int:
        axes = self.axes
        if not isinstance(key, (str, Axis)):
            raise TypeError(f"{fn}: argument {arg!r}: expected an axis name or Axis, got {key!r}")
        i = lookup_axis(axes, key, fn, arg)
        if i is None:
            name = key if isinstance(key, str) else key.name
            hint = closest_name(name, _names(axes))
            raise ValueError(
                f"{fn}: argument {arg!r}: Axis {name} is not present in this reference view {_shown(axes)}"
                + (f". Did you mean {hint!r}?" if hint is not None else "")
            )
        return i

    # ---------------------------------------------------------------------------------------------
    # reading and writing

    def _chain(self) -> list[NamedArray]:
        """The base buffer, then the result of applying each non-trivial prefix entry in turn (the last is the
        view's value)."""
        x = NamedArray(self._ref[...], self._axes)
        chain = [x]
        for ax, p in zip(self._axes, self._prefix_entries):
            if isinstance(p, slice):
                continue
            x = x[{ax.name: _prefix_step(p, ax)}]
            chain.append(x)
        return chain

    def _index(self, idx: Any, fn: str) -> dict[str, Any]:
        """A view index as a NamedArray index dict, checked against the view."""
        if idx is Ellipsis or (isinstance(idx, tuple) and not idx):
            return {}
        if isinstance(idx, Mapping):
            items = list(idx.items())
        elif isinstance(idx, tuple):
            if len(idx) % 2:
                raise ValueError(
                    f"{fn}: Must provide an even number of arguments to the shorthand ref[axis1, index1, ...]; got "
                    f"{len(idx)}: {idx!r}. View axes are {_shown(self.axes)}"
                )
            items = list(zip(idx[0::2], idx[1::2]))
        else:
            raise ValueError(
                f"{fn}: Invalid index type {type(idx)}: index a NamedRef by name, with a dict {{'axis': index}}, the "
                f"shorthand ref['axis', index, ...] or ref[...]. View axes are {_shown(self.axes)}"
            )
        axes = self.axes
        out: dict[str, Any] = {}
        for key, v in items:
            if not isinstance(key, (str, Axis)):
                raise ValueError(f"{fn}: Invalid index: keys must be axis names or Axis objects, got {key!r}")
            i = lookup_axis(axes, key, fn, "index")
            name = key if isinstance(key, str) else key.name
            if i is None:
                hint = closest_name(name, _names(axes))
                raise ValueError(
                    f"{fn}: Axis {name} is not available in this slice reference {_shown(axes)}"
                    + (f". Did you mean {hint!r}?" if hint is not None else "")
                )
            if name in out:
                raise ValueError(f"{fn}: axis {name} is indexed more than once")
            out[name] = _to_named_index(_classify(v, axes[i], fn), axes[i])
        return out

    def _read(self, idx: Any, fn: str) -> NamedArray:
        view = self._chain()[-1]
        index = self._index(idx, fn)
        return view[index] if index else view

    def _write(self, idx: Any, value: Any, fn: str) -> NamedArray:
        chain = self._chain()
        view = chain[-1]
        index = self._index(idx, fn)
        old = view[index] if index else view
        new = NamedArray(_value_for(old.axes, self.dtype, value, fn), old.axes)
        if index:
            new = view.at[index].set(new)
        steps = [(ax, p) for ax, p in zip(self._axes, self._prefix_entries) if not isinstance(p, slice)]
        for k in range(len(steps) - 1, -1, -1):
            ax, p = steps[k]
            new = chain[k].at[{ax.name: _prefix_step(p, ax)}].set(new)
        self._ref[...] = new.array
        return old

    def __getitem__(self, idx: Any) -> NamedArray:
        return self._read(idx, _READ)

    def __setitem__(self, idx: Any, value: Any) -> None:
        self._write(idx, value, _WRITE)

    def value(self) -> NamedArray:
        """Read the whole view as a NamedArray (a snapshot: later writes do not change it).

        Examples:
            >>> import haliax as hax
            >>> from haliax.ref import new_ref
            >>> r = new_ref(hax.arange(hax.Axis("X", 4)))
            >>> r.slice({"X": slice(1, 3)}).value().tolist()
            [1, 2]
        """
        return self._chain()[-1]

    def unsliced(self) -> NamedRef:
        """The whole buffer: ``self`` if nothing is selected, else a new ref over the same `jax.Ref`.

        Examples:
            >>> import haliax as hax
            >>> from haliax.ref import new_ref
            >>> r = new_ref(hax.zeros(hax.Axis("X", 4)))
            >>> r.slice({"X": 1}).unsliced().axes, r.unsliced() is r
            ((Axis(name='X', size=4),), True)
        """
        if all(isinstance(p, slice) for p in self._prefix_entries):
            return self
        return NamedRef(self._ref, self._axes, None)

    # ---------------------------------------------------------------------------------------------
    # slice refs

    def slice(self, selector: Mapping[AxisSelector, Any] | tuple[Any, ...]) -> NamedRef:
        """A view of part of this ref, sharing its buffer.

        ``selector`` is a dict ``{axis: index}`` (or the shorthand tuple ``("X", 1, "Y", 0)``) over the axes of
        this view, with the index kinds of indexing: an int or 0-d integer array fixes the axis; a ``slice``
        (clamped to the view, as in Python), ``range``, ``hax.dslice`` or ``jax.ds`` keeps a range (a static
        dslice must fit in the view; a traced start is clamped); a list, 1-D integer array or integer
        NamedArray keeps a gathered selection. Indices are relative to this view; the new prefix stores them in
        base coordinates.

        A gather on top of a gather raises ``NotImplementedError``, and so does an index NamedArray with an
        axis named like another axis of the ref (index the ref directly instead).

        Examples:
            >>> import haliax as hax
            >>> from haliax.ref import new_ref
            >>> r = new_ref(hax.zeros(hax.Axis("x", 10)))
            >>> s = r.slice({"x": hax.ds(2, 5)})
            >>> s.slice({"x": slice(1, 3)})._prefix[0]
            Slice(start=3, size=2, stride=1)
            >>> s.slice({"x": -1})._prefix[0], s.slice({"x": [0, 2]})._prefix[0]
            (6, [2, 4])
        """
        fn = "NamedRef.slice"
        if isinstance(selector, Mapping):
            items = list(selector.items())
        elif isinstance(selector, tuple) and len(selector) % 2 == 0:
            items = list(zip(selector[0::2], selector[1::2]))
        else:
            raise TypeError(
                f"{fn}: argument 'selector': expected a dict {{axis: index}} (or the shorthand tuple "
                f"('axis', index, ...)), got {selector!r}"
            )
        if not items:
            return self
        axes, origin = self._view
        base = self._axes
        prefix = list(self._prefix_entries)
        seen: set[str] = set()
        new_index_names: set[str] = set()
        for key, v in items:
            ax = axes[self._locate(key, fn, "selector")]
            if ax.name in seen:
                raise ValueError(f"{fn}: axis {ax.name} is selected more than once")
            seen.add(ax.name)
            tag = _classify(v, ax, fn)
            src, i = origin[ax.name]
            if tag[0] == "named":
                others = ({a.name for a in axes} | {a.name for a in base} | new_index_names) - {ax.name}
                clash = [a.name for a in tag[1].axes if a.name in others]
                if clash:
                    raise NotImplementedError(
                        f"{fn}: the index NamedArray for axis {ax.name} has axes {clash} that are also axes of this "
                        "ref (a gather-along selection); index the ref directly instead, e.g. ref[{axis: index}]"
                    )
                new_index_names.update(a.name for a in tag[1].axes)
            if src == "index":
                prefix[i] = _compose_index(prefix[i], ax, tag, fn)
            else:
                prefix[i] = _compose_base(prefix[i], base[i], ax, tag, fn)
        return NamedRef(self._ref, base, tuple(prefix))

    def __repr__(self) -> str:
        staged = "" if self.unsliced() is self else f", prefix={self._prefix!r}"
        return f"NamedRef(axes={_shown(self.axes)}, dtype={self.dtype}{staged})"


jax.tree_util.register_pytree_node(NamedRef, NamedRef._tree_flatten, NamedRef._tree_unflatten)


# --------------------------------------------------------------------------------------------------
# composing a view-relative selection with a prefix entry


def _wrap(a: Any, n: int) -> Any:
    return jnp.where(a < 0, a + n, a)


def _clamp_int(j: Any, n: int) -> Any:
    """A traced int, wrapped and clamped into ``[0, n)`` (like a dynamic slice of size 1)."""
    return jnp.clip(_wrap(jnp.asarray(j), n), 0, n - 1)


def _gather_on_gather(ax: Axis, fn: str) -> NotImplementedError:
    return NotImplementedError(
        f"{fn}: axis {ax.name} already holds a gathered selection (a list or an index array); another list or "
        "index array on top of it is not supported. Index the ref directly instead: ref[{axis: index}]"
    )


def _compose_base(p: Any, base_ax: Axis, ax: Axis, tag: tuple[Any, ...], fn: str) -> Any:
    """The new prefix entry of a base axis given a selection ``tag`` in view coordinates."""
    kind = _entry_kind(p)
    n = ax.size
    t = tag[0]
    if kind in ("full", "slice"):
        s, st = (0, 1) if kind == "full" else (p.start, int(p.stride))
        static = is_static_int(s)
        if t == "int":
            return int(s) + tag[1] * st if static else s + tag[1] * st
        if t == "dint":
            return s + _clamp_int(tag[1], n) * st
        if t in ("slice", "ds"):
            j0, size, step = tag[1], tag[2], tag[3]
            start = int(s) + j0 * st if static and is_static_int(j0) else s + j0 * st
            return jax.ds(start, size, st * step)
        if t == "list":
            if static:
                return [int(s) + j * st for j in tag[1]]
            return s + st * jnp.asarray(tag[1], dtype=jnp.int32)
        if t == "arr":
            a = tag[1]
            if len(a.shape) != 1:
                raise ValueError(
                    f"{fn}: only 1-D plain arrays can select along an axis (axis {ax.name} got shape "
                    f"{tuple(a.shape)}); wrap the index in a NamedArray to name its axes"
                )
            return a if kind == "full" else s + st * _wrap(jnp.asarray(a), n)
        if t == "named":
            a = tag[1]
            return a if kind == "full" else NamedArray(s + st * _wrap(a.array, n), a.axes)
        raise NotImplementedError(f"{fn}: a dslice with a NamedArray start cannot define a view (axis {ax.name})")
    # a gathered selection: a list or a 1-D array of absolute positions
    if t not in ("int", "dint", "slice", "ds"):
        raise _gather_on_gather(ax, fn)
    if kind == "list" and t == "int":
        return p[tag[1]]
    if kind == "list" and (t == "slice" or (t == "ds" and is_static_int(tag[1]))):
        return [p[tag[1] + k * tag[3]] for k in range(tag[2])]
    a = jnp.asarray(p, dtype=jnp.int32) if kind == "list" else p
    if t == "int":
        return a[tag[1]]
    if t == "dint":
        return a[_clamp_int(tag[1], n)]
    j0, size, step = tag[1], tag[2], tag[3]
    return a[j0 + step * jnp.arange(size, dtype=jnp.int32)]  # in range: checked or clamped by _classify


def _compose_index(p: NamedArray, ax: Axis, tag: tuple[Any, ...], fn: str) -> Any:
    """Select along an axis of a NamedArray prefix entry (an index array): index the index."""
    if tag[0] not in ("int", "dint", "slice", "ds"):
        raise _gather_on_gather(ax, fn)
    out = p[{ax.name: _to_named_index(tag, ax)}]
    return out.array if not out.axes else out


# --------------------------------------------------------------------------------------------------
# values written into a region


def _fits_dtype(value_dtype: Any, weak: bool, ref_dtype: Any) -> bool:
    """`jax.Ref`'s rule: equal dtypes, or a weakly typed float into a float ref, or an int into an int ref."""
    if value_dtype == ref_dtype:
        return True
    floats = jnp.issubdtype(ref_dtype, jnp.floating) and jnp.issubdtype(value_dtype, jnp.floating)
    ints = jnp.issubdtype(ref_dtype, jnp.integer) and jnp.issubdtype(value_dtype, jnp.integer)
    return (weak and floats) or ints


def _check_dtype(raw: Any, ref_dtype: Any, fn: str) -> Any:
    if not _fits_dtype(raw.dtype, bool(jax.typeof(raw).weak_type), ref_dtype):
        raise ValueError(
            f"{fn}: Invalid dtype for `swap`. Ref dtype: {ref_dtype}. Value dtype: {raw.dtype}. "
            "Convert the value with .astype(ref.dtype)"
        )
    return raw.astype(ref_dtype) if raw.dtype != ref_dtype else raw


def _value_for(target: tuple[Axis, ...], ref_dtype: Any, value: Any, fn: str) -> Any:
    """The raw array to write into a region with axes ``target``: NamedArrays are aligned by name and
    broadcast (their axes must be a subset of the target's), scalars are broadcast, plain arrays must have the
    region's exact shape."""
    shape = tuple(a.size for a in target)
    if isinstance(value, NamedArray):
        extra = [a for a in value.axes if lookup_axis(target, a.name, fn, "value") is None]
        if extra:
            raise ValueError(
                f"{fn}: Value axes {_names(value.axes)} do not match target axes {_names(target)}; broadcasting is "
                f"not yet supported for value axes {tuple(a.name for a in extra)} that the target lacks (a value "
                "may only lack target axes)"
            )
        for a in value.axes:
            lookup_axis(target, a, fn, "value")  # a value axis of another size: AxisSizeMismatchError
        raw = _check_dtype(value.array, ref_dtype, fn)
        return broadcast_to(NamedArray(raw, value.axes), target).array
    raw = jnp.asarray(value)
    if raw.ndim == 0:
        return jnp.broadcast_to(_check_dtype(raw, ref_dtype, fn), shape)
    if tuple(raw.shape) != shape:
        raise ValueError(
            f"{fn}: Invalid shape for `swap`. Expected shape: {shape} (axes {_shown(target)}). Value shape: "
            f"{tuple(raw.shape)}. A plain array must match the region exactly; name its axes to broadcast it"
        )
    return _check_dtype(raw, ref_dtype, fn)


# --------------------------------------------------------------------------------------------------
# functions


def new_ref(value: NamedArray) -> NamedRef:
    """A new mutable reference holding ``value`` (a NamedArray), with its axes.

    Only NamedArrays are accepted (``TypeError`` otherwise); name a plain array with `haliax.named` first.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ref import new_ref
        >>> r = new_ref(hax.zeros(hax.Axis("X", 3)))
        >>> r["X", 0] = 2.0
        >>> r[...].tolist()
        [2.0, 0.0, 0.0]
    """
    if not isinstance(value, NamedArray):
        raise TypeError(
            f"new_ref only supports NamedArray inputs, got {type(value).__name__}; name the array first, e.g. "
            "new_ref(hax.named(array, axes))"
        )
    return NamedRef(jax.new_ref(value.array), value.axes)


def freeze(ref: NamedRef) -> NamedArray:
    """Read the whole view of ``ref`` as a NamedArray: the same as ``ref.value()``.

    Unlike `jax.freeze`, the ref stays usable: later writes work and do not change the returned snapshot.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ref import new_ref, freeze
        >>> r = new_ref(hax.zeros(hax.Axis("X", 2)))
        >>> snapshot = freeze(r)
        >>> r["X", 0] = 1.0
        >>> snapshot.tolist(), freeze(r).tolist()
        ([0.0, 0.0], [1.0, 0.0])
    """
    if not isinstance(ref, NamedRef):
        raise TypeError(f"freeze: argument 'ref': expected a NamedRef, got {type(ref).__name__}")
    return ref.value()


def get(ref: NamedRef, idx: Any = Ellipsis) -> NamedArray:
    """Read a region of ``ref``: the same as ``ref[idx]`` (``idx`` defaults to the whole view).

    Examples:
        >>> import haliax as hax
        >>> from haliax.ref import new_ref, get
        >>> r = new_ref(hax.arange(hax.make_axes(X=2, Y=3)))
        >>> get(r, {"X": 1}).tolist()
        [3, 4, 5]
    """
    if not isinstance(ref, NamedRef):
        raise TypeError(f"get: argument 'ref': expected a NamedRef, got {type(ref).__name__}")
    return ref._read(idx, "get")


def swap(ref: NamedRef, idx: Any, value: Any) -> NamedArray:
    """Write ``value`` into the region ``ref[idx]`` and return what was there before.

    ``value`` follows the rules of ``ref[idx] = value``; the result has the region's axes.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ref import new_ref, swap
        >>> r = new_ref(hax.arange(hax.Axis("X", 3)))
        >>> swap(r, {"X": slice(0, 2)}, 7).tolist(), r[...].tolist()
        ([0, 1], [7, 7, 2])
    """
    if not isinstance(ref, NamedRef):
        raise TypeError(f"swap: argument 'ref': expected a NamedRef, got {type(ref).__name__}")
    return ref._write(idx, value, "swap")
