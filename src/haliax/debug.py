"""Debug helpers: find common mistakes in modules, describe arrays, and show how arrays are sharded."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from collections.abc import Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .axis import Axis
from .core import NamedArray
from .partitioning import current_mesh

__all__ = [
    "diagnose_common_issues",
    "ModuleProblems",
    "describe_array",
    "visualize_shardings",
    "visualize_named_sharding",
]


class ModuleProblems(Exception):
    """The problems `diagnose_common_issues` found in a module.

    Attributes:
        reused_arrays: one ``(array, paths)`` pair per array object that appears more than once: the leaf at its
            first occurrence and the `jax.tree_util.keystr` path of every place it appears, in tree-flatten
            order (``[".m.a", ".m.b", ".c"]``).
        static_arrays: paths of static fields that contain arrays or NamedArrays, in the same style (``".m.b"``).

    Examples:
        >>> from haliax.debug import ModuleProblems
        >>> p = ModuleProblems()
        >>> bool(p), p.static_arrays
        (False, [])
    """

    def __init__(self) -> None:
        super().__init__()
        self.reused_arrays: list[tuple[Any, list[str]]] = []
        self.static_arrays: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.reused_arrays or self.static_arrays)

    def __str__(self) -> str:
        if not self:
            return "No problems found."
        lines = ["Found some problems with your module:"]
        for _, paths in self.reused_arrays:
            lines.append(
                f"  The same array object appears in several places: {', '.join(paths)}. Each place is a separate "
                "parameter to JAX, so tied weights will silently untie after an update. Store it once (and reuse the "
                "module), or copy it."
            )
        for path in self.static_arrays:
            lines.append(
                f"  Static field {path} contains an array. Static fields are part of the tree structure: arrays there "
                "are not trained, break jit caching (arrays are not hashable) and may be baked into compiled code. "
                "Make the field non-static."
            )
        return "\n".join(lines)


def _is_array(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, NamedArray))


def _check_reused_arrays(problems: ModuleProblems, module: Any) -> None:
    # Keyed by the raw array's identity, so two NamedArray wrappers around one raw array count as reuse too
    # (Haliax only compares the leaves themselves).
    seen: dict[int, tuple[Any, list[str]]] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(module, is_leaf=lambda x: isinstance(x, NamedArray))[0]:
        raw = leaf.array if isinstance(leaf, NamedArray) else leaf
        if isinstance(raw, (jax.Array, np.ndarray)):
            seen.setdefault(id(raw), (leaf, []))[1].append(jax.tree_util.keystr(path))
    problems.reused_arrays.extend((leaf, paths) for leaf, paths in seen.values() if len(paths) > 1)


def _contains_array(x: Any) -> bool:
    return any(_is_array(leaf) for leaf in jax.tree_util.tree_leaves(x, is_leaf=_is_array))


def _check_static_arrays(problems: ModuleProblems, obj: Any, path: str) -> None:
    if isinstance(obj, eqx.Module):
        for f in dataclasses.fields(obj):
            try:
                value = getattr(obj, f.name)
            except AttributeError:  # pragma: no cover - uninitialised field
                continue
            sub = f"{path}.{f.name}"
            if f.metadata.get("static", False):
                if _contains_array(value):
                    problems.static_arrays.append(sub)
            else:
                _check_static_arrays(problems, value, sub)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_static_arrays(problems, v, f"{path}[{i}]")
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            _check_static_arrays(problems, v, f"{path}[{k!r}]")


def diagnose_common_issues(module: Any) -> None:
    """Check a module for common mistakes and raise `ModuleProblems` listing them; return None if there are none.

    Detected: the same array object stored in several places (tied weights that JAX will treat as separate
    parameters), and arrays or NamedArrays stored in static fields. Paths are `jax.tree_util.keystr` strings
    (``".m.a"``, ``"[0]"``, ``"['k']"``). Lists, tuples and dicts are walked, also when looking for static
    fields: ``".xs[0].w"`` (Haliax's static-field walk crashes on a module holding a list or dict of arrays).

    Examples:
        >>> import equinox as eqx
        >>> import haliax as hax
        >>> from haliax.debug import diagnose_common_issues, ModuleProblems
        >>> class Tied(eqx.Module):
        ...     a: hax.NamedArray
        ...     b: hax.NamedArray
        >>> w = hax.zeros(hax.Axis("X", 2))
        >>> diagnose_common_issues(Tied(w, hax.zeros(hax.Axis("X", 2)))) is None
        True
        >>> try:
        ...     diagnose_common_issues(Tied(w, w))
        ... except ModuleProblems as e:
        ...     print([paths for _, paths in e.reused_arrays])
        [['.a', '.b']]
    """
    problems = ModuleProblems()
    _check_reused_arrays(problems, module)
    _check_static_arrays(problems, module, "")
    if problems:
        raise problems


def describe_array(arr: Any) -> str:
    """A one-line description of an array: axes (or shape), dtype, sharding, and for concrete arrays the
    min/max/mean/std and the number of NaNs.

    ``arr`` is a NamedArray or anything with a ``shape`` and a ``dtype`` (JAX and NumPy arrays, tracers); another
    value (a string, a list, a Python number) raises ``TypeError`` rather than a description of nothing.

    Examples:
        >>> import haliax as hax
        >>> from haliax.debug import describe_array
        >>> describe_array(hax.arange(hax.Axis("X", 3)) * 1.0)
        'NamedArray(axes=(X(3)), dtype=float32, min=0, max=2, mean=1, std=0.8165, nan=0)'
    """
    if isinstance(arr, NamedArray):
        head = f"NamedArray(axes=({', '.join(str(a) for a in arr.axes)}), dtype={arr.dtype}"
        raw = arr.array
    else:
        if not (hasattr(arr, "shape") and hasattr(arr, "dtype")):
            raise TypeError(
                f"describe_array: argument 'arr' must be a NamedArray or an array (with a shape and a dtype), got "
                f"{type(arr).__name__} {arr!r:.60}; wrap a Python value with jnp.asarray first"
            )
        raw = arr
        head = f"{type(arr).__name__}(shape={tuple(getattr(arr, 'shape', ()))}, dtype={getattr(arr, 'dtype', None)}"
    parts = [head]
    sharding = getattr(raw, "sharding", None) if isinstance(raw, jax.Array) else None
    if sharding is not None and not isinstance(sharding, jax.sharding.SingleDeviceSharding):
        parts.append(f"sharding={sharding}")
    if isinstance(raw, Tracer) or not hasattr(raw, "dtype"):
        return ", ".join(parts) + ")"
    numeric = jnp.issubdtype(raw.dtype, jnp.integer) or jnp.issubdtype(raw.dtype, jnp.floating) or raw.dtype == bool
    if getattr(raw, "size", 0) > 0 and numeric:
        x = np.asarray(raw).astype(np.float64)
        if np.isnan(x).all():
            return ", ".join(parts) + f", nan={x.size})"
        parts.append(
            f"min={np.nanmin(x):.4g}, max={np.nanmax(x):.4g}, mean={np.nanmean(x):.4g}, std={np.nanstd(x):.4g}, "
            f"nan={int(np.isnan(x).sum())}"
        )
    return ", ".join(parts) + ")"


# --------------------------------------------------------------------------------------------------
# sharding visualisation


def _rich_available() -> bool:
    """Whether `rich` (needed by `jax.debug.visualize_sharding` to draw its grid) can be imported."""
    return importlib.util.find_spec("rich") is not None


def _try_draw_grid(shape: Sequence[int], sharding: Any) -> bool:
    """Draw JAX's device grid for an array of ``shape``; return whether it was drawn.

    JAX draws only 1-D and 2-D shapes and needs `rich`; any failure just means no grid.
    """
    if not _rich_available():
        return False
    try:
        jax.debug.visualize_sharding(tuple(shape), sharding)
    except Exception:  # noqa: BLE001 - the grid is a best-effort extra; the text line is the contract
        return False
    return True


def _recover_spec(sharding: Any, shape: tuple[int, ...], mesh: Any) -> tuple[Any, ...] | None:
    """The PartitionSpec entries of a sharding that has no ``spec`` (the compiler's `GSPMDSharding`), or None.

    Inside jit the compiler may report a sharding without mesh axis names. The devices are laid out on ``mesh``
    in the order of the computation's device assignment (the order JAX itself uses); moving one step along a mesh
    axis shows which array dimension that axis splits, and with which stride. The result is checked with
    ``is_equivalent_to``.
    """
    if mesh is None:
        return None
    names, sizes = tuple(mesh.axis_names), tuple(mesh.axis_sizes)
    try:
        index_map = sharding.devices_indices_map(shape)
    except Exception:  # noqa: BLE001 - a sharding we cannot query has no recoverable spec
        return None
    devices = list(index_map)
    if len(devices) != math.prod(sizes):
        return None
    grid = np.empty(len(devices), dtype=object)
    grid[:] = devices
    grid = grid.reshape(sizes)

    def start(device: Any, dim: int) -> int:
        return index_map[device][dim].start or 0

    base = grid[(0,) * len(sizes)]
    per_dim: list[list[tuple[int, str]]] = [[] for _ in shape]
    for i, (name, size) in enumerate(zip(names, sizes, strict=True)):
        if size == 1:
            continue
        step = grid[tuple(1 if j == i else 0 for j in range(len(sizes)))]
        moved = [(d, start(step, d) - start(base, d)) for d in range(len(shape)) if start(step, d) != start(base, d)]
        if len(moved) > 1:
            return None
        if moved:
            dim, stride = moved[0]
            per_dim[dim].append((stride, name))
    entries = tuple(
        None if not e else e[0][1] if len(e) == 1 else tuple(n for _, n in sorted(e, reverse=True)) for e in per_dim
    )
    try:
        same = sharding.is_equivalent_to(NamedSharding(Mesh(grid, names), PartitionSpec(*entries)), len(shape))
    except Exception:  # noqa: BLE001 - an inconsistent guess is simply not used
        return None
    return entries if same else None


def _split_dims(sharding: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """``"sharded"`` for each dimension some device holds only part of, else None."""
    try:
        slices = list(sharding.devices_indices_map(shape).values())
    except Exception:  # noqa: BLE001 - nothing known about the layout
        return (None,) * len(shape)
    return tuple(
        "sharded" if any((s[d].start or 0) != 0 or s[d].stop not in (None, n) for s in slices) else None
        for d, n in enumerate(shape)
    )


def _spec_entries(axes: Sequence[Axis], sharding: Any, mesh: Any) -> tuple[Any, ...]:
    spec = getattr(sharding, "spec", None)
    shape = tuple(ax.size for ax in axes)
    if spec is not None:
        entries = tuple(spec)
    elif sharding is None or getattr(sharding, "is_fully_replicated", False):
        entries = ()
    else:
        recovered = _recover_spec(sharding, shape, mesh)
        entries = recovered if recovered is not None else _split_dims(sharding, shape)
    return (entries + (None,) * len(axes))[: len(axes)]


def _spec_part(entry: Any) -> str | None:
    """The text of one PartitionSpec entry, or None when that dimension is not sharded."""
    if entry is None:
        return None
    if isinstance(entry, str):
        return entry
    if isinstance(entry, (tuple, list)):
        return "+".join(str(e) for e in entry) if entry else None
    return str(entry)


def _visualize_named(axes: Sequence[Axis], sharding: Any, mesh: Any) -> None:
    parts = [_spec_part(e) for e in _spec_entries(axes, sharding, mesh)]
    if sum(p is not None for p in parts) <= 2:
        _try_draw_grid([ax.size for ax in axes], sharding)
    print(", ".join(f"{ax.name}->{'unsharded' if p is None else p}" for ax, p in zip(axes, parts, strict=True)))


def visualize_named_sharding(axes: Sequence[Axis], sharding: Any) -> None:
    """Print how an array with ``axes`` is laid out by ``sharding``.

    Prints one line ``name->part`` per axis, joined by ``", "``, where a part is the mesh axis name, ``a+b`` for
    several mesh axes, or ``unsharded``. A sharding without a ``spec`` (e.g. `jax.sharding.SingleDeviceSharding`)
    counts as fully unsharded, except a compiler-reported sharding that splits the array: its mesh axes are
    recovered from the mesh in context (or the part reads ``sharded`` when they cannot be). When at most two
    axes are sharded and `rich` is installed, JAX's device grid (`jax.debug.visualize_sharding`) is drawn first;
    JAX draws only 1-D and 2-D arrays.

    Examples:
        >>> import jax
        >>> from jax.sharding import NamedSharding, PartitionSpec as P
        >>> import haliax as hax
        >>> from haliax.debug import visualize_named_sharding
        >>> mesh = jax.make_mesh((1, 1), ("data", "model"), devices=jax.devices()[:1])
        >>> axes = hax.make_axes(dim1=4, dim2=6, dim3=2)
        >>> visualize_named_sharding(axes, NamedSharding(mesh, P("data", "model", None)))
        dim1->data, dim2->model, dim3->unsharded
    """
    _visualize_named(axes, sharding, current_mesh())


def _visualize_plain(shape: tuple[int, ...], sharding: Any) -> None:
    if not _try_draw_grid(shape, sharding):
        spec = getattr(sharding, "spec", None)
        print(f"array{shape}: {spec if spec is not None else 'unsharded'}")


def visualize_shardings(tree: Any) -> None:
    """Print the sharding of every device array in ``tree`` (NamedArrays are leaves).

    NamedArrays are shown with `visualize_named_sharding` (one ``name->mesh axis`` line each). Plain JAX arrays
    get JAX's device grid (`jax.debug.visualize_sharding`, needs `rich`), or, when it cannot be drawn, a line
    ``array(shape): PartitionSpec``. Leaves that are not device arrays (Python numbers, NumPy arrays, strings...)
    are skipped; Haliax raises an AttributeError on them. Inside `jax.jit` / `haliax.named_jit` the lines are
    printed while compiling, with the sharding the compiler chose.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> from haliax.debug import visualize_shardings
        >>> mesh = jax.make_mesh((1,), ("data",), devices=jax.devices()[:1])
        >>> with hax.axis_mapping({"batch": "data"}), jax.set_mesh(mesh):
        ...     x = hax.shard(hax.zeros(hax.make_axes(batch=4, seq=2, embed=3)))
        >>> visualize_shardings({"x": x, "step": 3})  # 3-D: JAX draws no grid, only the line is printed
        batch->data, seq->unsharded, embed->unsharded
    """
    mesh = current_mesh()  # the compiler's callback runs outside the mesh context: remember it now
    leaves = jax.tree_util.tree_leaves(tree, is_leaf=lambda x: isinstance(x, NamedArray))
    for leaf in leaves:
        if isinstance(leaf, NamedArray):
            if isinstance(leaf.array, jax.Array):
                axes = leaf.axes
                jax.debug.inspect_array_sharding(leaf.array, callback=lambda s, a=axes: _visualize_named(a, s, mesh))
        elif isinstance(leaf, jax.Array):
            shape = tuple(leaf.shape)
            jax.debug.inspect_array_sharding(leaf, callback=lambda s, sh=shape: _visualize_plain(sh, s))
