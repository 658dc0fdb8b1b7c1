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

This module is the public face. The walking lives in ``haliax._state_dict_walk``, the strict-load check in
``haliax._state_dict_check``, file I/O in ``haliax._safetensors_io``, and the report and error classes in
`haliax.state_dict_errors`; every public name is re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._safetensors_io import (
    atomic_write_safetensors,
    read_safetensors,
    tensor_checksums,
    to_numpy,
    unsupported_dtype,
)
from ._state_dict_check import check_state_dict_arg, checked_load, loader_name, strict_method
from ._state_dict_walk import (
    StateDict as StateDict,
    default_eqx_module_from_state_dict as default_eqx_module_from_state_dict,
    default_eqx_module_to_state_dict as default_eqx_module_to_state_dict,
    is_array_like,
    map_modules,
    replace_fields as replace_fields,  # for layers that rebuild themselves on load
    to_state_dict as to_state_dict,
    walk_from_state_dict,
    with_prefix as with_prefix,
)
from .core import NamedArray
from .jax_utils import sync_global_devices
from .state_dict_errors import (
    KeyMismatch as KeyMismatch,
    LoadReport as LoadReport,
    StateDictFileError as StateDictFileError,
    StateDictMismatchError as StateDictMismatchError,
    StateDictPathError as StateDictPathError,
)

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
    "StateDictPathError",
]

T = TypeVar("T")
Mod = TypeVar("Mod", bound=eqx.Module)


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
        return checked_load(self, state_dict, prefix, strict, default_eqx_module_from_state_dict, loader_name(self))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        impl = cls.__dict__.get("from_state_dict")
        if callable(impl) and not getattr(impl, "_haliax_strict", False):
            cls.from_state_dict = strict_method(impl)  # type: ignore[method-assign]

    def flatten_for_export(self: Mod) -> Mod:
        """This module in export layout (identity by default)."""
        return self

    def unflatten_from_export(self: Mod, template: Mod) -> Mod:
        """Undo `flatten_for_export`, using ``template`` for the original layout (identity by default)."""
        return self


def _is_serializable_module(x: Any) -> bool:
    return isinstance(x, ModuleWithStateDictSerialization)


def from_state_dict(tree: Any, state_dict: StateDict, prefix: str | None = None, *, strict: bool = True) -> Any:
    """A copy of ``tree`` (the template) with its arrays loaded from ``state_dict``; the mirror of
    `to_state_dict`.

    NamedArray leaves take ``state_dict[key]`` with the template's axes (NumPy values are put on device and
    sharded per the active axis mapping); plain array leaves become JAX arrays; None stays None; other
    leaves (e.g. Python bools) take ``state_dict.get(key, template_value)``. `NamedArray` values in
    ``state_dict`` count as their raw arrays (as in `save_state_dict`). A ``state_dict`` that is not a dict,
    has a non-``str`` key, or a ``prefix`` that is not a ``str`` is a ``TypeError`` naming the argument (Haliax
    fails with an ``AttributeError`` or a bare ``TypeError``).

    **Strict** (default): the dict must have exactly the template's array keys (``to_state_dict(template,
    prefix)``), with the same shapes and dtypes (compared after JAX's canonicalisation, so float64 NumPy
    values fit float32 leaves when x64 is off). Non-array leaves (e.g. Dropout's ``inference``) are optional.
    With a ``prefix``, only keys under it can be unexpected. A key for a field the template holds as None
    (e.g. ``bias`` of a bias-free Linear) is ignored, and the field stays None (as in Haliax).

    **Lenient** (``strict=False``): returns ``(tree, report)`` with a `LoadReport`; missing and mis-shaped keys
    keep the template's values (zeros for ShapeDtypeStruct leaves), dtype-only mismatches are cast to the
    template's dtype, unexpected keys are unused.

    Only the outermost call checks: a call made while another load is running (a module loading its
    children) is a plain walk and returns just the tree.

    Args:
        tree: the template: a module or pytree with the target structure, axes and dtypes.
        state_dict: the flat dict of arrays to load.
        prefix: the key prefix of the template's entries (None: no prefix).
        strict: require an exact match (see above); False returns ``(tree, LoadReport)``.

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
    return checked_load(tree, state_dict, prefix, strict, walk_from_state_dict, "from_state_dict")


# --------------------------------------------------------------------------------------------------
# export layout


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
    return map_modules(lambda m: m.flatten_for_export(), _is_serializable_module, t)


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
    return map_modules(lambda m, tmpl: m.unflatten_from_export(tmpl), _is_serializable_module, t, template)


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
    return {k: to_numpy(v) for k, v in to_state_dict(model, prefix).items()}


def to_torch_compatible_state_dict(
    t: Any,
    *,
    flatten: bool = True,
    prefix: str | None = None,
    filter: Callable[[Any], bool] = is_array_like,  # noqa: A002 - Haliax's parameter name
) -> StateDict:
    """A PyTorch-style state dict of NumPy arrays: non-array leaves are dropped, multi-axis layers are
    flattened (`flatten_modules_for_export`), everything is moved to host.

    Args:
        t: the module or pytree to export.
        flatten: flatten multi-axis layers to PyTorch's 2-D layout first.
        prefix: a prefix for every key (None: no prefix).
        filter: a predicate on leaves choosing which are exported (default: arrays).

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
    return {k: to_numpy(v) for k, v in to_state_dict(t, prefix).items()}


