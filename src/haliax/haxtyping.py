"""Type annotations for NamedArrays: axis names, order and dtype.

Spelling (all of these are ordinary `typing.Annotated` types, so static type checkers see plain `NamedArray`):

* ``NamedArray["batch embed"]``: exactly these axes, in this order. ``"batch ..."`` allows more axes after
  ``batch``; ``"... embed"`` before; ``"batch ... embed"`` in between (any number of ``...``). ``""`` is a 0-d array.
  Commas also separate names.
* ``NamedArray["batch", "embed"]`` (a sequence; entries may be names, `Axis` objects, whose size is then checked
  too, or ``...``).
* ``NamedArray[{"batch", "embed"}]`` or ``NamedArray["{batch embed}"]``: these axes in any order; add ``...`` to
  the set (or inside the braces) to allow others.
* A dtype may be added anywhere in the item: ``NamedArray["batch embed", jnp.float32]``.
* Dtype-aware spelling, like jaxtyping: ``f32[NamedArray, "batch embed"]``, ``Float[NamedArray, "batch ..."]``,
  ``Int[NamedArray, "seq"]``, ``Bool[NamedArray, "{batch seq}"]``... (also ``f32["batch embed"]`` for short).
  Categories: `Float`, `Int` (signed or unsigned), `UInt`, `Bool`, `Complex`, `Inexact`, `Num`, `Shaped` (any dtype),
  and concrete `f16 bf16 f32 f64 i8 i16 i32 i64 u8 u16 u32 u64 c64 c128`, plus `bool_`, `complex64` and `complex128`
  (exact dtypes bool, complex64 and complex128). With a first argument other than NamedArray (e.g.
  ``Float[jax.Array, "b c"]``) they return the corresponding `jaxtyping` type, so they can stand in for jaxtyping's
  (``i32[jax.Array, "b"]`` is ``jaxtyping.Int32[jax.Array, "b"]``, ``bool_[...]`` is ``jaxtyping.Bool[...]``). Haliax
  returns ``jaxtyping.Float[...]`` there for every dtype wrapper, so an int32 array fails an ``i32`` check and a
  float32 one passes; we return the matching class.
  For static checkers these names are `typing.Annotated`, exactly as jaxtyping does it.
* `Named` is an alias of `NamedArray` (``Named["batch embed"]``).

Static checkers (checked with pyright) read ``f32[NamedArray, "..."]`` as ``NamedArray`` and accept
``NamedArray["..."]``. Linters that treat strings in annotations as forward references (ruff/flake8 F722, F821) need
those codes ignored in files using axis-spec strings, exactly as with jaxtyping.

Checking at run time: `matches(x, annotation)` is an ``isinstance``-like test for any of the above (and plain types,
unions and ``None``); `matches_axes(x, spec)` checks axes (and dtype, if the spec has one); the decorator
`typechecked` checks every NamedArray-annotated argument and the return value of a function on each call and raises
`TypeError` naming the function, the argument, what it got and what was expected.

Examples:
    >>> import jax.numpy as jnp
    >>> import haliax as hax
    >>> from haliax.haxtyping import f32, matches
    >>> B, E = hax.make_axes(batch=2, embed=3)
    >>> x = hax.zeros((B, E))
    >>> matches(x, hax.NamedArray["batch embed"]), matches(x, hax.NamedArray["embed batch"])
    (True, False)
    >>> matches(x, f32[hax.NamedArray, "batch ..."]), matches(x.astype(jnp.int32), f32[hax.NamedArray, "batch ..."])
    (True, False)
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, Union

import jax.numpy as jnp

from . import core as _core
from .axis import Axis
from .core import NamedArray

__all__ = [
    "Named",
    "NamedArrayAxes",
    "NamedArrayAxesSpec",
    "DTypeCategory",
    "Float",
    "Int",
    "UInt",
    "Bool",
    "Complex",
    "Inexact",
    "Num",
    "Shaped",
    "f16",
    "bf16",
    "f32",
    "f64",
    "i8",
    "i16",
    "i32",
    "i64",
    "u8",
    "u16",
    "u32",
    "u64",
    "c64",
    "c128",
    "bool_",
    "complex64",
    "complex128",
]

F = TypeVar("F", bound=Callable[..., Any])

Named = NamedArray
"""Alias of `NamedArray` for annotations: ``Named["batch embed"]``."""


# --------------------------------------------------------------------------------------------------
# dtype categories


@dataclass(frozen=True)
class DTypeCategory:
    """A set of dtypes usable as an annotation factory: ``f32[NamedArray, "batch embed"]``.

    ``abstract`` is a NumPy/JAX abstract scalar type (``jnp.floating``...) matched with `jnp.issubdtype`;
    ``concrete`` an exact dtype; neither means any dtype. ``jaxtyping_name`` is the jaxtyping type used when the
    first argument is not a NamedArray. An item that is neither an axis spec nor an array type followed by a shape
    (``f32[3]``) raises a ``TypeError`` naming the annotation and listing the accepted forms (jaxtyping's own
    message speaks only of its own form).

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.haxtyping import Float
        >>> Float.matches(jnp.bfloat16), Float.matches(jnp.int32)
        (True, False)
    """

    name: str
    abstract: Any = None
    concrete: Any = None
    jaxtyping_name: str = "Shaped"
    label: str = ""

    @property
    def spec_dtype(self) -> Any:
        """What annotations store as their dtype: the dtype itself for a concrete wrapper (``f32[...]`` stores
        ``jnp.float32``), the category otherwise (``Float[...]`` stores ``Float``, whose ``str`` is "float")."""
        return self.concrete if self.concrete is not None else self

    def matches(self, dtype: Any) -> bool:
        """Whether ``dtype`` belongs to this category."""
        if dtype is None:
            return False
        dt = jnp.dtype(dtype)
        if self.concrete is not None:
            return dt == jnp.dtype(self.concrete)
        if self.abstract is not None:
            return bool(jnp.issubdtype(dt, self.abstract))
        return True

    def __getitem__(self, item: Any) -> Any:
        if not isinstance(item, tuple):
            item = (item,)
        base = item[0]
        fn = f"{self.name}[...]"
        if base is NamedArray:
            spec = item[1:] if len(item) > 1 else ("...",)
            return Annotated[NamedArray, _make_axes_spec(spec, dtype=self.spec_dtype, fn=fn)]
        if isinstance(base, (str, Set, Axis)) or base is Ellipsis:
            return Annotated[NamedArray, _make_axes_spec(item, dtype=self.spec_dtype, fn=fn)]
        if len(item) < 2 or base is None or isinstance(base, (int, float, complex, bytes, list, dict)):
            # jaxtyping would say only that an array type and a shape are needed
            shown = ", ".join(repr(i) for i in item)
            raise TypeError(
                f"{self.name}[{shown}]: invalid annotation. Accepted forms: {self.name}[NamedArray, 'batch embed'] "
                f"or {self.name}['batch embed'] (axis names separated by spaces; '...' for any other axes, "
                f"'{{batch embed}}' for any order), a tuple of names or Axis objects ({self.name}['batch', "
                f"hax.Axis('embed', 4)]), a set of names, or {self.name}[jax.Array, 'b c'] for a plain array "
                "(jaxtyping)"
            )
        import jaxtyping

        return getattr(jaxtyping, self.jaxtyping_name)[item]

    def __repr__(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.label or self.name


def _cat(name: str, jt: str, abstract: Any = None, concrete: Any = None, label: str = "") -> DTypeCategory:
    return DTypeCategory(name, abstract=abstract, concrete=concrete, jaxtyping_name=jt, label=label)


if TYPE_CHECKING:  # static checkers see Annotated[T, ...] == T, as with jaxtyping
    from typing import (
        Annotated as Bool,
        Annotated as Complex,
        Annotated as Float,
        Annotated as Inexact,
        Annotated as Int,
        Annotated as Num,
        Annotated as Shaped,
        Annotated as UInt,
        Annotated as bf16,
        Annotated as bool_,
        Annotated as c64,
        Annotated as c128,
        Annotated as complex64,
        Annotated as complex128,
        Annotated as f16,
        Annotated as f32,
        Annotated as f64,
        Annotated as i8,
        Annotated as i16,
        Annotated as i32,
        Annotated as i64,
        Annotated as u8,
        Annotated as u16,
        Annotated as u32,
        Annotated as u64,
    )
else:
    Float = _cat("Float", "Float", abstract=jnp.floating, label="float")
    Int = _cat("Int", "Int", abstract=jnp.integer, label="int")
    UInt = _cat("UInt", "UInt", abstract=jnp.unsignedinteger, label="uInt")
    Bool = _cat("Bool", "Bool", abstract=jnp.bool_, label="bool")
    Complex = _cat("Complex", "Complex", abstract=jnp.complexfloating, label="complex")
    Inexact = _cat("Inexact", "Inexact", abstract=jnp.inexact, label="inexact")
    Num = _cat("Num", "Num", abstract=jnp.number, label="num")
    Shaped = _cat("Shaped", "Shaped", label="shaped")
    f16 = _cat("f16", "Float16", concrete=jnp.float16)
    bf16 = _cat("bf16", "BFloat16", concrete=jnp.bfloat16)
    f32 = _cat("f32", "Float32", concrete=jnp.float32)
    f64 = _cat("f64", "Float64", concrete=jnp.float64)
    i8 = _cat("i8", "Int8", concrete=jnp.int8)
    i16 = _cat("i16", "Int16", concrete=jnp.int16)
    i32 = _cat("i32", "Int32", concrete=jnp.int32)
    i64 = _cat("i64", "Int64", concrete=jnp.int64)
    u8 = _cat("u8", "UInt8", concrete=jnp.uint8)
    u16 = _cat("u16", "UInt16", concrete=jnp.uint16)
    u32 = _cat("u32", "UInt32", concrete=jnp.uint32)
    u64 = _cat("u64", "UInt64", concrete=jnp.uint64)
    c64 = _cat("c64", "Complex64", concrete=jnp.complex64)
    c128 = _cat("c128", "Complex128", concrete=jnp.complex128)
    bool_ = _cat("bool_", "Bool", concrete=jnp.bool_)
    complex64 = _cat("complex64", "Complex64", concrete=jnp.complex64)
    complex128 = _cat("complex128", "Complex128", concrete=jnp.complex128)


# --------------------------------------------------------------------------------------------------
# axis specs


@dataclass(frozen=True)
class NamedArrayAxes:
    """A parsed axes spec (the metadata of ``NamedArray[...]`` annotations), with Haliax's fields.

    Attributes:
        before: the names before the ``...`` (all the names if there is none; for unordered specs, the names,
            sorted).
        after: the names after the ``...`` (after the last one if there are several).
        ordered: whether the order matters (False for set specs).
        subset: whether other axes are allowed (the spec has a ``...``).
        dtype: the dtype the array must have (``jnp.float32`` for ``f32[...]``), a `DTypeCategory` it must
            belong to (``Float[...]``), or None.
        sizes: ``(name, size)`` pairs for entries given as `Axis` objects.
        pattern: the full pattern (names and ``...``) when there is more than one ``...``, else ``()``.

    Haliax allows a single ``...``; we also accept several (each matches any run of axes).

    Examples:
        >>> import haliax as hax
        >>> from haliax.haxtyping import NamedArrayAxes
        >>> spec = NamedArrayAxes.parse("batch ... embed")
        >>> spec.before, spec.after, spec.ordered, spec.subset
        (('batch',), ('embed',), True, True)
        >>> spec.matches(hax.zeros({"batch": 2, "seq": 3, "embed": 4}))
        True
        >>> str(spec)
        'batch ... embed'
    """

    before: tuple[str, ...]
    after: tuple[str, ...] = ()
    ordered: bool = True
    subset: bool = False
    dtype: Any = None
    sizes: tuple[tuple[str, int], ...] = ()
    pattern: tuple[Any, ...] = ()

    @property
    def axes(self) -> tuple[Any, ...]:
        """The names and ``...`` wildcards, in spec order (for unordered specs, sorted, then ``...``)."""
        if self.pattern:
            return self.pattern
        if not self.ordered:
            return self.before + ((Ellipsis,) if self.subset else ())
        return self.before + ((Ellipsis,) if self.subset else ()) + self.after

    @staticmethod
    def parse(spec: Any, dtype: Any = None) -> NamedArrayAxes:
        """Parse a spec string, sequence or set (and optional dtype) into a NamedArrayAxes."""
        return _make_axes_spec((spec,) if dtype is None else (spec, dtype))

    def matches_dtype(self, dtype: Any) -> bool:
        """Whether ``dtype`` satisfies this spec's dtype (categories with `jnp.issubdtype`, dtypes exactly)."""
        if self.dtype is None:
            return True
        if dtype is None:
            return False
        if isinstance(self.dtype, DTypeCategory):
            return self.dtype.matches(dtype)
        return jnp.dtype(dtype) == jnp.dtype(self.dtype)

    def matches(self, x: Any) -> bool:
        """Whether ``x`` is a NamedArray with matching axes (and dtype, if set)."""
        if not isinstance(x, NamedArray):
            return False
        if not self.matches_dtype(getattr(x.array, "dtype", None)):
            return False
        names = tuple(a.name for a in x.axes)
        if self.sizes:
            present = {a.name: a.size for a in x.axes}
            if any(n in present and present[n] != s for n, s in self.sizes):
                return False
        if self.ordered:
            return _glob(self.axes, names)
        if self.subset:
            return set(self.before) <= set(names)
        return set(self.before) == set(names)

    def __str__(self) -> str:
        parts = ["..." if a is Ellipsis else a for a in self.axes]
        body = " ".join(parts) if self.ordered else "{" + " ".join(parts) + "}"
        if self.dtype is None:
            return body
        dt = str(self.dtype) if isinstance(self.dtype, DTypeCategory) else jnp.dtype(self.dtype).name
        return f"{dt}[{body}]"


