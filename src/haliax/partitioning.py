"""Partitioning by axis names: map logical axis names ("batch", "embed") to mesh axes ("data", "model").

JAX's SPMD partitioner is the distributed engine; this layer only translates names into
`jax.sharding.NamedSharding`s. Without a mapping in context, every call here is a no-op.

`named_jit` (``jax.jit`` with Equinox-style argument partitioning and name-based shardings) and `fsdp` live here
too, since they are the entry point of partitioned computation. There is no ``haliax.filter_jit``:
`equinox.filter_jit` works directly (NamedArray is a pytree whose axes are static aux data).

Meshes: both classic (``AxisType.Auto``) meshes and JAX's explicit-sharding meshes (``AxisType.Explicit``, the
default of ``jax.make_mesh``) are supported. Inside ``jit``, `shard` uses ``with_sharding_constraint`` for Auto
axes and ``jax.sharding.reshard`` when every mesh axis is Explicit. On an all-Explicit mesh, where an array's
sharding is part of its type, named ops ask `explicit_out_sharding` for the sharding their output's names map to
and pass it as JAX's ``out_sharding=`` (the other ``explicit_*`` helpers serve the ops JAX cannot type that way);
on Auto and mixed meshes they return None and nothing changes.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
from jax.core import Tracer
from jax.sharding import AbstractMesh, Mesh, NamedSharding, PartitionSpec

from .axis import Axis, AxisSelection, AxisSelector, axes_str, closest_name, to_selectors
from .core import NamedArray
from .jax_utils import prefix_leaves
from .util import safe_update_wrapper

__all__ = [
    "ResourceAxis",
    "ResourceMapping",
    "PhysicalAxisSpec",
    "axis_mapping",
    "current_thread_local_mapping",
    "auto_sharded",
    "shard",
    "shard_with_axis_mapping",
    "physical_axis_name",
    "pspec_for_axis",
    "pspec_for",
    "infer_resource_partitions",
    "round_axis_for_partitioning",
    "mesh_context",
    "explicit_out_sharding",
    "explicit_auto_axes",
    "explicit_unshard_dims",
    "explicit_reshard",
    "explicit_align",
    "explicit_retry",
    "explicit_common",
    "PartitioningError",
    "named_jit",
    "fsdp",
]

PhysicalAxisSpec = "str | Sequence[str]"
ResourceMapping = Mapping[str, Any]
"""Logical axis name -> mesh axis name (or several, or None)."""


class ResourceAxis:
    """Conventional mesh axis names (plain strings).

    Examples:
        >>> import haliax as hax
        >>> hax.ResourceAxis.DATA, hax.ResourceAxis.MODEL, hax.ResourceAxis.REPLICA
        ('data', 'model', 'replica')
        >>> hax.partitioning.pspec_for_axis(("batch", "embed"), {"batch": hax.ResourceAxis.DATA})
        P('data', None)
    """

    MODEL = "model"
    DATA = "data"
    REPLICA = "replica"


class _State(threading.local):
    mapping: ResourceMapping | None = None


_state = _State()


def current_thread_local_mapping() -> ResourceMapping | None:
    """The active axis mapping (set by `axis_mapping`) of this thread, or None.

    Examples:
        >>> import haliax as hax
        >>> hax.current_thread_local_mapping() is None
        True
        >>> with hax.axis_mapping({"batch": "data"}):
        ...     hax.current_thread_local_mapping()
        {'batch': 'data'}
    """
    return _state.mapping


@contextlib.contextmanager
def axis_mapping(mapping: ResourceMapping, *, merge: bool = False, **kwargs: Any) -> Iterator[ResourceMapping]:
    """Make ``mapping`` (plus ``kwargs``) the active logical-to-mesh axis mapping in this thread.

    With ``merge=True`` the new entries are merged into the active mapping; on a conflict the *outer*
    (existing) entry wins, as in Haliax.

    Examples:
        >>> import haliax as hax
        >>> with hax.axis_mapping({"batch": "data"}):
        ...     hax.partitioning.physical_axis_name("batch")
        'data'
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(
            f"axis_mapping: 'mapping' must be a mapping from logical axis names to mesh axis names (like "
            f"{{'batch': 'data'}}), got {type(mapping).__name__} {mapping!r}"
        )
    old = _state.mapping
    new = dict(mapping)
    new.update(kwargs)
    if merge and old is not None:
        new = {**new, **old}
    _state.mapping = new
    try:
        yield new
    finally:
        _state.mapping = old


@contextlib.contextmanager
def mesh_context(mesh: Mesh) -> Iterator[Mesh]:
    """Make ``mesh`` the current mesh (``jax.set_mesh``).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> mesh = jax.make_mesh((jax.device_count(),), ("data",))
        >>> with hax.mesh_context(mesh):
        ...     jax.sharding.get_mesh().axis_names
        ('data',)
    """
    with jax.set_mesh(mesh):
        yield mesh


set_mesh = mesh_context


def _tracing_probe() -> bool:
    """True while tracing under ``jit`` (``jax.sharding.get_mesh`` refuses to run there)."""
    try:
        jax.sharding.get_mesh()
        return False
    except ValueError:
        return True


def current_mesh(include_legacy: bool = True) -> Any:
    """The mesh in context, or None.

    First the mesh from ``jax.set_mesh`` / `set_mesh` (the concrete one outside jit, the abstract one inside),
    then, with ``include_legacy``, the mesh of an enclosing legacy ``with mesh:`` block, which code written for
    Haliax still uses. The legacy mesh is returned concrete also inside jit: a sharding constraint on its
    abstract mesh is silently dropped there (no device assignment comes with it), so the output would stay on
    one device.
    """
    try:
        m = jax.sharding.get_mesh()
    except ValueError:  # inside jit
        m = jax.sharding.get_abstract_mesh()
    if m is not None and not m.empty:
        return m
    return legacy_mesh() if include_legacy else None


