"""State dicts: flat ``{dotted.key: array}`` views of module trees, in PyTorch's layout, and safetensors I/O.

* `to_state_dict` / `from_state_dict` walk any tree of Equinox modules, lists, tuples, dicts, NamedArrays
  and arrays. Modules may customise their keys by subclassing `ModuleWithStateDictSerialization`.
* `flatten_modules_for_export` / `unflatten_modules_from_export` turn multi-axis layers into the 2-D
  (or 1-D) shapes other frameworks expect, and back.
* `to_torch_compatible_state_dict` / `from_torch_compatible_state_dict` combine the two.
* `save_state_dict` / `load_state_dict` write and read safetensors files.

Loading is **strict** by default: `from_state_dict`, every module's ``from_state_dict`` method,
`from_torch_compatible_state_dict` and `load_state_dict` (given a template) raise one
`StateDictMismatchError` naming every missing, unexpected and mis-shaped (or mis-typed) key. With
``strict=False`` they return ``(tree, LoadReport)`` instead. Only the outermost call checks (against
``to_state_dict(template)``, traced with `jax.eval_shape`); the calls modules make for their children are plain
walks, so custom modules need no changes. Files are written atomically (temp file, fsync, rename) and validated
when read (`StateDictFileError`). See ``docs/state_dict.md``.
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

from . import _state_dict_io as _io
from ._state_dict_io import KeyMismatch, LoadReport, StateDictFileError, StateDictMismatchError
from .core import NamedArray
from .jax_utils import sync_global_devices
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
    "LoadReport",
    "KeyMismatch",
    "StateDictMismatchError",
    "StateDictFileError",
]

StateDict = dict[str, Any]
"""A flat mapping from ``.``-joined keys to arrays (or Python scalars)."""

T = TypeVar("T")
Mod = TypeVar("Mod", bound=eqx.Module)


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


class ModuleWithStateDictSerialization(eqx.Module):
    """Base for modules that customise their state-dict keys or their export layout.

    Override any of:

    * `to_state_dict` / `from_state_dict` for full control;
    * `_state_dict_key_map` to rename fields (``{field: new_name}``) or splice a child's keys directly
      under the parent's prefix (``{field: None}``);
    * `flatten_for_export` / `unflatten_from_export` to change the exported shapes (identity by default).

    Examples:
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

    def from_state_dict(self, state_dict: StateDict, prefix: str | None = None, *, strict: bool = True) -> Any:
        """A copy of this module with values loaded from ``state_dict`` (default: field by field).

        Strict by default (see `from_state_dict`); ``strict=False`` returns ``(module, LoadReport)``. Subclasses
        override this with the signature ``(self, state_dict, prefix=None)``; the strict check is added to the
        override automatically (``__init_subclass__``) and only the outermost call checks.
        """
        return _io.checked_load(self, state_dict, prefix, strict, default_eqx_module_from_state_dict, _io.where(self))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        impl = cls.__dict__.get("from_state_dict")
        if callable(impl) and not getattr(impl, "_haliax_strict", False):
            cls.from_state_dict = _io.strict_method(impl)  # type: ignore[method-assign]

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
    km: Callable[[], Mapping[str, str | None]] | None = getattr(mod, "_state_dict_key_map", None)
    return km() if callable(km) else {}


def _field_key(mod: Any, name: str, prefix: str | None, key_map: Mapping[str, str | None]) -> str | None:
    if name in key_map:
        return with_prefix(prefix, key_map[name])
    return with_prefix(prefix, name)


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