def _from_pattern(
    names: tuple[Any, ...], sizes: tuple[tuple[str, int], ...], dtype: Any, ordered: bool = True
) -> NamedArrayAxes:
    """Build a NamedArrayAxes from a pattern of names and ``...``."""
    if not ordered:
        before = tuple(sorted(n for n in names if n is not Ellipsis))
        return NamedArrayAxes(before, (), False, Ellipsis in names, dtype, tuple(sorted(sizes)))
    dots = [i for i, n in enumerate(names) if n is Ellipsis]
    if not dots:
        return NamedArrayAxes(tuple(names), (), True, False, dtype, sizes)
    before, after = tuple(names[: dots[0]]), tuple(names[dots[-1] + 1 :])
    return NamedArrayAxes(before, after, True, True, dtype, sizes, tuple(names) if len(dots) > 1 else ())


# Haliax users also reach the class as haliax.core.NamedArrayAxes; core cannot import this module, so we set it
setattr(_core, "NamedArrayAxes", NamedArrayAxes)  # noqa: B010

NamedArrayAxesSpec = str | Sequence[str | Axis | types.EllipsisType] | Set[Any] | NamedArrayAxes
"""Everything accepted as an axes spec: a string, a sequence, a set, or a parsed `NamedArrayAxes`."""