def legacy_mesh() -> Mesh | None:
    """The mesh of an enclosing legacy ``with mesh:`` block, or None.

    JAX keeps that mesh only in its deprecated thread resources; reading them is the one way to honour code that
    still enters meshes this way, so the deprecation warning of the lookup itself is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from jax.interpreters import pxla

        resources = getattr(pxla, "thread_resources", None)
    if resources is None:
        return None
    mesh = resources.env.physical_mesh
    return None if mesh.empty else mesh


def _get_mesh() -> Mesh | AbstractMesh | None:
    """Deprecated: the current mesh, or None.

    Outside jit: the concrete mesh of `set_mesh` / ``jax.set_mesh``, else that of a legacy ``with mesh:`` block.
    Inside jit: the corresponding `jax.sharding.AbstractMesh`. Every call emits a `DeprecationWarning`; use
    ``jax.sharding.get_abstract_mesh()`` (or ``jax.sharding.get_mesh()`` outside jit) instead.
    """
    warnings.warn(
        "`_get_mesh` is deprecated: use jax.sharding.get_abstract_mesh() (or jax.sharding.get_mesh() outside jit)",
        DeprecationWarning,
        stacklevel=2,
    )
    if _tracing_probe():
        abstract = jax.sharding.get_abstract_mesh()
        if not abstract.empty:
            return abstract
        legacy = legacy_mesh()
        return legacy.abstract_mesh if legacy is not None else None
    mesh = jax.sharding.get_mesh()
    if not mesh.empty:
        return mesh
    legacy = legacy_mesh()
    if legacy is not None:
        return legacy
    abstract = jax.sharding.get_abstract_mesh()
    return None if abstract.empty else abstract


def physical_axis_name(axis: AxisSelector, mapping: ResourceMapping | None = None) -> Any:
    """The mesh axis (or axes) a logical axis maps to under ``mapping`` (default: the active one), or None.

    Examples:
        >>> import haliax as hax
        >>> mapping = {"batch": "data", "embed": ("replica", "model")}
        >>> hax.physical_axis_name("batch", mapping), hax.physical_axis_name(hax.Axis("embed", 4), mapping)
        ('data', ('replica', 'model'))
        >>> hax.physical_axis_name("mlp", mapping) is None
        True
    """
    if mapping is None:
        mapping = _state.mapping
    if mapping is None:
        return None
    name = axis.name if isinstance(axis, Axis) else axis
    return mapping.get(name)


def physical_axis_size(axis: AxisSelector, mapping: ResourceMapping | None = None) -> int | None:
    """Product of the mesh sizes of the mesh axes ``axis`` maps to (None if unmapped).

    Raises ``ValueError("No mesh found")`` without a mesh.
    """
    return _physical_axis_size(axis, mapping, "physical_axis_size")


def _physical_axis_size(axis: AxisSelector, mapping: ResourceMapping | None, fn: str) -> int | None:
    mesh = current_mesh()
    if mesh is None:
        raise ValueError(f"{fn}: No mesh found (set one with jax.set_mesh or hax.partitioning.set_mesh)")
    phys = physical_axis_name(axis, mapping)
    if phys is None:
        return None
    names = (phys,) if isinstance(phys, str) else tuple(phys)
    size = 1
    for n in names:
        if n not in mesh.shape:
            logical = axis.name if isinstance(axis, Axis) else axis
            shown = mapping if mapping is not None else _state.mapping
            raise unknown_mesh_axis_error(fn, logical, n, mesh, shown, None)
        size *= mesh.shape[n]
    return size


def _spec_entries(
    axes: Sequence[Any],
    mapping: ResourceMapping | None,
    mesh: Any = None,
    fn: str = "pspec_for_axis",
    divisible: str = "ignore",
) -> tuple[Any, ...]:
    """The PartitionSpec entries for ``axes`` under ``mapping`` (None: the active one).

    A mesh axis can shard only one dimension of an array: the first axis (in array order) that maps to it wins,
    later ones are replicated. E.g. a (mlp, embed) weight with both mapped to "model" is sharded along mlp only.

    Given a ``mesh``, the mapping is checked against it: an unknown mesh axis raises `PartitioningError`, and an
    axis whose size its mesh axes do not divide raises with ``divisible="raise"``, is replicated with
    ``divisible="replicate"`` (leaving its mesh axes free for a later axis) and keeps its entry with ``"ignore"``.
    """
    if mapping is None:
        mapping = _state.mapping
    if mapping is None:
        return (None,) * len(axes)
    shape = None if mesh is None else dict(mesh.shape)
    used: set[str] = set()
    out: list[Any] = []
    for ax in axes:
        name = ax.name if isinstance(ax, Axis) else ax
        phys = mapping.get(name)
        if phys is None:
            out.append(None)
            continue
        names = (phys,) if isinstance(phys, str) else tuple(phys)
        size = 1
        if shape is not None:
            for n in names:
                if n not in shape:
                    raise unknown_mesh_axis_error(fn, name, n, mesh, mapping, axes)
                size *= shape[n]
        if any(n in used for n in names):
            out.append(None)
            continue
        if shape is not None and isinstance(ax, Axis) and ax.size % size != 0:
            if divisible == "raise":
                raise indivisible_axis_error(fn, ax, phys, size, mesh, mapping, axes)
            if divisible == "replicate":
                out.append(None)
                continue
        used.update(names)
        out.append(phys if isinstance(phys, str) else tuple(phys))
    return tuple(out)


def pspec_for_axis(axes: AxisSelection, mapping: ResourceMapping | None = None) -> PartitionSpec:
    """The PartitionSpec for arrays with the given axes under ``mapping`` (default: the active one).

    A mesh axis can shard only one dimension: when several axes of one array map to the same mesh axis, the
    first (in array order) is sharded and the others are replicated.

    Examples:
        >>> import haliax as hax
        >>> hax.partitioning.pspec_for_axis(("batch", "mlp", "embed"), {"batch": "data", "mlp": "model", "embed": "model"})
        P('data', 'model', None)
    """
    return PartitionSpec(*_spec_entries(to_selectors(axes, "pspec_for_axis", "axes"), mapping))


def sharding_for_axis(axes: AxisSelection, mapping: ResourceMapping | None = None, mesh: Any = None) -> NamedSharding:
    """A NamedSharding for arrays with the given axes."""
    mesh = mesh if mesh is not None else current_mesh()
    if mesh is None:
        raise ValueError("No mesh found")
    spec = pspec_for_axis(axes, mapping)
    _check_mesh_axes(spec, to_selectors(axes, "sharding_for_axis", "axes"), mapping, mesh, "sharding_for_axis")
    return NamedSharding(mesh, spec)


def _check_mesh_axes(spec: Any, axes: Sequence[Any] | None, mapping: Any, mesh: Any, fn: str) -> None:
    """Raise `PartitioningError` if ``spec`` names a mesh axis ``mesh`` lacks (naming the logical axis)."""
    present = set(mesh.axis_names)
    for k, e in enumerate(spec):
        for n in () if e is None else (e,) if isinstance(e, str) else e:
            if n not in present:
                ax = axes[k] if axes is not None and k < len(axes) else None
                logical = ax.name if isinstance(ax, Axis) else ax if ax is not None else f"(dimension {k})"
                shown = mapping if mapping is not None else _state.mapping
                raise unknown_mesh_axis_error(fn, str(logical), n, mesh, shown, axes)


def round_axis_for_partitioning(axis: Axis, mapping: ResourceMapping | None = None) -> Axis:
    """``axis`` with its size rounded up to a multiple of its physical size (``batch(10)`` on 4 -> ``batch(12)``).

    The physical size is the product of the sizes of the mesh axes ``axis`` maps to; an unmapped axis is
    returned unchanged. Needs a current mesh (``ValueError`` otherwise) and an `Axis`, since a bare name has no
    size to round (``TypeError``).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> mesh = jax.make_mesh((2,), ("data",), devices=jax.devices()[:2])  # needs 2 devices
        >>> with hax.mesh_context(mesh):
        ...     hax.round_axis_for_partitioning(hax.Axis("batch", 5), {"batch": "data"})
        Axis(name='batch', size=6)
    """
    if not isinstance(axis, Axis):
        raise TypeError(
            f"round_axis_for_partitioning: 'axis' must be an Axis (a name and a size), got "
            f"{type(axis).__name__} {axis!r}; pass hax.Axis(name, size)"
        )
    size = _physical_axis_size(axis, mapping, "round_axis_for_partitioning")
    if size is None:
        return axis
    return Axis(axis.name, (axis.size + size - 1) // size * size)


class PartitioningError(ValueError):
    """An axis mapping the mesh cannot carry out: an unknown mesh axis, or an axis its mesh axes do not divide.

    The message names the function, the logical axis, the array's axes, the mapping and the mesh's axes with
    their sizes (and the closest mesh axis name, or `round_axis_for_partitioning` for a size that does not
    divide). It is a ``ValueError``; JAX raises its own ``ValueError`` (or a ``KeyError`` from a mesh lookup)
    here, naming only positions.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> mesh = jax.make_mesh((2,), ("data",), devices=jax.devices()[:2])
        >>> x = hax.zeros(hax.Axis("batch", 4))
        >>> with hax.mesh_context(mesh), hax.axis_mapping({"batch": "dta"}):
        ...     hax.shard(x)
        Traceback (most recent call last):
        ...
        haliax.partitioning.PartitioningError: shard: the axis mapping sends logical axis 'batch' to mesh axis 'dta', which the mesh does not have (mesh axes {'data': 2}). Did you mean 'data'? Array axes: (batch(4)); mapping: {'batch': 'dta'}
    """


def _mesh_axes_str(mesh: Any) -> str:
    return "{" + ", ".join(f"{n!r}: {s}" for n, s in dict(mesh.shape).items()) + "}"


def _mapping_str(mapping: Any) -> str:
    return repr(dict(mapping)) if isinstance(mapping, Mapping) else repr(mapping)


def unknown_mesh_axis_error(
    fn: str, logical: str, missing: str, mesh: Any, mapping: Any, axes: Sequence[Any] | None
) -> PartitioningError:
    """The error for a mapping that sends ``logical`` to the mesh axis ``missing``, which ``mesh`` lacks.

    Args:
        fn: the function the user called.
        logical: the logical axis name.
        missing: the mesh axis name the mapping gives for it.
        mesh: the mesh in use.
        mapping: the axis mapping.
        axes: the axes of the array being placed (None when there is no array).
    """
    msg = (
        f"{fn}: the axis mapping sends logical axis {logical!r} to mesh axis {missing!r}, which the mesh does "
        f"not have (mesh axes {_mesh_axes_str(mesh)})."
    )
    hint = closest_name(str(missing), list(mesh.axis_names))
    if hint is not None:
        msg += f" Did you mean {hint!r}?"
    if axes is not None:
        msg += f" Array axes: {axes_str(axes)};"
    msg += f" mapping: {_mapping_str(mapping)}"
    return PartitioningError(msg)


def indivisible_axis_error(
    fn: str, axis: Axis, phys: Any, size: int, mesh: Any, mapping: Any, axes: Sequence[Any]
) -> PartitioningError:
    """The error for an axis whose size its mesh axes (of total size ``size``) do not divide.

    Args:
        fn: the function the user called.
        axis: the logical axis.
        phys: the mesh axis (or axes) it maps to.
        size: the product of those mesh axes' sizes.
        mesh: the mesh in use.
        mapping: the axis mapping.
        axes: the axes of the array being placed.
    """
    rounded = (axis.size + size - 1) // size * size
    return PartitioningError(
        f"{fn}: axis {axis} is mapped to mesh axis {phys!r} of size {size}, which does not divide {axis.size}. "
        f"Array axes: {axes_str(axes)}; mapping: {_mapping_str(mapping)}; mesh axes {_mesh_axes_str(mesh)}. "
        f"Pad the axis with hax.partitioning.round_axis_for_partitioning (here {axis.name}({rounded})) or map "
        "it to another mesh axis."
    )


_EXPLICIT_CACHE: dict[Any, Any] = {}


def _is_all_explicit(mesh: Any) -> bool:
    return not mesh.empty and mesh.are_all_axes_explicit


def explicit_out_sharding(axes: Sequence[AxisSelector], fn: str = "explicit_out_sharding") -> PartitionSpec | None:
    """The typed sharding an op's output with ``axes`` gets on an explicit mesh, or None elsewhere.

    On a mesh whose axes are all ``AxisType.Explicit`` (set with ``jax.set_mesh``), JAX refuses to guess the
    sharding of some outputs (a contraction over a sharded axis, a reshape merging sharded axes, a gather).
    Named ops pass this spec as ``out_sharding=``: it is `pspec_for_axis` of the output's axes under the
    active mapping, except that an axis whose mesh axes do not divide its size is replicated (a slice of a
    sharded axis, say). Returns None, so callers keep today's code path, when no mapping is active or the
    current mesh is absent, Auto or mixed. Cached by the mapping, the axes and the mesh (ops call it on every
    call). A mapping naming a mesh axis the mesh lacks raises `PartitioningError`.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> from jax.sharding import AxisType
        >>> mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Explicit,) * 2)
        >>> axes = hax.make_axes(batch=4, embed=8, head=3)
        >>> with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model", "head": "model"}):
        ...     hax.partitioning.explicit_out_sharding(axes)
        P('data', 'model', None)
        >>> hax.partitioning.explicit_out_sharding(axes) is None  # no mesh, no mapping
        True
    """
    mapping = _state.mapping
    if mapping is None:
        return None
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or not mesh.are_all_axes_explicit:
        return None
    try:
        key = (id(mapping), axes, mesh)
        hit = _EXPLICIT_CACHE.get(key)
    except TypeError:  # unhashable axes (a list)
        axes, key, hit = tuple(axes), None, None
    if hit is not None and hit[0] is mapping:
        return hit[1]
    spec = PartitionSpec(*_spec_entries(tuple(axes), mapping, mesh, fn, "replicate"))
    if key is not None:
        if len(_EXPLICIT_CACHE) >= 4096:
            _EXPLICIT_CACHE.clear()
        _EXPLICIT_CACHE[key] = (mapping, spec)  # holding the mapping keeps its id valid
    return spec


def explicit_auto_axes(
    f: Callable[..., Any], out_axes: Sequence[Any], fn: str = "explicit_auto_axes"
) -> Callable[..., Any]:
    """On an explicit mesh, ``f`` run with the mesh axes treated as Auto inside, its output typed by its names.

    For kernels written on raw canonical arrays (attention's merged layouts and hand-written VJPs, the fused
    cross-entropy's blocks), where JAX would ask for an output sharding at every reshape: inside, JAX's
    partitioner chooses as on an Auto mesh (and `shard` uses sharding constraints), and the result, a
    NamedArray with ``out_axes``, gets the spec `explicit_out_sharding` gives for them
    (``jax.sharding.auto_axes``); for an ``f`` returning a tuple of NamedArrays, ``out_axes`` is a tuple of their
    axes. Elsewhere ``f`` itself is returned.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> from jax.sharding import AxisType
        >>> from haliax.partitioning import explicit_auto_axes
        >>> mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Explicit,) * 2)
        >>> B, E = hax.make_axes(batch=4, embed=8)
        >>> with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        ...     x = hax.shard(hax.ones((B, E)))
        ...     y = explicit_auto_axes(lambda a: a * 2, (B, E))(x)
        ...     jax.typeof(y.array).sharding.spec
        P('data', 'model')
    """
    several = bool(out_axes) and not isinstance(out_axes[0], (Axis, str))
    groups = tuple(tuple(g) for g in out_axes) if several else (tuple(out_axes),)
    specs = tuple(explicit_out_sharding(g, fn) for g in groups)
    if specs[0] is None:
        return f

    def raw(*args: Any) -> Any:
        out = f(*args)
        outs = tuple(out) if several else (out,)
        got = tuple(o.axes for o in outs)
        if got != groups:
            raise AssertionError(f"{fn}: expected output axes {groups}, got {got}")
        return tuple(o.array for o in outs)

    inner = jax.sharding.auto_axes(raw, out_sharding=specs)

    def call(*args: Any) -> Any:
        raws: Any = inner(*args)
        outs = tuple(NamedArray(a, g) for a, g in zip(raws, groups, strict=True))
        return outs if several else outs[0]

    return call


def explicit_unshard_dims(array: Any, dims: Sequence[int]) -> Any:
    """On an explicit mesh, ``array`` with the dimensions ``dims`` made unsharded (a ``reshard``); else ``array``.

    Ops that read along a dimension JAX cannot split (an integer index or a gather into a sharded dimension, a
    concatenation along one) call this first. Only the typed sharding of those dimensions changes; nothing
    happens when they are already unsharded or when the mesh is not all-Explicit.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from jax.sharding import AxisType, PartitionSpec as P
        >>> from haliax.partitioning import explicit_unshard_dims
        >>> mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Explicit,) * 2)
        >>> with jax.set_mesh(mesh):
        ...     x = jnp.zeros((4, 8), out_sharding=P("data", "model"))
        ...     jax.typeof(explicit_unshard_dims(x, [1])).sharding.spec
        P('data', None)
    """
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or not mesh.are_all_axes_explicit:
        return array
    spec = tuple(jax.typeof(array).sharding.spec)
    spec = spec + (None,) * (len(array.shape) - len(spec))
    if all(spec[d] is None for d in dims):
        return array
    return jax.sharding.reshard(array, PartitionSpec(*(None if d in dims else e for d, e in enumerate(spec))))


def explicit_reshard(array: Any, spec: PartitionSpec | None) -> Any:
    """``array`` resharded to ``spec`` (from `explicit_out_sharding`) unless it already has it; None: ``array``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from jax.sharding import AxisType, PartitionSpec as P
        >>> from haliax.partitioning import explicit_reshard
        >>> mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Explicit,) * 2)
        >>> with jax.set_mesh(mesh):
        ...     x = jnp.zeros((4, 8), out_sharding=P("data", None))
        ...     jax.typeof(explicit_reshard(x, P("data", "model"))).sharding.spec
        P('data', 'model')
    """
    if spec is None:
        return array
    have = tuple(jax.typeof(array).sharding.spec)
    want = tuple(spec)
    n = len(array.shape)
    if have + (None,) * (n - len(have)) == want + (None,) * (n - len(want)):
        return array
    return jax.sharding.reshard(array, spec)


def explicit_align(array: Any, axes: Sequence[Axis], out_axes: Sequence[Axis], spec: PartitionSpec | None) -> Any:
    """An operand aligned to ``out_axes`` (size-1 dimensions for its missing axes, leading ones possibly omitted)
    resharded to the output's ``spec``.

    Broadcasting ops call it on an explicit mesh so that both operands agree with the output's typed sharding
    (from `explicit_out_sharding`): ``x(embed, mlp)`` typed ``(model, None)`` times ``y(mlp)`` typed ``(model,)``
    would otherwise ask JAX for an array sharded twice over ``model``. ``spec`` None: ``array`` unchanged.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import haliax as hax
        >>> from jax.sharding import AxisType, PartitionSpec as P
        >>> from haliax.partitioning import explicit_align
        >>> mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Explicit,) * 2)
        >>> E, M = hax.make_axes(embed=8, mlp=16)
        >>> with jax.set_mesh(mesh):
        ...     y = jnp.zeros((1, 16), out_sharding=P(None, "model"))
        ...     jax.typeof(explicit_align(y, (M,), (E, M), P("model", None))).sharding.spec
        P(None, None)
    """
    if spec is None:
        return array
    names = {a.name for a in axes}
    entries = tuple(spec) + (None,) * (len(out_axes) - len(tuple(spec)))
    want = [e if a.name in names else None for a, e in zip(out_axes, entries, strict=True)]
    return explicit_reshard(array, PartitionSpec(*want[len(want) - array.ndim :]))  # leading dims may be omitted


def explicit_common(raws: list[Any], axes: Sequence[Axis], fn: str, free: Sequence[int] = ()) -> list[Any]:
    """Operands laid out as ``axes`` (sizes along ``free`` dimensions may differ) given one typed sharding.

    JAX's concatenate, stack and select need operands sharded alike. On an explicit mesh, when their typed
    shardings differ, each is resharded to the spec ``axes``' names give (`explicit_out_sharding`), with the
    ``free`` dimensions unsharded, in a new list; otherwise (or off explicit meshes) ``raws`` itself comes back.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import haliax as hax
        >>> from jax.sharding import AxisType, PartitionSpec as P
        >>> from haliax.partitioning import explicit_common
        >>> mesh = jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Explicit,) * 2)
        >>> B, E = hax.make_axes(batch=4, embed=8)
        >>> with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data", "embed": "model"}):
        ...     a = jnp.zeros((4, 8), out_sharding=P("data", "model"))
        ...     b = jnp.zeros((4, 4), out_sharding=P(None, "data"))
        ...     [jax.typeof(r).sharding.spec for r in explicit_common([a, b], (B, E), "concatenate", free=[1])]
        [P('data', None), P('data', None)]
    """
    if len(raws) < 2:
        return raws
    spec = explicit_out_sharding(axes, fn)
    if spec is None:
        return raws
    n = len(axes)

    def padded(x: Any) -> tuple[Any, ...]:
        t = tuple(x)
        return t + (None,) * (n - len(t))

    have = [padded(jax.typeof(r).sharding.spec) for r in raws]
    if all(h == have[0] for h in have):
        return raws
    want = PartitionSpec(*(None if k in free else e for k, e in enumerate(padded(spec))))
    return [explicit_reshard(r, want) for r in raws]


def explicit_retry(fn: str, operands: Sequence[NamedArray], out_axes: Sequence[Axis], err: Exception) -> Any:
    """What an op does when JAX rejected its operands' typed shardings (``err``) on an explicit mesh.

    With a mapping active it returns the output's spec (`explicit_out_sharding`): the caller reshards the
    operands to it and runs again. Otherwise (or off explicit meshes) it returns a `PartitioningError` naming the
    function, each operand's axes and typed sharding, the mapping and the mesh, to raise from ``err``.

    Args:
        fn: the function the user called.
        operands: the NamedArrays JAX rejected.
        out_axes: the axes of the op's output.
        err: JAX's error.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> from haliax.partitioning import explicit_retry
        >>> X = hax.Axis("X", 4)
        >>> e = explicit_retry("add", [hax.zeros(X), hax.zeros(X)], (X,), TypeError("incompatible"))
        >>> type(e).__name__
        'PartitioningError'
    """
    spec = explicit_out_sharding(out_axes, fn)
    if spec is not None:
        return spec
    mesh = jax.sharding.get_abstract_mesh()
    shown = "no mesh" if mesh.empty else f"mesh axes {_mesh_axes_str(mesh)}"
    parts = []
    for k, x in enumerate(operands):
        try:
            typed = str(jax.typeof(x.array))
        except Exception:  # noqa: BLE001 - a value JAX cannot type: show its axes only
            typed = "?"
        parts.append(f"operand {k} {axes_str(x.axes)} typed {typed}")
    return PartitioningError(
        f"{fn}: {'; '.join(parts)}: these shardings do not combine ({shown}; mapping: "
        f"{_mapping_str(_state.mapping) if _state.mapping is not None else 'none active'}). Activate an axis "
        f"mapping (hax.axis_mapping) so the result's sharding comes from its axis names, or hax.shard the "
        f"operands with one mapping. JAX says: {err}"
    )


def _all_explicit(mesh: Any, spec: PartitionSpec) -> bool:
    types = dict(zip(mesh.axis_names, getattr(mesh, "axis_types", ()) or ()))
    used = []
    for e in spec:
        if e is None:
            continue
        used.extend((e,) if isinstance(e, str) else e)
    return bool(used) and all(str(types.get(n)).endswith("Explicit") for n in used)


_LEAF_SPECS: dict[Any, Any] = {}


def _leaf_spec(axes: tuple[Axis, ...], mapping: ResourceMapping, mesh: Any, divisible: str) -> PartitionSpec:
    """`pspec_for_axis` of ``axes``, checked against ``mesh`` (see `_spec_entries`); cached like
    `explicit_out_sharding`."""
    key = (id(mapping), axes, mesh, divisible)
    hit = _LEAF_SPECS.get(key)
    if hit is not None and hit[0] is mapping:
        return hit[1]
    spec = PartitionSpec(*_spec_entries(axes, mapping, mesh, "shard", divisible))
    if len(_LEAF_SPECS) >= 4096:
        _LEAF_SPECS.clear()
    _LEAF_SPECS[key] = (mapping, spec)
    return spec


def _shard_leaf(x: NamedArray, mapping: ResourceMapping, mesh: Any, in_jit: bool, lenient: bool) -> NamedArray:
    explicit = _is_all_explicit(mesh)
    # JAX rejects a size its mesh axes do not divide outside jit and on explicit meshes (we say so by name);
    # a sharding constraint on Auto axes inside jit pads instead, as it always has. `auto_sharded` (``lenient``)
    # on an explicit mesh replicates such an axis, as `explicit_out_sharding` does for op outputs.
    divisible = "replicate" if explicit and lenient else "raise" if explicit or not in_jit else "ignore"
    spec = _leaf_spec(x.axes, mapping, mesh, divisible)
    arr = x.array
    if in_jit:
        if explicit or _all_explicit(mesh, spec):
            arr = jax.sharding.reshard(arr, spec)
        else:
            arr = jax.lax.with_sharding_constraint(arr, NamedSharding(mesh, spec))
    else:
        if not isinstance(arr, jax.Array):
            return x
        sharding = NamedSharding(mesh, spec)
        if arr.sharding == sharding:
            return x
        arr = jax.device_put(arr, sharding)
    return NamedArray(arr, x.axes)


def shard(x: Any, mapping: ResourceMapping | None = None, mesh: Any = None) -> Any:
    """Shard every NamedArray leaf of ``x`` by its axis names; plain arrays are untouched.

    Outside jit this is a ``device_put``; inside jit a sharding constraint, or ``jax.sharding.reshard`` on a mesh
    whose axes are all Explicit. The mesh is ``mesh``, else the one set with `set_mesh` / ``jax.set_mesh``, else
    that of an enclosing legacy ``with mesh:`` block (also inside jit, where the constraint then uses that
    concrete mesh). Without a mapping or a mesh it warns (outside jit) and returns ``x``; inside jit it is
    silently a no-op. A mapping that names a mesh axis the mesh lacks, or an axis whose size its mesh axes do not
    divide (outside jit, or on an explicit mesh), raises `PartitioningError` naming the axis, the array's axes,
    the mapping and the mesh (JAX raises a ``KeyError`` or a message about positions there).

    Examples:
        >>> import haliax as hax
        >>> x = hax.zeros(hax.Axis("batch", 8))
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     same = hax.shard(x, {"batch": "data"}) is x  # no mesh: warns, returns x unchanged
        >>> same, str(caught[0].message)
        (True, 'No mesh found. Not sharding.')
    """
    if mapping is not None and not isinstance(mapping, dict) and not isinstance(mapping, Mapping):
        raise TypeError(
            f"shard: 'mapping' must be an axis mapping (a dict like {{'batch': 'data'}}) or None, got "
            f"{type(mapping).__name__} {mapping!r}"
        )
    return _shard_tree(x, mapping, mesh, False)


def _shard_tree(x: Any, mapping: ResourceMapping | None, mesh: Any, lenient: bool) -> Any:
    in_jit = _tracing_probe()
    if mapping is None:
        mapping = _state.mapping
    if mapping is None:
        if not in_jit:
            warnings.warn("No resource mapping found. Not sharding.", RuntimeWarning, stacklevel=3)
        return x
    if mesh is None:
        mesh = current_mesh()
    if mesh is None:
        if not in_jit:
            warnings.warn("No mesh found. Not sharding.", RuntimeWarning, stacklevel=3)
        return x
    if in_jit and isinstance(mesh, Mesh):
        am = jax.sharding.get_abstract_mesh()
        if not am.empty:
            mesh = am
    return jax.tree_util.tree_map(
        lambda a: _shard_leaf(a, mapping, mesh, in_jit, lenient) if isinstance(a, NamedArray) else a,
        x,
        is_leaf=lambda a: isinstance(a, NamedArray),
    )


shard_with_axis_mapping = shard


def auto_sharded(x: Any, mesh: Any = None) -> Any:
    """Shard ``x`` by the active axis mapping; a no-op (no warning) without a mapping or a mesh.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> x = hax.zeros(hax.Axis("batch", 8))
        >>> hax.auto_sharded(x) is x  # no mapping active: nothing to do
        True
        >>> mesh = jax.make_mesh((jax.device_count(),), ("data",))
        >>> with hax.mesh_context(mesh), hax.axis_mapping({"batch": "data"}):
        ...     y = hax.auto_sharded(x)
        >>> y.array.sharding.spec
        P('data',)
    """
    if _state.mapping is None:
        return x
    if mesh is None:
        # Only a mesh set with `set_mesh` / ``jax.set_mesh``: as in Haliax, plain creation inside a legacy
        # ``with mesh:`` block stays on one device (`shard` itself does use the legacy mesh).
        mesh = current_mesh(include_legacy=False)
        if mesh is None:
            return x
    return _shard_tree(x, _state.mapping, mesh, True)


def _field_axis_names(module: Any) -> dict[str, tuple[str, ...]]:
    import dataclasses

    out = {}
    if dataclasses.is_dataclass(module):
        for f in dataclasses.fields(module):
            names = f.metadata.get("axis_names")
            if names is not None:
                out[f.name] = tuple(names)
    return out


def _plain_spec(x: Any, preserve: bool) -> PartitionSpec | None:
    if isinstance(x, (bool, int, float, complex)):
        return PartitionSpec()
    sharding = getattr(x, "sharding", None)
    if preserve and sharding is not None and not isinstance(sharding, jax.sharding.SingleDeviceSharding):
        return None
    ndim = len(getattr(x, "shape", ()))
    return PartitionSpec() if ndim == 0 else PartitionSpec(*([None] * ndim))


def pspec_for(
    tree: Any, resource_mapping: ResourceMapping | None = None, preserve_existing_shardings: bool = True
) -> Any:
    """A pytree of PartitionSpecs (or None where an existing sharding is kept) matching ``tree``.

    NamedArrays get specs from their names; Equinox module fields declared with
    ``haliax.field(axis_names=...)`` holding plain arrays get specs from those names; other plain arrays are
    replicated (``PartitionSpec(None, ...)``, 0-d ``PartitionSpec()``); Python scalars ``PartitionSpec()``.
    With ``preserve_existing_shardings`` an array already sharded (not single-device) gives None.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> tree = {"w": hax.zeros(hax.make_axes(embed=4, mlp=8)), "step": jnp.zeros(())}
        >>> hax.pspec_for(tree, {"mlp": "model"})
        {'step': P(), 'w': P(None, 'model')}
    """
    if resource_mapping is None:
        resource_mapping = _state.mapping
    if resource_mapping is None:
        raise ValueError("pspec_for: No resource mapping found (pass one or use hax.axis_mapping)")

    def named_spec(x: NamedArray) -> PartitionSpec | None:
        arr = x.array
        if preserve_existing_shardings and isinstance(arr, jax.Array) and not isinstance(arr, Tracer):
            if not isinstance(arr.sharding, jax.sharding.SingleDeviceSharding):
                return None
        return pspec_for_axis(x.axes, resource_mapping)

    def go(x: Any) -> Any:
        if isinstance(x, NamedArray):
            return named_spec(x)
        if isinstance(x, eqx.Module):
            names = _field_axis_names(x)
            if names:
                replaced = {}
                for fname, axes in names.items():
                    v = getattr(x, fname)
                    if hasattr(v, "shape") and len(axes) == len(v.shape):
                        replaced[fname] = pspec_for_axis(axes, resource_mapping)
                sub = jax.tree_util.tree_map(go, x, is_leaf=lambda y: y is not x and _is_leafish(y))
                for fname, spec in replaced.items():
                    sub = eqx.tree_at(lambda m, f=fname: getattr(m, f), sub, spec, is_leaf=lambda y: y is None)
                return sub
            return jax.tree_util.tree_map(go, x, is_leaf=lambda y: y is not x and _is_leafish(y))
        if x is None:
            return None
        return _plain_spec(x, preserve_existing_shardings)

    return jax.tree_util.tree_map(go, tree, is_leaf=_is_leafish)


def _is_leafish(x: Any) -> bool:
    return isinstance(x, NamedArray) or (isinstance(x, eqx.Module) and bool(_field_axis_names(x)))


def infer_resource_partitions(
    tree: Any,
    resource_mapping: ResourceMapping | None = None,
    preserve_existing_shardings: bool = True,
    mesh: Any = None,
) -> Any:
    """Like `pspec_for`, but returns `NamedSharding`s (existing shardings kept where the spec is None).

    Uses ``mesh`` or the current one (``ValueError`` without either). A mapping that sends an axis of a
    NamedArray in ``tree`` to a mesh axis the mesh lacks raises `PartitioningError`, also for arrays whose
    existing sharding is preserved (Haliax ignores the typo there).

    Args:
        tree: a pytree of NamedArrays, arrays and modules.
        resource_mapping: the axis mapping to use (default: the active one).
        preserve_existing_shardings: keep the sharding of arrays that already have one.
        mesh: the mesh of the shardings (default: the current one).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> mesh = jax.make_mesh((jax.device_count(),), ("model",))
        >>> tree = {"w": hax.zeros(hax.make_axes(embed=4, mlp=8))}
        >>> shardings = hax.infer_resource_partitions(tree, {"mlp": "model"}, mesh=mesh)
        >>> shardings["w"].spec, shardings["w"].mesh is mesh
        (P(None, 'model'), True)
    """
    mesh = mesh if mesh is not None else current_mesh()
    if mesh is None:
        raise ValueError("infer_resource_partitions: No mesh found (use jax.set_mesh or pass mesh=)")
    specs = pspec_for(tree, resource_mapping, preserve_existing_shardings)
    fn = "infer_resource_partitions"

    def to_sharding(spec: Any, x: Any) -> Any:
        if spec is None:
            if isinstance(x, NamedArray):
                # the existing sharding is kept, but a mapping the mesh cannot carry out is still a mistake
                _check_mesh_axes(pspec_for_axis(x.axes, resource_mapping), x.axes, resource_mapping, mesh, fn)
                return getattr(x.array, "sharding", None)
            return getattr(x, "sharding", None)
        axes = x.axes if isinstance(x, NamedArray) else None
        _check_mesh_axes(spec, axes, resource_mapping, mesh, fn)
        return NamedSharding(mesh, spec)

    leaves_spec, treedef = jax.tree_util.tree_flatten(
        specs, is_leaf=lambda s: isinstance(s, PartitionSpec) or s is None
    )
    leaves_x = treedef.flatten_up_to(tree) if leaves_spec else []
    return jax.tree_util.tree_unflatten(treedef, [to_sharding(s, x) for s, x in zip(leaves_spec, leaves_x)])


# --------------------------------------------------------------------------------------------------
# named_jit / fsdp

_FORBIDDEN_JIT_KWARGS = (
    "static_argnums",
    "static_argnames",
    "donate_argnums",
    "donate_argnames",
    "in_shardings",
    "out_shardings",
)


def _freeze(x: Any) -> Any:
    """A hashable version of an axis mapping (dicts and lists become tuples)."""
    if isinstance(x, Mapping):
        return tuple((k, _freeze(v)) for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(v) for v in x)
    return x


class _Static:
    """Carries a non-array value through `jax.jit` as pytree aux data (it has no leaves)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _Static) and _safe_eq(self.value, other.value)

    def __hash__(self) -> int:
        try:
            return hash(self.value)
        except TypeError:
            return id(self.value)


