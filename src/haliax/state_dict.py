"""State dicts: flat ``{dotted.key: array}`` views of module trees, in PyTorch's layout, and safetensors I/O.

* `to_state_dict` / `from_state_dict` walk any tree of Equinox modules, lists, tuples, dicts, NamedArrays
  and arrays. Modules may customise their keys by subclassing `ModuleWithStateDictSerialization`.
* `flatten_modules_for_export` / `unflatten_modules_from_export` turn multi-axis layers into the 2-D
  (or 1-D) shapes other frameworks expect, and back.
* `to_torch_compatible_state_dict` / `from_torch_compatible_state_dict` combine the two.
* `save_state_dict` / `load_state_dict` write and read safetensors files.

Loading is lenient about extra keys in the dict (they are ignored) and strict about missing array keys
(``KeyError``) and shape mismatches (``ValueError``). The walkers are plain functions of
``(tree, state_dict, prefix)``, so stricter policies (e.g. rejecting unused keys) can be layered on top by
comparing ``to_state_dict(template).keys()`` with the dict's keys.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .core import NamedArray
from .partitioning import auto_sharded

__all__ = [
    "StateDict",
    "ModuleWithStateDictSerialization",
    "with_prefix",
    "to_state_dict",
    "from_state_dict",
    "default_eqx_module_to_state_dict",
    "default_eqx_module_from_state_dict",
    "flatten_modules_for_export",
    "unflatten_modules_from_export",
    "to_torch_compatible_state_dict",
    "from_torch_compatible_state_dict",
    "to_numpy_state_dict",
    "save_state_dict",
    "load_state_dict",
]

StateDict = dict[str, Any]
"""A flat mapping from ``.``-joined keys to arrays (or Python scalars)."""

T = TypeVar("T")
Mod = TypeVar("Mod", bound=eqx.Module)


def with_prefix(prefix: str | None, leaf: str | None) -> str | None:
    """Join two optional key parts with ``.`` (None-aware).

    Example:
        >>> from haliax.state_dict import with_prefix
        >>> with_prefix("encoder", "weight"), with_prefix(None, "weight"), with_prefix("encoder", None)
        ('encoder.weight', 'weight', 'encoder')
    """
    if prefix is None:
        return leaf
    if leaf is None:
        return prefix
    return f"{prefix}.{leaf}"


class ModuleWithStateDictSerialization(eqx.Module):
    """Base for modules that customise their state-dict keys or their export layout.

    Override any of:

    * `to_state_dict` / `from_state_dict` for full control;
    * `_state_dict_key_map` to rename fields (``{field: new_name}``) or splice a child's keys directly
      under the parent's prefix (``{field: None}``);
    * `flatten_for_export` / `unflatten_from_export` to change the exported shapes (identity by default).

    Example:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.state_dict import ModuleWithStateDictSerialization, to_state_dict
        >>> class Block(ModuleWithStateDictSerialization):
        ...     w: hax.NamedArray
        ...     def _state_dict_key_map(self):
        ...         return {"w": "kernel"}
        >>> list(to_state_dict(Block(hax.zeros(hax.Axis("D", 2))), "blk"))
        ['blk.kernel']
    """

    def _state_dict_key_map(self) -> dict[str, str | None]:
        """``{field_name: key}``: rename a field's key, or None to splice its keys into the parent's."""
        return {}

    def to_state_dict(self, prefix: str | None = None) -> StateDict:
        """This module's state dict (default: field by field, honouring `_state_dict_key_map`)."""
        return default_eqx_module_to_state_dict(self, prefix)

    def from_state_dict(self: Mod, state_dict: StateDict, prefix: str | None = None) -> Mod:
        """A copy of this module with values loaded from ``state_dict`` (default: field by field)."""
        return default_eqx_module_from_state_dict(self, state_dict, prefix)

    def flatten_for_export(self: Mod) -> Mod:
        """This module in export layout (identity by default)."""
        return self

    def unflatten_from_export(self: Mod, template: Mod) -> Mod:
        """Undo `flatten_for_export`, using ``template`` for the original layout (identity by default)."""
        return self


# --------------------------------------------------------------------------------------------------
# walking


def _dynamic_fields(mod: eqx.Module) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(mod) if not f.metadata.get("static", False)]


def _key_map(mod: Any) -> Mapping[str, str | None]:
    km = getattr(mod, "_state_dict_key_map", None)
    return km() if callable(km) else {}


