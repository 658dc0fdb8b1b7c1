"""`named_jit`: `jax.jit` with Equinox-style argument partitioning and named-axis sharding, and `fsdp`.

There is no ``haliax.filter_jit``: `equinox.filter_jit` works directly (NamedArray is a pytree whose axes are
static aux data). `named_jit` adds the axis-mapping context and name-based shardings on top of the same idea.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax

from ._args import prefix_leaves
from .util import safe_update_wrapper

__all__ = ["named_jit", "fsdp"]

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


def _sharding_fn(name: str) -> Callable[..., Any] | None:
    from . import partitioning

    return getattr(partitioning, name, None)


def _shard(tree: Any, mapping: Any) -> Any:
    shard = _sharding_fn("shard")
    if shard is None or mapping is None:
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
            from .partitioning import axis_mapping

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
            from .partitioning import current_thread_local_mapping

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