def _replace_fields(mod: Mod, updates: Mapping[str, Any]) -> Mod:
    """A copy of ``mod`` with some fields replaced (the way Equinox itself rebuilds modules when
    unflattening, so custom ``__init__`` methods are not re-run)."""
    new = object.__new__(type(mod))
    for f in dataclasses.fields(mod):
        object.__setattr__(new, f.name, updates[f.name] if f.name in updates else getattr(mod, f.name))
    return new


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
        updates[f.name] = _walk_from_state_dict(getattr(mod, f.name), state_dict, field_key)
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

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import to_state_dict
        >>> mlp = hnn.MLP.init(hax.Axis("I", 2), hax.Axis("O", 2), width=4, depth=1, key=jax.random.PRNGKey(0))
        >>> sorted(to_state_dict(mlp))
        ['layers.0.bias', 'layers.0.weight', 'layers.1.bias', 'layers.1.weight']
    """
    if tree is None:
        return _io.none_entry(prefix)
    if isinstance(tree, NamedArray):
        if tree.array is None:
            return _io.none_entry(prefix)
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


def from_state_dict(tree: Any, state_dict: StateDict, prefix: str | None = None, *, strict: bool = True) -> Any:
    """A copy of ``tree`` (the template) with its arrays loaded from ``state_dict``; the mirror of
    `to_state_dict`.

    NamedArray leaves take ``state_dict[key]`` with the template's axes (NumPy values are put on device and
    sharded per the active axis mapping); plain array leaves become JAX arrays; None stays None; other
    leaves (e.g. Python bools) take ``state_dict.get(key, template_value)``.

    **Strict** (default): the dict must have exactly the template's array keys (``to_state_dict(template,
    prefix)``), with the same shapes and dtypes (compared after JAX's canonicalisation, so float64 NumPy
    values fit float32 leaves when x64 is off). Non-array leaves (e.g. Dropout's ``inference``) are optional.
    With a ``prefix``, only keys under it can be unexpected. A key for a field the template holds as None
    (e.g. ``bias`` of a bias-free Linear) is ignored, and the field stays None (PINNED reference behaviour).

    **Lenient** (``strict=False``): returns ``(tree, report)`` with a `LoadReport`; missing and mis-shaped keys
    keep the template's values (zeros for ShapeDtypeStruct leaves), dtype-only mismatches are cast to the
    template's dtype, unexpected keys are unused.

    Only the outermost call checks: a call made while another load is running (a module loading its
    children) is a plain walk and returns just the tree.

    Raises:
        StateDictMismatchError: (strict) listing every missing, unexpected and mismatched key with the expected
            shapes and dtypes. It subclasses both ``KeyError`` and ``ValueError``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.state_dict import from_state_dict
        >>> D = hax.Axis("D", 2)
        >>> from_state_dict({"w": hax.zeros(D)}, {"w": jnp.ones(2)})["w"].tolist()
        [1.0, 1.0]
        >>> tree, report = from_state_dict({"w": hax.zeros(D)}, {"v": jnp.ones(2)}, strict=False)
        >>> report.missing, report.unexpected
        (('w',), ('v',))
    """
    return _io.checked_load(tree, state_dict, prefix, strict, _walk_from_state_dict, "from_state_dict")


def _walk_from_state_dict(tree: T, state_dict: StateDict, prefix: str | None = None) -> T:
    """The lenient walk behind `from_state_dict` (KeyError on a missing array key, ValueError on a shape
    mismatch, extra keys ignored)."""
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
        items = [_walk_from_state_dict(x, state_dict, with_prefix(prefix, str(i))) for i, x in enumerate(tree)]
        if isinstance(tree, list):
            return items  # type: ignore[return-value]
        if hasattr(tree, "_fields"):  # namedtuple
            return type(tree)(*items)  # type: ignore[return-value]
        return type(tree)(items)  # type: ignore[return-value]
    if isinstance(tree, Mapping):
        entries = {k: _walk_from_state_dict(x, state_dict, with_prefix(prefix, str(k))) for k, x in tree.items()}
        return type(tree)(entries)  # type: ignore[call-arg]
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


def _map_serializable_modules(convert: Callable[..., Any], t: Any, *templates: Any) -> Any:
    """``convert(module, *template_modules)`` on every ModuleWithStateDictSerialization of ``t`` (the templates
    are walked alongside), outermost first, then recursively inside each converted module."""
    mapper = _tree_mapper()

    def fn(m: Any, *tmpl: Any) -> Any:
        if not _is_serializable_module(m):
            return m
        m = convert(m, *tmpl)

        def inner(x: Any) -> bool:
            return x is not m and all(x is not y for y in tmpl) and _is_serializable_module(x)

        return mapper(fn, m, *tmpl, is_leaf=inner)

    return mapper(fn, t, *templates, is_leaf=_is_serializable_module)


def flatten_modules_for_export(t: T) -> T:
    """Apply `ModuleWithStateDictSerialization.flatten_for_export` to every such module in ``t``
    (outermost first, then recursively inside each).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.state_dict import flatten_modules_for_export
        >>> D, E, O = hax.make_axes(D=2, E=3, O=4)
        >>> flat = flatten_modules_for_export(hnn.Linear.init((D, E), O, key=jax.random.PRNGKey(0)))
        >>> flat.weight.shape
        {'__OUT__': 4, '__IN__': 6}
    """
    return _map_serializable_modules(lambda m: m.flatten_for_export(), t)


def unflatten_modules_from_export(t: T, template: T) -> T:
    """Undo `flatten_modules_for_export`, using ``template`` (a tree in the original layout).

    Examples:
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
    return _map_serializable_modules(lambda m, tmpl: m.unflatten_from_export(tmpl), t, template)


# --------------------------------------------------------------------------------------------------
# torch-compatible and NumPy views


def to_numpy_state_dict(model: Any, prefix: str | None = None) -> StateDict:
    """`to_state_dict` with every array moved to host NumPy (sharded arrays are gathered).

    Examples:
        >>> import numpy as np
        >>> import haliax as hax
        >>> from haliax.state_dict import to_numpy_state_dict
        >>> isinstance(to_numpy_state_dict({"w": hax.zeros(hax.Axis("D", 2))})["w"], np.ndarray)
        True
    """
    return {k: _io.to_numpy(v) for k, v in to_state_dict(model, prefix).items()}


def to_torch_compatible_state_dict(
    t: Any,
    *,
    flatten: bool = True,
    prefix: str | None = None,
    filter: Callable[[Any], bool] = _is_array_like,  # noqa: A002 - reference-compatible name
) -> StateDict:
    """A PyTorch-style state dict of NumPy arrays: non-array leaves are dropped, multi-axis layers are
    flattened (`flatten_modules_for_export`), everything is moved to host.

    Examples:
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
    return {k: _io.to_numpy(v) for k, v in to_state_dict(t, prefix).items()}


def from_torch_compatible_state_dict(
    t: Any, state_dict: StateDict, *, unflatten: bool = True, prefix: str | None = None, strict: bool = True
) -> Any:
    """Load a state dict written by `to_torch_compatible_state_dict` (or PyTorch) into the template ``t``.

    ShapeDtypeStruct leaves of ``t`` are materialised as zeros first; with ``unflatten`` the template is
    flattened for loading and the result unflattened back to ``t``'s layout. ``strict`` works as in
    `from_state_dict` (shapes are checked in the flattened, exported layout); ``strict=False`` returns
    ``(tree, LoadReport)``.

    Examples:
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
        return from_state_dict(t, state_dict, prefix, strict=strict)
    flat = flatten_modules_for_export(t)
    loaded = from_state_dict(flat, state_dict, prefix, strict=strict)
    if strict:
        return unflatten_modules_from_export(loaded, t)
    return unflatten_modules_from_export(loaded[0], t), loaded[1]


# --------------------------------------------------------------------------------------------------
# safetensors


def save_state_dict(state_dict: StateDict, path: str, *, metadata: Mapping[str, str] | None = None) -> None:
    """Write a state dict to a safetensors file, atomically, from process 0 only, then wait for every process.

    The file is first written to a temporary file in the same folder, fsync'ed, and renamed over ``path``
    (then the folder is fsync'ed), so an interrupted save (exception, crash, kill) leaves any previous file at
    ``path`` intact. Header metadata is ``{"format": "pt"}`` (what PyTorch loaders expect) plus ``metadata``.

    None values and non-array values (e.g. Dropout's ``inference`` flag) are not written; arrays are moved
    to host NumPy (sharded arrays are gathered on every process) and written bit for bit, bfloat16 included.

    Examples:
        >>> import os, tempfile
        >>> import jax.numpy as jnp
        >>> from haliax.state_dict import load_state_dict, save_state_dict
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> save_state_dict({"w": jnp.ones(2, jnp.bfloat16), "flag": True}, path)
        >>> {k: str(v.dtype) for k, v in load_state_dict(path).items()}
        {'w': 'bfloat16'}
    """
    arrays = {}
    for k, v in state_dict.items():
        v = _io.to_numpy(v)
        if isinstance(v, (np.ndarray, np.generic)):
            arrays[k] = np.asarray(v, order="C")  # (np.ascontiguousarray would turn 0-d arrays into 1-d)
    error: Exception | None = None
    if jax.process_index() == 0:
        try:
            _io.atomic_write_safetensors(arrays, path, {"format": "pt", **(metadata or {})})
        except Exception as e:  # still reach the barrier, so other processes do not hang
            error = e
    sync_global_devices("save_state_dict")
    if error is not None:
        raise error


def load_state_dict(
    path: str, template: Any = None, *, prefix: str | None = None, strict: bool = True, unflatten: bool = True
) -> Any:
    """Read a safetensors file; with a ``template``, load it into the template too.

    Without a template, returns the file's dict of NumPy arrays (bfloat16 as ``ml_dtypes.bfloat16``). With
    one, returns ``from_torch_compatible_state_dict(template, sd, prefix=prefix, strict=strict,
    unflatten=unflatten)``: strict by default, ``(tree, LoadReport)`` when ``strict=False``. Use
    ``unflatten=False`` for files written from `to_state_dict` (not `to_torch_compatible_state_dict`) of
    models with multi-axis Linear or LayerNorm layers.

    The whole file is validated (header against file size) and read before anything is returned, so a
    truncated or corrupt file raises `StateDictFileError` and never yields a partial dict or module.

    Raises:
        StateDictFileError: not a complete, valid safetensors file.
        StateDictMismatchError: (strict, with a template) the file does not match the template.
        FileNotFoundError: no such file.

    Examples:
        >>> import os, tempfile
        >>> import numpy as np
        >>> import haliax as hax
        >>> from haliax.state_dict import load_state_dict, save_state_dict
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> save_state_dict({"w": np.arange(3)}, path)
        >>> load_state_dict(path)["w"].tolist()
        [0, 1, 2]
        >>> load_state_dict(path, {"w": hax.zeros(hax.Axis("D", 3), dtype=int)})["w"].tolist()
        [0, 1, 2]
    """
    sd = _io.read_safetensors(path)
    if template is None:
        return sd
    return from_torch_compatible_state_dict(template, sd, unflatten=unflatten, prefix=prefix, strict=strict)