def _field_key(mod: Any, name: str, prefix: str | None, key_map: Mapping[str, str | None]) -> str | None:
    if name in key_map:
        return with_prefix(prefix, key_map[name])
    return with_prefix(prefix, name)


def default_eqx_module_to_state_dict(mod: eqx.Module, prefix: str | None = None) -> StateDict:
    """State dict of an Equinox module: every non-static field under ``prefix.field`` (key map applied).

    Example:
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


def _replace_fields(mod: Mod, updates: Mapping[str, Any]) -> Mod:
    """A copy of ``mod`` with some fields replaced (the way Equinox itself rebuilds modules when
    unflattening, so custom ``__init__`` methods are not re-run)."""
    new = object.__new__(type(mod))
    for f in dataclasses.fields(mod):
        object.__setattr__(new, f.name, updates[f.name] if f.name in updates else getattr(mod, f.name))
    return new


def default_eqx_module_from_state_dict(mod: Mod, state_dict: StateDict, prefix: str | None = None) -> Mod:
    """Load every non-static field of ``mod`` from ``state_dict`` (key map applied); fields that are None
    stay None.

    Example:
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
        updates[f.name] = from_state_dict(getattr(mod, f.name), state_dict, _field_key(mod, f.name, prefix, key_map))
    return _replace_fields(mod, updates)