def _safe_eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values with odd __eq__ (e.g. arrays) compare by identity
        return a is b


jax.tree_util.register_pytree_node(_Static, lambda s: ((), s.value), lambda aux, _: _Static(aux))


def _shard(tree: Any, mapping: Any) -> Any:
    if mapping is None:
        return tree
    return shard(tree, mapping)


class _NamedJitWrapper:
    """The callable returned by `named_jit` (also has ``.lower``)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        axis_resources: Any,
        in_axis_resources: Any,
        out_axis_resources: Any,
        donate_args: Any,
        donate_kwargs: Any,
        jit_kwargs: dict[str, Any],
    ):
        bad = [k for k in jit_kwargs if k in _FORBIDDEN_JIT_KWARGS]
        if bad:
            raise TypeError(
                f"named_jit: {bad} cannot be passed; use axis_resources/in_axis_resources/out_axis_resources and "
                "donate_args/donate_kwargs instead (non-array arguments are static automatically)"
            )
        _check_named_jit_args(axis_resources, in_axis_resources, out_axis_resources, donate_args, donate_kwargs)
        self._fn = fn
        self._axis_resources = axis_resources
        self._in_axis_resources = in_axis_resources
        self._out_axis_resources = out_axis_resources if out_axis_resources is not None else axis_resources
        self._donate_args = donate_args
        self._donate_kwargs = donate_kwargs
        inner = functools.partial(_NamedJitWrapper._inner, self)
        inner.__name__ = getattr(fn, "__name__", type(fn).__name__)  # type: ignore[attr-defined]
        self._jitted = jax.jit(inner, donate_argnums=(0,), static_argnums=(2,), **jit_kwargs)
        safe_update_wrapper(self, fn)

    def _inner(self, donated: list[Any], kept: list[Any], static: _Static) -> tuple[list[Any], _Static]:
        treedef, static_leaves, flags, mapping = static.value
        d_it, k_it = iter(donated), iter(kept)
        leaves = []
        for leaf, flag in zip(static_leaves, flags, strict=True):
            if flag is None:
                leaves.append(leaf)
            else:
                leaves.append(next(d_it) if flag else next(k_it))
        fn, args, kwargs = jax.tree_util.tree_unflatten(treedef, leaves)
        ctx: Any = contextlib.nullcontext()
        if mapping is not None:
            ctx = axis_mapping(dict(mapping))
        with ctx:
            out = fn(*args, **kwargs)
            out = _shard(out, self._out_axis_resources)
        out_leaves, out_def = jax.tree_util.tree_flatten(out)
        dyn = [x for x in out_leaves if eqx.is_array(x)]
        stat = [None if eqx.is_array(x) else x for x in out_leaves]
        return dyn, _Static((out_def, stat))

    def _prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Any], list[Any], _Static]:
        if self._in_axis_resources is not None:
            args, kwargs = _shard((args, kwargs), self._in_axis_resources)
        # `fn` itself is partitioned too: a Module (or a bound method of one) has its arrays traced, not baked in
        leaves, treedef = jax.tree_util.tree_flatten((self._fn, args, kwargs))
        n_fn = len(jax.tree_util.tree_leaves(self._fn))
        donate = [False] * n_fn + self._donation(args, kwargs)
        donated: list[Any] = []
        kept: list[Any] = []
        static_leaves: list[Any] = []
        flags: list[bool | None] = []
        for leaf, d in zip(leaves, donate, strict=True):
            if eqx.is_array(leaf):
                (donated if d else kept).append(leaf)
                static_leaves.append(None)
                flags.append(d)
            else:
                static_leaves.append(leaf)
                flags.append(None)
        if self._axis_resources is not None:
            mapping = self._axis_resources
        else:
            mapping = current_thread_local_mapping()
        static = _Static((treedef, tuple(static_leaves), tuple(flags), _freeze(mapping)))
        try:
            hash(static.value)
        except TypeError as e:
            bad = [type(x).__name__ for x in static_leaves if not _hashable(x)]
            raise TypeError(
                f"named_jit({getattr(self._fn, '__name__', self._fn)!r}): non-array arguments are static and must "
                f"be hashable, got unhashable values of type {bad}"
            ) from e
        return donated, kept, static

    def _donation(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[bool]:
        da, dk = self._donate_args, self._donate_kwargs
        if isinstance(da, bool) or da is None:
            da = (bool(da),) * len(args)
        else:
            da = tuple(da) + (False,) * (len(args) - len(tuple(da)))
        if isinstance(dk, bool) or dk is None:
            dk = {k: bool(dk) for k in kwargs}
        else:
            dk = {k: dk.get(k, False) for k in kwargs}
        flags = prefix_leaves(da[: len(args)], args, "named_jit", "donate_args")
        flags += prefix_leaves(dk, kwargs, "named_jit", "donate_kwargs")
        return [bool(f) for f in flags]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        donated, kept, static = self._prepare(args, kwargs)
        dyn, out_static = self._jitted(donated, kept, static)
        out_def, stat = out_static.value
        it = iter(dyn)
        return jax.tree_util.tree_unflatten(out_def, [next(it) if s is None else s for s in stat])

    def lower(self, *args: Any, **kwargs: Any) -> jax.stages.Lowered:
        """Lower for the given arguments without running (see `jax.stages.Lowered`)."""
        donated, kept, static = self._prepare(args, kwargs)
        return self._jitted.lower(donated, kept, static)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self, instance)


def _check_named_jit_args(
    axis_resources: Any, in_axis_resources: Any, out_axis_resources: Any, donate_args: Any, donate_kwargs: Any
) -> None:
    """Reject arguments of `named_jit` of the wrong kind once, when the wrapper is built."""
    for arg, v in (
        ("axis_resources", axis_resources),
        ("in_axis_resources", in_axis_resources),
        ("out_axis_resources", out_axis_resources),
    ):
        if v is not None and not isinstance(v, Mapping):
            raise TypeError(
                f"named_jit: {arg!r} must be an axis mapping (a dict like {{'batch': 'data'}}) or None, got "
                f"{type(v).__name__} {v!r}"
            )
    if not (donate_args is None or isinstance(donate_args, (bool, tuple, list))):
        raise TypeError(
            f"named_jit: 'donate_args' must be a bool or a tuple with one bool (or pytree prefix of bools) per "
            f"positional argument, got {type(donate_args).__name__} {donate_args!r}; e.g. donate_args=(True, False)"
        )
    if not (donate_kwargs is None or isinstance(donate_kwargs, (bool, Mapping))):
        raise TypeError(
            f"named_jit: 'donate_kwargs' must be a bool or a dict {{name: bool}}, got "
            f"{type(donate_kwargs).__name__} {donate_kwargs!r}"
        )


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def named_jit(
    fn: Callable[..., Any] | None = None,
    axis_resources: Any = None,
    *,
    in_axis_resources: Any = None,
    out_axis_resources: Any = None,
    donate_args: Any = None,
    donate_kwargs: Any = None,
    **jit_kwargs: Any,
) -> Any:
    """`jax.jit` for functions over NamedArrays and modules, with name-based sharding.

    Usable as ``@named_jit``, ``@named_jit(axis_resources=...)`` or ``named_jit(fn, mapping)``; ``fn`` may be a
    class (``named_jit(MyModule.init)(...)``, ``named_jit(MyModule)(...)``).

    * Arguments are partitioned Equinox-style: JAX/NumPy arrays (including the arrays inside NamedArrays and
      modules) are traced; everything else is static (must be hashable; the compile cache is keyed on it).
      Non-array outputs are returned as the static values produced while tracing.
    * While tracing, ``axis_resources`` (or, if None, the ambient `haliax.partitioning.axis_mapping`) is the
      active axis mapping, so `haliax.auto_sharded` and friends see it.
    * Outputs are sharded by name with ``out_axis_resources`` (default: ``axis_resources``; nothing when both
      are None). Inputs are resharded with ``in_axis_resources`` only when it is given. Without a mesh the
      sharding steps are no-ops, so ``named_jit`` also works on one device with no mapping.
    * ``donate_args``: a bool (all positional arguments) or a tuple with one bool (or pytree prefix of bools) per
      positional argument; ``donate_kwargs``: a bool or a dict ``{name: bool}``.
    * ``.lower(*args, **kwargs)`` returns a `jax.stages.Lowered`.
    * An axis whose size its mesh axes do not divide: the inputs (``in_axis_resources``, resharded outside
      ``jit``) and everything on an all-Explicit mesh raise `PartitioningError`, as `shard` does; the outputs and
      ``auto_sharded`` values on an Auto mesh get a sharding constraint inside ``jit``, which JAX pads, so no
      error is raised there. Round such axes up with `round_axis_for_partitioning` to avoid the padding.
    * Arguments of the wrong kind (a mapping that is not a dict, ``donate_args`` that is neither a bool nor a
      tuple of them) raise ``TypeError`` when the wrapper is built.

    Args:
        fn: the function (or class) to compile; omit to use ``named_jit`` as a decorator factory.
        axis_resources: the axis mapping active while tracing, and the default for outputs.
        in_axis_resources: the axis mapping the inputs are resharded with (default: no resharding).
        out_axis_resources: the axis mapping the outputs are sharded with (default: ``axis_resources``).
        donate_args: which positional arguments to donate: a bool, or one bool (or pytree prefix) per argument.
        donate_kwargs: which keyword arguments to donate: a bool or ``{name: bool}``.
        **jit_kwargs: further options of `jax.jit`.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 3)
        >>> @hax.named_jit
        ... def double(x, n):
        ...     return x * n, n
        >>> y, n = double(hax.ones(X), 2)
        >>> y.tolist(), n
        ([2.0, 2.0, 2.0], 2)
    """
    if fn is None or isinstance(fn, Mapping):
        if isinstance(fn, Mapping):
            axis_resources, fn = fn, None
        return functools.partial(
            named_jit,
            axis_resources=axis_resources,
            in_axis_resources=in_axis_resources,
            out_axis_resources=out_axis_resources,
            donate_args=donate_args,
            donate_kwargs=donate_kwargs,
            **jit_kwargs,
        )
    return _NamedJitWrapper(
        fn, axis_resources, in_axis_resources, out_axis_resources, donate_args, donate_kwargs, jit_kwargs
    )


def fsdp(
    fn: Callable[..., Any] | Mapping[str, Any] | None = None,
    parameter_mapping: Any = None,
    compute_mapping: Any = None,
) -> Any:
    """Fully-sharded data parallel jit: ``named_jit(fn, in_axis_resources=parameter_mapping,
    out_axis_resources=parameter_mapping, axis_resources=compute_mapping)``.

    Also usable as a decorator: ``@fsdp(parameter_mapping, compute_mapping)``.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> X = hax.Axis("X", 4)
        >>> step = hax.fsdp(lambda x: x + 1, {"X": "data"}, {"X": "data"})
        >>> mesh = jax.make_mesh((1,), ("data",), devices=jax.devices()[:1])
        >>> with jax.set_mesh(mesh):
        ...     y = step(hax.zeros(X))
        >>> y.tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    if fn is None or isinstance(fn, Mapping):
        if isinstance(fn, Mapping):
            fn, parameter_mapping, compute_mapping = None, fn, parameter_mapping

        def decorator(f: Callable[..., Any]) -> Any:
            return fsdp(f, parameter_mapping, compute_mapping)

        return decorator
    return named_jit(
        fn,
        in_axis_resources=parameter_mapping,
        out_axis_resources=parameter_mapping,
        axis_resources=compute_mapping,
    )
