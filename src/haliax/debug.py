"""Debug helpers: find common mistakes in modules, and describe arrays."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from .core import NamedArray

__all__ = ["diagnose_common_issues", "ModuleProblems", "describe_array"]


class ModuleProblems(Exception):
    """The problems `diagnose_common_issues` found in a module.

    Attributes:
        reused_arrays: one entry per array object that appears more than once: the list of paths where it appears.
        static_arrays: paths of static fields that contain arrays or NamedArrays.

    Examples:
        >>> from haliax.debug import ModuleProblems
        >>> p = ModuleProblems()
        >>> bool(p), p.static_arrays
        (False, [])
    """

    def __init__(self) -> None:
        super().__init__()
        self.reused_arrays: list[list[str]] = []
        self.static_arrays: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.reused_arrays or self.static_arrays)

    def __str__(self) -> str:
        if not self:
            return "No problems found."
        lines = ["Found some problems with your module:"]
        for paths in self.reused_arrays:
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


def _keystr(path: tuple[Any, ...]) -> str:
    s = jax.tree_util.keystr(path)
    return s.lstrip(".") or "<root>"


def _check_reused_arrays(problems: ModuleProblems, module: Any) -> None:
    seen: dict[int, list[str]] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(module, is_leaf=lambda x: isinstance(x, NamedArray))[0]:
        raw = leaf.array if isinstance(leaf, NamedArray) else leaf
        if isinstance(raw, (jax.Array, np.ndarray)):
            seen.setdefault(id(raw), []).append(_keystr(path))
    problems.reused_arrays.extend(paths for paths in seen.values() if len(paths) > 1)


def _contains_array(x: Any) -> bool:
    return any(_is_array(leaf) for leaf in jax.tree_util.tree_leaves(x, is_leaf=_is_array))


def _check_static_arrays(problems: ModuleProblems, obj: Any, path: str) -> None:
    if isinstance(obj, eqx.Module):
        for f in dataclasses.fields(obj):
            try:
                value = getattr(obj, f.name)
            except AttributeError:  # pragma: no cover - uninitialised field
                continue
            sub = f"{path}.{f.name}" if path else f.name
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
    parameters), and arrays or NamedArrays stored in static fields.

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
        ...     print(e.reused_arrays)
        [['a', 'b']]
    """
    problems = ModuleProblems()
    _check_reused_arrays(problems, module)
    _check_static_arrays(problems, module, "")
    if problems:
        raise problems


def describe_array(arr: Any) -> str:
    """A one-line description of an array: axes (or shape), dtype, sharding, and for concrete arrays the
    min/max/mean/std and the number of NaNs.

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