def from_torch_compatible_state_dict(
    t: Any, state_dict: StateDict, *, unflatten: bool = True, prefix: str | None = None, strict: bool = True
) -> Any:
    """Load a state dict written by `to_torch_compatible_state_dict` (or PyTorch) into the template ``t``.

    ShapeDtypeStruct leaves of ``t`` are materialised as zeros first; with ``unflatten`` the template is
    flattened for loading and the result unflattened back to ``t``'s layout. ``strict`` works as in
    `from_state_dict` (shapes are checked in the flattened, exported layout); ``strict=False`` returns
    ``(tree, LoadReport)``.

    Args:
        t: the template module or pytree.
        state_dict: the flat dict of arrays to load.
        unflatten: the state dict uses the flattened, exported layout (see `to_torch_compatible_state_dict`).
        prefix: the key prefix of the template's entries (None: no prefix).
        strict: require an exact match; False returns ``(tree, LoadReport)``.

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

    state_dict = check_state_dict_arg(t, state_dict, "from_torch_compatible_state_dict", prefix)
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
    A `NamedArray` value is stored as its raw array (in its own axis order). The header also records a CRC-32
    of every tensor's bytes (entry ``"haliax.crc32"``), which `load_state_dict` verifies.

    Haliax lets safetensors' or the operating system's errors through for bad arguments (a NamedArray value,
    a non-string key, a missing folder reported under a temporary file's name); we accept NamedArrays, raise
    ``TypeError`` naming a bad key or value, and raise `StateDictPathError` naming ``path``.

    Raises:
        TypeError: ``state_dict`` is not a dict, a key is not a str, a value has a dtype safetensors cannot
            store, or ``metadata`` is not str to str.
        StateDictPathError: ``path`` is a directory, its folder does not exist, or it cannot be written.

    Examples:
        >>> import os, tempfile
        >>> import jax.numpy as jnp
        >>> from haliax.state_dict import load_state_dict, save_state_dict
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> save_state_dict({"w": jnp.ones(2, jnp.bfloat16), "flag": True}, path)
        >>> {k: str(v.dtype) for k, v in load_state_dict(path).items()}
        {'w': 'bfloat16'}
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"save_state_dict: argument 'path' must be a str or os.PathLike, got {type(path).__name__}")
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"save_state_dict: argument 'state_dict' must be a dict of arrays keyed by dotted names, got "
            f"{type(state_dict).__name__}; for a module, pass to_torch_compatible_state_dict(model)"
        )
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                f"save_state_dict: argument 'metadata': safetensors metadata maps str to str, got {k!r}: {v!r}; "
                "convert the values with str() or json.dumps()"
            )
    arrays = {}
    for k, v in state_dict.items():
        if not isinstance(k, str):
            raise TypeError(
                f"save_state_dict: argument 'state_dict': key {k!r} is a {type(k).__name__}, but keys must be "
                f"str (dotted names such as 'fc.weight'); use {{str(k): v for k, v in state_dict.items()}}"
            )
        if isinstance(v, NamedArray):
            v = v.array  # stored as its raw array, in the NamedArray's axis order
        v = to_numpy(v)
        if isinstance(v, (np.ndarray, np.generic)):
            why = unsupported_dtype(v.dtype)
            if why is not None:
                raise TypeError(
                    f"save_state_dict: argument 'state_dict': value of key {k!r} has dtype {v.dtype}, which "
                    f"safetensors cannot store ({why}); cast it first, e.g. v.astype(jnp.float32)"
                )
            arrays[k] = np.asarray(v, order="C")  # (np.ascontiguousarray would turn 0-d arrays into 1-d)
    error: Exception | None = None
    if jax.process_index() == 0:
        try:
            header = {"format": "pt", **(metadata or {}), **tensor_checksums(arrays)}
            atomic_write_safetensors(arrays, path, header)
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
    truncated or corrupt file raises `StateDictFileError` and never yields a partial dict or module. Files
    written by `save_state_dict` carry a CRC-32 per tensor, checked here: a tensor whose bytes changed (one
    flipped bit) raises `StateDictFileError` naming the file and the tensor. Files without checksums (written
    by other tools) load unchecked. Haliax has no checksums, and lets the operating system's error through for
    a directory; we raise `StateDictPathError` (a ``ValueError`` and ``OSError``) naming the path.

    Args:
        path: the safetensors file.
        template: an optional template to load the arrays into.
        prefix: the key prefix of the template's entries (None: no prefix).
        strict: with a template: require an exact match; False returns ``(tree, LoadReport)``.
        unflatten: with a template: the file uses the flattened, exported layout.

    Raises:
        StateDictFileError: not a complete, valid safetensors file, or a tensor fails its checksum.
        StateDictPathError: ``path`` is a directory.
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
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_state_dict: argument 'path' must be a str or os.PathLike, got {type(path).__name__}")
    sd = read_safetensors(path)
    if template is None:
        return sd
    return from_torch_compatible_state_dict(template, sd, unflatten=unflatten, prefix=prefix, strict=strict)
