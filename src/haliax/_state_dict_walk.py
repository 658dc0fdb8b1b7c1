"""Walking trees for `haliax.state_dict`: trees of modules to flat ``{dotted.key: array}`` dicts and back.

* `to_state_dict` and the lenient `walk_from_state_dict` (no strict check: a missing array key raises
  ``KeyError``, a wrong shape ``ValueError``, extra keys are ignored) walk Equinox modules, lists, tuples,
  dicts, NamedArrays and arrays; `default_eqx_module_to_state_dict` / `default_eqx_module_from_state_dict` do
  one module field by field (honouring its ``_state_dict_key_map``), `with_prefix` joins key parts.
* `replace_fields` rebuilds a module with some fields replaced, the way Equinox does (no ``__init__`` rerun).
* `map_modules` visits selected modules outermost first (inside ``Stacked`` one layer at a time): the walk
  behind exporting multi-axis layers in PyTorch's 2-D layout and back.
* `marking_none_fields` makes `to_state_dict` emit `NONE_FIELD` for fields held as None, so the strict-load
  checker can tell "a key for a None field" (ignored) from "an unexpected key".

Nothing here checks strictly; the public, strict API is `haliax.state_dict`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import difflib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .core import NamedArray
from .partitioning import auto_sharded
from .tree_util import scan_aware_tree_map

__all__ = [
    "StateDict",
    "NONE_FIELD",
    "marking_none_fields",
    "is_array_like",
    "with_prefix",
    "replace_fields",
    "default_eqx_module_to_state_dict",
    "default_eqx_module_from_state_dict",
    "to_state_dict",
    "walk_from_state_dict",
    "map_modules",
]

StateDict = dict[str, Any]
"""A flat mapping from ``.``-joined keys to arrays (or Python scalars)."""

T = TypeVar("T")
Mod = TypeVar("Mod", bound=eqx.Module)


# --------------------------------------------------------------------------------------------------
# None fields, as seen by the strict-load checker

_MARK_NONE: contextvars.ContextVar[bool] = contextvars.ContextVar("haliax_state_dict_mark_none", default=False)


class _NoneField:
    """Marker emitted by ``to_state_dict`` for a None field while the expected keys are computed."""

    def __repr__(self) -> str:
        return "<None field>"


NONE_FIELD = _NoneField()


@contextlib.contextmanager
def marking_none_fields() -> Iterator[None]:
    """Within this block, `to_state_dict` returns ``{key: NONE_FIELD}`` (not ``{}``) for a None leaf."""
    token = _MARK_NONE.set(True)
    try:
        yield
    finally:
        _MARK_NONE.reset(token)


def _none_entry(prefix: str | None) -> StateDict:
    """What `to_state_dict` returns for a None leaf: ``{}``, or the marker inside `marking_none_fields`."""
    if prefix is not None and _MARK_NONE.get():
        return {prefix: NONE_FIELD}
    return {}


# --------------------------------------------------------------------------------------------------
# keys and fields


def is_array_like(x: Any) -> bool:
    """True for anything with a ``shape`` and a ``dtype`` (JAX and NumPy arrays, ShapeDtypeStructs, ...)."""
    return hasattr(x, "shape") and hasattr(x, "dtype")


def with_prefix(prefix: str | None, leaf: str | None) -> str | None:
    """Join two optional key parts with ``.`` (None-aware).

    Examples:
        >>> from haliax.state_dict import with_prefix
        >>> with_prefix("encoder", "weight"), with_prefix(None, "weight"), with_prefix("encoder", None)
        ('encoder.weight', 'weight', 'encoder')
    """
    if prefix is None:
        return leaf
    if leaf is None:
        return prefix
    return f"{prefix}.{leaf}"


def _dynamic_fields(mod: eqx.Module) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(mod) if not f.metadata.get("static", False)]


def _key_map(mod: Any) -> Mapping[str, str | None]:
    km: Callable[[], Mapping[str, str | None]] | None = getattr(mod, "_state_dict_key_map", None)
    return km() if callable(km) else {}


def _field_key(mod: Any, name: str, prefix: str | None, key_map: Mapping[str, str | None]) -> str | None:
    if name in key_map:
        return with_prefix(prefix, key_map[name])
    return with_prefix(prefix, name)


def replace_fields(mod: Mod, updates: Mapping[str, Any]) -> Mod:
    """A copy of ``mod`` with some fields replaced (the way Equinox itself rebuilds modules when
    unflattening, so custom ``__init__`` methods are not re-run)."""
    new = object.__new__(type(mod))
    for f in dataclasses.fields(mod):
        object.__setattr__(new, f.name, updates[f.name] if f.name in updates else getattr(mod, f.name))
    return new


# --------------------------------------------------------------------------------------------------
# to a state dict


def default_eqx_module_to_state_dict(mod: eqx.Module, prefix: str | None = None) -> StateDict:
    """State dict of an Equinox module: every non-static field under ``prefix.field`` (key map applied).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import default_eqx_module_to_state_dict
        >>> lin = hnn.Linear.init(hax.Axis("I", 2), hax.Axis("O", 3), key=jax.random.PRNGKey(0))
        >>> sorted(default_eqx_module_to_state_dict(lin, "lin"))
        ['lin.bias', 'lin.weight']
    """
    key_map = _key_map(mod)
    out: StateDict = {}
    for f in _dynamic_fields(mod):
        out.update(to_state_dict(getattr(mod, f.name), _field_key(mod, f.name, prefix, key_map)))
    return out


def _need_prefix(prefix: str | None, x: Any) -> str:
    if prefix is None:
        raise ValueError(f"to_state_dict: a leaf of type {type(x).__name__} needs a key, but the prefix is None")
    return prefix


def to_state_dict(tree: Any, prefix: str | None = None) -> StateDict:
    """Flatten a tree into a state dict with ``.``-joined keys.

    * None → ``{}``; a module with a ``to_state_dict`` method → that method; other Equinox modules → their
      non-static fields;
    * lists **and tuples** → ``prefix.0``, ``prefix.1``, ... (Haliax rejects tuples, so its MLP
      cannot be exported; here `haliax.nn.MLP` exports as ``layers.{i}.weight``);
    * dicts → ``prefix.key``;
    * NamedArray → its raw array (axes dropped; skipped if the array is None); arrays → themselves;
      Python scalars → themselves; functions (e.g. a custom ``dot_general``) carry no state and are skipped.

    Raises:
        ValueError: for a leaf with no key (prefix None) or an unsupported type.
        TypeError: if ``prefix`` is not a str or None (from_state_dict checks the same).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import to_state_dict
        >>> mlp = hnn.MLP.init(hax.Axis("I", 2), hax.Axis("O", 2), width=4, depth=1, key=jax.random.PRNGKey(0))
        >>> sorted(to_state_dict(mlp))
        ['layers.0.bias', 'layers.0.weight', 'layers.1.bias', 'layers.1.weight']
    """
    if prefix is not None and not isinstance(prefix, str):  # an int would give keys like '3.weight' silently
        raise TypeError(f"to_state_dict: argument 'prefix' must be a str or None, got {prefix!r}")
    if tree is None:
        return _none_entry(prefix)
    if isinstance(tree, NamedArray):
        if tree.array is None:
            return _none_entry(prefix)
        return {_need_prefix(prefix, tree): tree.array}
    if isinstance(tree, eqx.Module):
        method: Callable[[str | None], StateDict] | None = getattr(tree, "to_state_dict", None)
        if callable(method):
            return method(prefix)
        return default_eqx_module_to_state_dict(tree, prefix)
    if isinstance(tree, (list, tuple)):
        out: StateDict = {}
        for i, x in enumerate(tree):
            out.update(to_state_dict(x, with_prefix(prefix, str(i))))
        return out
    if isinstance(tree, Mapping):
        out = {}
        for k, x in tree.items():
            out.update(to_state_dict(x, with_prefix(prefix, str(k))))
        return out
    if is_array_like(tree) or isinstance(tree, (bool, int, float, complex)):
        return {_need_prefix(prefix, tree): tree}
    if callable(tree):
        return {}
    raise ValueError(f"to_state_dict: Unsupported type {type(tree)} at key {prefix!r}")


# --------------------------------------------------------------------------------------------------
# from a state dict (lenient)


def default_eqx_module_from_state_dict(mod: Mod, state_dict: StateDict, prefix: str | None = None) -> Mod:
    """Load every non-static field of ``mod`` from ``state_dict`` (key map applied); fields that are None
    stay None. This is the lenient walk (no strict check), for use inside custom ``from_state_dict`` methods.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import default_eqx_module_from_state_dict, to_state_dict
        >>> ln = hnn.LayerNorm.init(hax.Axis("D", 2))
        >>> sd = {k: v + 1 for k, v in to_state_dict(ln).items()}
        >>> default_eqx_module_from_state_dict(ln, sd).bias.tolist()
        [1.0, 1.0]
    """
    key_map = _key_map(mod)
    updates = {}
    for f in _dynamic_fields(mod):
        field_key = _field_key(mod, f.name, prefix, key_map)
        updates[f.name] = walk_from_state_dict(getattr(mod, f.name), state_dict, field_key)
    return replace_fields(mod, updates)


def _missing_key(prefix: str | None, state_dict: StateDict, what: str) -> KeyError:
    close = difflib.get_close_matches(str(prefix), [str(k) for k in state_dict], n=1, cutoff=0.6)
    hint = f" Closest key: {close[0]!r}." if close else ""
    return KeyError(
        f"from_state_dict: missing key {prefix!r} for {what}; the state dict has {len(state_dict)} keys.{hint}"
    )


def _lookup_array(state_dict: StateDict, prefix: str | None, shape: tuple[int, ...], what: str) -> Any:
    if prefix not in state_dict:
        raise _missing_key(prefix, state_dict, what)
    value = state_dict[prefix]
    got = tuple(np.shape(value))
    if got != tuple(shape):
        raise ValueError(f"from_state_dict: key {prefix!r} has shape {got}, but {what} needs shape {tuple(shape)}")
    return value


def walk_from_state_dict(tree: T, state_dict: StateDict, prefix: str | None = None) -> T:
    """The lenient walk behind `haliax.state_dict.from_state_dict` (KeyError on a missing array key,
    ValueError on a shape mismatch, extra keys ignored)."""
    if tree is None:
        return None  # type: ignore[return-value]
    if isinstance(tree, NamedArray):
        if tree.array is None:
            return tree
        value = _lookup_array(state_dict, prefix, tuple(a.size for a in tree.axes), f"axes {tree.axes}")
        return auto_sharded(NamedArray(jnp.asarray(value), tree.axes))  # type: ignore[return-value]
    if isinstance(tree, eqx.Module):
        method: Callable[[StateDict, str | None], T] | None = getattr(tree, "from_state_dict", None)
        if callable(method):
            return method(state_dict, prefix)
        return default_eqx_module_from_state_dict(tree, state_dict, prefix)
    if isinstance(tree, (list, tuple)):
        items = [walk_from_state_dict(x, state_dict, with_prefix(prefix, str(i))) for i, x in enumerate(tree)]
        if isinstance(tree, list):
            return items  # type: ignore[return-value]
        if hasattr(tree, "_fields"):  # namedtuple
            return type(tree)(*items)  # type: ignore[return-value]
        return type(tree)(items)  # type: ignore[return-value]
    if isinstance(tree, Mapping):
        entries = {k: walk_from_state_dict(x, state_dict, with_prefix(prefix, str(k))) for k, x in tree.items()}
        return type(tree)(entries)  # type: ignore[call-arg]
    if is_array_like(tree):
        value = _lookup_array(state_dict, prefix, tuple(tree.shape), "an array")  # type: ignore[attr-defined]
        return jnp.asarray(value)  # type: ignore[return-value]
    if prefix is None:
        return tree
    return state_dict.get(prefix, tree)


# --------------------------------------------------------------------------------------------------
# module by module (export layout)


def map_modules(convert: Callable[..., Any], select: Callable[[Any], bool], tree: Any, *templates: Any) -> Any:
    """``convert(module, *template_modules)`` on every node of ``tree`` for which ``select`` holds (the
    templates are walked alongside), outermost first, then recursively inside each converted module.

    The walk is `haliax.tree_util.scan_aware_tree_map`, so modules inside a ``Stacked`` are seen one layer at
    a time.
    """

    def fn(m: Any, *tmpl: Any) -> Any:
        if not select(m):
            return m
        m = convert(m, *tmpl)

        def inner(x: Any) -> bool:
            return x is not m and all(x is not y for y in tmpl) and select(x)

        return scan_aware_tree_map(fn, m, *tmpl, is_leaf=inner)

    return scan_aware_tree_map(fn, tree, *templates, is_leaf=select)
