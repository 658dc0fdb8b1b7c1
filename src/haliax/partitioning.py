"""Mapping logical axis names to mesh axes. (Minimal: the context and ``auto_sharded``; the rest of the
partitioning layer is built out in this module.)"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["ResourceAxis", "ResourceMapping", "axis_mapping", "current_thread_local_mapping", "auto_sharded"]

ResourceMapping = Mapping[str, "str | Sequence[str] | None"]


class ResourceAxis:
    """Conventional mesh axis names."""

    MODEL = "model"
    DATA = "data"
    REPLICA = "replica"


class _State(threading.local):
    mapping: ResourceMapping | None = None


_state = _State()


def current_thread_local_mapping() -> ResourceMapping | None:
    """The active axis mapping, or None."""
    return _state.mapping


@contextlib.contextmanager
def axis_mapping(mapping: ResourceMapping, *, merge: bool = False, **kwargs: Any) -> Iterator[ResourceMapping]:
    """Make ``mapping`` (plus ``kwargs``) the active logical-to-mesh axis mapping in this thread."""
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


def auto_sharded(x: Any, mesh: Any = None) -> Any:
    """Shard ``x`` by the active mapping; a no-op without one."""
    if _state.mapping is None:
        return x
    from . import partitioning as _p

    shard = getattr(_p, "shard", None)
    if shard is None:
        return x
    return shard(x, _state.mapping, mesh)