def _is_array_like(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _need_prefix(prefix: str | None, x: Any) -> str:
    if prefix is None:
        raise ValueError(f"to_state_dict: a leaf of type {type(x).__name__} needs a key, but the prefix is None")
    return prefix


def to_state_dict(tree: Any, prefix: str | None = None) -> StateDict:
    """Flatten a tree into a state dict with ``.``-joined keys.

    * None → ``{}``; a module with a ``to_state_dict`` method → that method; other Equinox modules → their
      non-static fields;
    * lists **and tuples** → ``prefix.0``, ``prefix.1``, ... (the reference rejected tuples, so e.g. an
      `haliax.nn.MLP` could not be exported; here it exports as ``layers.{i}.weight``);
    * dicts → ``prefix.key``;
    * NamedArray → its raw array (axes dropped; skipped if the array is None); arrays → themselves;
      Python scalars → themselves; functions (e.g. a custom ``dot_general``) carry no state and are skipped.

    Raises:
        ValueError: for a leaf with no key (prefix None) or an unsupported type.

    Example:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import to_state_dict
        >>> mlp = hnn.MLP.init(hax.Axis("I", 2), hax.Axis("O", 2), width=4, depth=1, key=jax.random.PRNGKey(0))
        >>> sorted(to_state_dict(mlp))
        ['layers.0.bias', 'layers.0.weight', 'layers.1.bias', 'layers.1.weight']
    """
    if tree is None:
        return {}
    if isinstance(tree, NamedArray):
        if tree.array is None:
            return {}
        return {_need_prefix(prefix, tree): tree.array}
    if isinstance(tree, eqx.Module):
        method = getattr(tree, "to_state_dict", None)
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
    if _is_array_like(tree) or isinstance(tree, (bool, int, float, complex)):
        return {_need_prefix(prefix, tree): tree}
    if callable(tree):
        return {}
    raise ValueError(f"to_state_dict: Unsupported type {type(tree)} at key {prefix!r}")


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


def from_state_dict(tree: T, state_dict: StateDict, prefix: str | None = None) -> T:
    """A copy of ``tree`` (the template) with its arrays loaded from ``state_dict``; the mirror of
    `to_state_dict`.

    NamedArray leaves take ``state_dict[key]`` with the template's axes (NumPy values are put on device and
    sharded per the active axis mapping); plain array leaves become JAX arrays; None stays None; other
    leaves (e.g. Python bools) take ``state_dict.get(key, template_value)``. Keys not used are ignored.

    Raises:
        KeyError: an array key is missing.
        ValueError: an array has the wrong shape.

    Example:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.state_dict import from_state_dict
        >>> D = hax.Axis("D", 2)
        >>> from_state_dict({"w": hax.zeros(D)}, {"w": jnp.ones(2)})["w"].tolist()
        [1.0, 1.0]
    """
    if tree is None:
        return None  # type: ignore[return-value]
    if isinstance(tree, NamedArray):
        if tree.array is None:
            return tree
        value = _lookup_array(state_dict, prefix, tuple(a.size for a in tree.axes), f"axes {tree.axes}")
        return auto_sharded(NamedArray(jnp.asarray(value), tree.axes))  # type: ignore[return-value]
    if isinstance(tree, eqx.Module):
        method = getattr(tree, "from_state_dict", None)
        if callable(method):
            return method(state_dict, prefix)
        return default_eqx_module_from_state_dict(tree, state_dict, prefix)
    if isinstance(tree, (list, tuple)):
        items = [from_state_dict(x, state_dict, with_prefix(prefix, str(i))) for i, x in enumerate(tree)]
        if isinstance(tree, list):
            return items  # type: ignore[return-value]
        if hasattr(tree, "_fields"):  # namedtuple
            return type(tree)(*items)  # type: ignore[return-value]
        return type(tree)(items)  # type: ignore[return-value]
    if isinstance(tree, Mapping):
        return type(tree)(  # type: ignore[call-arg]
            {k: from_state_dict(x, state_dict, with_prefix(prefix, str(k))) for k, x in tree.items()}
        )
    if _is_array_like(tree):
        value = _lookup_array(state_dict, prefix, tuple(tree.shape), "an array")  # type: ignore[attr-defined]
        return jnp.asarray(value)  # type: ignore[return-value]
    if prefix is None:
        return tree
    return state_dict.get(prefix, tree)


# --------------------------------------------------------------------------------------------------
# export layout


def _is_serializable_module(x: Any) -> bool:
    return isinstance(x, ModuleWithStateDictSerialization)


def _tree_mapper() -> Callable[..., Any]:
    """`haliax.tree_util.scan_aware_tree_map` when available (so modules inside a ``Stacked`` are seen one
    layer at a time), else `jax.tree.map` with NamedArrays as leaves."""
    from . import tree_util

    fn = getattr(tree_util, "scan_aware_tree_map", None)
    if fn is not None:
        return fn

    def plain(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
        def leaf(x: Any) -> bool:
            return isinstance(x, NamedArray) or (is_leaf is not None and is_leaf(x))

        return jax.tree.map(f, tree, *rest, is_leaf=leaf)

    return plain


def flatten_modules_for_export(t: T) -> T:
    """Apply `ModuleWithStateDictSerialization.flatten_for_export` to every such module in ``t``
    (outermost first, then recursively inside each).

    Example:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import flatten_modules_for_export
        >>> D, E, O = hax.make_axes(D=2, E=3, O=4)
        >>> flat = flatten_modules_for_export(hnn.Linear.init((D, E), O, key=jax.random.PRNGKey(0)))
        >>> flat.weight.shape
        {'__OUT__': 4, '__IN__': 6}
    """
    mapper = _tree_mapper()

    def fn(m: Any) -> Any:
        if not _is_serializable_module(m):
            return m
        m = m.flatten_for_export()
        return mapper(fn, m, is_leaf=lambda x: x is not m and _is_serializable_module(x))

    return mapper(fn, t, is_leaf=_is_serializable_module)


def unflatten_modules_from_export(t: T, template: T) -> T:
    """Undo `flatten_modules_for_export`, using ``template`` (a tree in the original layout).

    Example:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import flatten_modules_for_export, unflatten_modules_from_export
        >>> D, E, O = hax.make_axes(D=2, E=3, O=4)
        >>> lin = hnn.Linear.init((D, E), O, key=jax.random.PRNGKey(0))
        >>> back = unflatten_modules_from_export(flatten_modules_for_export(lin), lin)
        >>> back.weight.axes == lin.weight.axes
        True
    """
    mapper = _tree_mapper()

    def fn(m: Any, tmpl: Any) -> Any:
        if not _is_serializable_module(m):
            return m
        m = m.unflatten_from_export(tmpl)
        return mapper(fn, m, tmpl, is_leaf=lambda x: x is not m and x is not tmpl and _is_serializable_module(x))

    return mapper(fn, t, template, is_leaf=_is_serializable_module)


# --------------------------------------------------------------------------------------------------
# torch-compatible and NumPy views


def _to_numpy(x: Any) -> Any:
    if isinstance(x, jax.Array):
        if not x.is_fully_addressable:
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(jax.device_get(x))
    if _is_array_like(x) and not isinstance(x, jax.ShapeDtypeStruct):
        return np.asarray(x)
    return x


def to_numpy_state_dict(model: Any, prefix: str | None = None) -> StateDict:
    """`to_state_dict` with every array moved to host NumPy (sharded arrays are gathered).

    Example:
        >>> import numpy as np
        >>> import haliax as hax
        >>> from haliax.state_dict import to_numpy_state_dict
        >>> isinstance(to_numpy_state_dict({"w": hax.zeros(hax.Axis("D", 2))})["w"], np.ndarray)
        True
    """
    return {k: _to_numpy(v) for k, v in to_state_dict(model, prefix).items()}


def to_torch_compatible_state_dict(
    t: Any,
    *,
    flatten: bool = True,
    prefix: str | None = None,
    filter: Callable[[Any], bool] = _is_array_like,  # noqa: A002 - reference-compatible name
) -> StateDict:
    """A PyTorch-style state dict of NumPy arrays: non-array leaves are dropped, multi-axis layers are
    flattened (`flatten_modules_for_export`), everything is moved to host.

    Example:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import to_torch_compatible_state_dict
        >>> D, E, O = hax.make_axes(D=2, E=3, O=4)
        >>> sd = to_torch_compatible_state_dict(hnn.Linear.init((D, E), O, key=jax.random.PRNGKey(0)))
        >>> sd["weight"].shape, sd["bias"].shape
        ((4, 6), (4,))
    """
    t = eqx.filter(t, filter)
    if flatten:
        t = flatten_modules_for_export(t)
    return {k: _to_numpy(v) for k, v in to_state_dict(t, prefix).items()}


def from_torch_compatible_state_dict(
    t: T, state_dict: StateDict, *, unflatten: bool = True, prefix: str | None = None
) -> T:
    """Load a state dict written by `to_torch_compatible_state_dict` (or PyTorch) into the template ``t``.

    ShapeDtypeStruct leaves of ``t`` are materialised as zeros first; with ``unflatten`` the template is
    flattened for loading and the result unflattened back to ``t``'s layout.

    Example:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import from_torch_compatible_state_dict, to_torch_compatible_state_dict
        >>> D, E, O = hax.make_axes(D=2, E=3, O=4)
        >>> lin = hnn.Linear.init((D, E), O, key=jax.random.PRNGKey(0))
        >>> back = from_torch_compatible_state_dict(lin, to_torch_compatible_state_dict(lin))
        >>> bool((back.weight == lin.weight).all().item())
        True
    """

    def materialise(x: Any) -> Any:
        if isinstance(x, jax.ShapeDtypeStruct):
            return jnp.zeros(x.shape, x.dtype)
        return x

    t = jax.tree.map(materialise, t)
    if not unflatten:
        return from_state_dict(t, state_dict, prefix)
    flat = flatten_modules_for_export(t)
    loaded = from_state_dict(flat, state_dict, prefix)
    return unflatten_modules_from_export(loaded, t)


# --------------------------------------------------------------------------------------------------
# safetensors


def save_state_dict(state_dict: StateDict, path: str) -> None:
    """Write a state dict to a safetensors file (metadata ``{"format": "pt"}``), from process 0 only,
    then wait for every process.

    None values and non-array values (e.g. Dropout's ``inference`` flag) are not written; arrays are moved
    to host NumPy (sharded arrays are gathered).

    Example:
        >>> import os, tempfile
        >>> import jax.numpy as jnp
        >>> from haliax.state_dict import load_state_dict, save_state_dict
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> save_state_dict({"w": jnp.ones(2), "flag": True}, path)
        >>> list(load_state_dict(path))
        ['w']
    """
    try:
        import safetensors.numpy
    except ImportError as e:  # pragma: no cover - safetensors is a hard dependency
        raise ImportError("save_state_dict requires the safetensors package") from e
    arrays = {}
    for k, v in state_dict.items():
        v = _to_numpy(v)
        if isinstance(v, (np.ndarray, np.generic)):
            arrays[k] = np.ascontiguousarray(v)
    if jax.process_index() == 0:
        safetensors.numpy.save_file(arrays, path, metadata={"format": "pt"})
    _barrier("save_state_dict")


def load_state_dict(path: str) -> StateDict:
    """Read a safetensors file into a dict of NumPy arrays.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from haliax.state_dict import load_state_dict, save_state_dict
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> save_state_dict({"w": np.arange(3)}, path)
        >>> load_state_dict(path)["w"].tolist()
        [0, 1, 2]
    """
    try:
        import safetensors.numpy
    except ImportError as e:  # pragma: no cover
        raise ImportError("load_state_dict requires the safetensors package") from e
    return dict(safetensors.numpy.load_file(path))


def _barrier(name: str) -> None:
    if jax.process_count() > 1:  # pragma: no cover - multi-host only
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)