def _glob(pattern: tuple[Any, ...], names: tuple[str, ...]) -> bool:
    """Match ``names`` against ``pattern`` in which ``...`` matches any run of axes."""

    @functools.cache
    def go(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(names)
        if pattern[i] is Ellipsis:
            return go(i + 1, j) or (j < len(names) and go(i, j + 1))
        return j < len(names) and names[j] == pattern[i] and go(i + 1, j + 1)

    return go(0, 0)


def _is_dtype_like(x: Any) -> bool:
    if isinstance(x, DTypeCategory):
        return True
    if isinstance(x, (str, Axis, Set, list, tuple)) or x is Ellipsis or x is None or x is NamedArray:
        return False
    try:
        jnp.dtype(x)
    except TypeError:
        return False
    return True


def _to_dtype(x: Any) -> Any:
    """The dtype stored in a spec: a concrete wrapper's dtype, a category, or ``jnp.dtype(x)``."""
    if isinstance(x, DTypeCategory):
        return x.spec_dtype
    if isinstance(x, type):  # a scalar type such as jnp.float32 is kept as given (it compares equal)
        jnp.dtype(x)
        return x
    return jnp.dtype(x)


@functools.lru_cache(maxsize=1024)
def _parse_string(spec: str) -> tuple[Any, ...]:
    out: list[Any] = []
    for tok in spec.replace(",", " ").split():
        out.append(Ellipsis if tok == "..." else tok)
    return tuple(out)


def _entries(fn: str, raw: Any) -> tuple[tuple[Any, ...], tuple[tuple[str, int], ...]]:
    names: list[Any] = []
    sizes: list[tuple[str, int]] = []
    for e in raw:
        if e is Ellipsis or e == "...":
            names.append(Ellipsis)
        elif isinstance(e, Axis):
            names.append(e.name)
            sizes.append((e.name, e.size))
        elif isinstance(e, str):
            toks = _parse_string(e)
            if len(toks) != 1:
                raise ValueError(f"{fn}: sequence entries must be single axis names, got {e!r}")
            names.append(toks[0])
        else:
            raise TypeError(f"{fn}: axis spec entries must be names, Axis objects or ..., got {e!r}")
    real = [n for n in names if n is not Ellipsis]
    dups = sorted({n for n in real if real.count(n) > 1})
    if dups:
        raise ValueError(f"{fn}: axis names {dups} appear more than once in the spec {raw!r}")
    return tuple(names), tuple(sizes)


def _make_axes_spec(item: Any, dtype: Any = None, fn: str = "NamedArray[...]") -> NamedArrayAxes:
    """Build a NamedArrayAxes from an annotation item: a spec, or a tuple of spec parts and dtypes.

    A leading ``NamedArray`` class is the base (``Named[NamedArray, "batch embed"]``) and is dropped. ``fn`` is
    the annotation named in errors.
    """
    if isinstance(item, NamedArrayAxes):
        return item if dtype is None else dataclasses.replace(item, dtype=_to_dtype(dtype))
    parts = item if isinstance(item, tuple) else (item,)
    if parts and parts[0] is NamedArray:
        parts = parts[1:] if len(parts) > 1 else ("...",)
    dtypes = [p for p in parts if _is_dtype_like(p)]
    rest = [p for p in parts if not _is_dtype_like(p)]
    if dtype is not None:
        dtypes.insert(0, dtype)
    if len(dtypes) > 1:
        raise TypeError(f"{fn}: at most one dtype may be given, got {dtypes!r}")
    dt = _to_dtype(dtypes[0]) if dtypes else None
    if len(rest) == 1 and isinstance(rest[0], NamedArrayAxes):
        inner = rest[0]
        return inner if dt is None else dataclasses.replace(inner, dtype=dt)
    if len(rest) == 1 and isinstance(rest[0], Set):
        names, sizes = _entries(fn, list(rest[0]))
        return _from_pattern(names, sizes, dt, ordered=False)
    if len(rest) == 1 and isinstance(rest[0], str):
        text = rest[0].strip()
        unordered = text.startswith("{") and text.endswith("}")
        if unordered:
            text = text[1:-1]
        if "{" in text or "}" in text:
            raise ValueError(f"{fn}: braces must enclose the whole spec (as in '{{batch embed}}'), got {rest[0]!r}")
        names, sizes = _entries(fn, _parse_string(text))
        return _from_pattern(names, sizes, dt, ordered=not unordered)
    if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
        rest = list(rest[0])
    for p in rest:
        if isinstance(p, Set):
            raise TypeError(f"{fn}: a set spec must be given alone, got {item!r}")
    names, sizes = _entries(fn, rest)
    return _from_pattern(names, sizes, dt)


def named_array_annotation(item: Any) -> Any:
    """What ``NamedArray[item]`` returns: ``Annotated[NamedArray, NamedArrayAxes(...)]``.

    Examples:
        >>> import typing
        >>> import haliax as hax
        >>> typing.get_args(hax.NamedArray["batch embed"])[1].axes
        ('batch', 'embed')
    """
    return Annotated[NamedArray, _make_axes_spec(item)]


def _spec_of(spec: Any) -> NamedArrayAxes | None:
    """The NamedArrayAxes in an annotation or spec, or None if it has none."""
    if isinstance(spec, NamedArrayAxes):
        return spec
    if typing.get_origin(spec) is Annotated:
        for meta in typing.get_args(spec)[1:]:
            if isinstance(meta, NamedArrayAxes):
                return meta
        return None
    if isinstance(spec, (str, Set, list, tuple)):
        return _make_axes_spec(spec)
    return None


def matches_axes(named_array: Any, spec: Any) -> bool:
    """Whether ``named_array``'s axes (and dtype, if the spec has one) match ``spec``: a spec string like
    ``"batch embed ..."``, a sequence, a set, a `NamedArrayAxes` or a ``NamedArray[...]`` annotation.

    Examples:
        >>> import haliax as hax
        >>> from haliax.haxtyping import matches_axes
        >>> x = hax.zeros({"batch": 2, "embed": 3})
        >>> matches_axes(x, "batch ..."), matches_axes(x, {"embed", "batch"}), matches_axes(x, ("embed",))
        (True, True, False)
    """
    parsed = _spec_of(spec)
    if parsed is None:
        raise TypeError(f"matches_axes: expected an axes spec (str, sequence, set or NamedArray[...]), got {spec!r}")
    return parsed.matches(named_array)


def matches(x: Any, annotation: Any) -> bool:
    """An ``isinstance``-like check of ``x`` against an annotation.

    Understands ``NamedArray[...]`` and ``f32[NamedArray, ...]`` annotations (axes and dtype), bare dtype categories
    (``f32``, ``Float``: checks the dtype of any array), spec strings/sequences/sets (meaning a NamedArray with those
    axes), unions (``X | None``, ``Optional``), ``Any``, ``None`` and ordinary classes (including jaxtyping types).

    Examples:
        >>> import haliax as hax
        >>> from haliax.haxtyping import Int, matches
        >>> x = hax.arange(hax.Axis("seq", 4))
        >>> matches(x, Int[hax.NamedArray, "seq"]), matches(None, hax.NamedArray["seq"] | None)
        (True, True)
    """
    if annotation is Any:
        return True
    if annotation is None or annotation is type(None):
        return x is None
    if isinstance(annotation, DTypeCategory):
        return annotation.matches(getattr(x, "dtype", None))
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return any(matches(x, a) for a in typing.get_args(annotation))
    if origin is Annotated:
        spec = _spec_of(annotation)
        if spec is not None:
            return spec.matches(x)
        return matches(x, typing.get_args(annotation)[0])
    if isinstance(annotation, (NamedArrayAxes, str, Set, list, tuple)):
        return _make_axes_spec(annotation).matches(x)
    if origin is not None:
        annotation = origin
    if isinstance(annotation, type):
        return isinstance(x, annotation)
    raise TypeError(f"matches: cannot check against annotation {annotation!r}")


def _checkable(annotation: Any) -> bool:
    """Whether `typechecked` checks this annotation: NamedArray-related annotations (possibly in a union)."""
    if annotation is NamedArray or isinstance(annotation, DTypeCategory):
        return True
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _spec_of(annotation) is not None
    if origin is Union or origin is types.UnionType:
        return any(_checkable(a) for a in typing.get_args(annotation))
    return False


def _describe(x: Any) -> str:
    if isinstance(x, NamedArray):
        return f"a NamedArray with axes ({', '.join(str(a) for a in x.axes)}) and dtype {x.dtype}"
    if x is None:
        return "None"
    return f"a {type(x).__name__}"


def _expected(annotation: Any) -> str:
    spec = _spec_of(annotation)
    if spec is not None:
        return f"NamedArray[{spec}]"
    return repr(annotation)


def typechecked(fn: F) -> F:
    """Decorator: check, on every call, the arguments and the return value of ``fn`` whose annotations are
    NamedArray annotations (``NamedArray``, ``NamedArray["..."]``, ``f32[NamedArray, "..."]``, unions with None).

    Other annotations are ignored. A mismatch raises `TypeError` naming the function, the argument (or
    ``return``), the axes and dtype received and the expected spec. Works with ``from __future__ import
    annotations``. The check runs at trace time under `jax.jit`, so it costs nothing in compiled code.

    Examples:
        >>> import haliax as hax
        >>> from haliax.haxtyping import f32, typechecked
        >>> @typechecked
        ... def embed_norm(x: f32[hax.NamedArray, "batch embed"]) -> hax.NamedArray["batch"]:
        ...     return hax.sum(x * x, "embed")
        >>> embed_norm(hax.ones({"batch": 2, "embed": 3})).tolist()
        [3.0, 3.0]
        >>> try:
        ...     embed_norm(hax.ones({"embed": 3, "batch": 2}))
        ... except TypeError as e:
        ...     print(str(e).split(":")[0])
        embed_norm
    """
    sig = inspect.signature(fn)
    hints: dict[str, Any] | None = None

    def get_hints() -> dict[str, Any]:
        nonlocal hints
        if hints is None:
            raw = typing.get_type_hints(fn, include_extras=True)
            hints = {k: v for k, v in raw.items() if _checkable(v)}
        return hints

    name = getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        h = get_hints()
        if h:
            bound = sig.bind(*args, **kwargs)
            for arg, value in bound.arguments.items():
                ann = h.get(arg)
                if ann is None:
                    continue
                kind = sig.parameters[arg].kind
                values = (
                    value
                    if kind is inspect.Parameter.VAR_POSITIONAL
                    else (value.values() if kind is inspect.Parameter.VAR_KEYWORD else (value,))
                )
                for v in values:
                    if not matches(v, ann):
                        raise TypeError(f"{name}: argument {arg!r} should be {_expected(ann)}, got {_describe(v)}")
        out = fn(*args, **kwargs)
        ret = h.get("return")
        if ret is not None and not matches(out, ret):
            raise TypeError(f"{name}: return value should be {_expected(ret)}, got {_describe(out)}")
        return out

    return wrapper  # type: ignore[return-value]
