"""Safetensors files for `haliax.state_dict`: atomic writes, validated reads, and host copies of arrays.

This module knows nothing about modules or state-dict keys: it moves flat ``{name: array}`` dicts between host
memory and files. Files are written atomically (temp file in the same folder, fsync, rename, fsync the folder) and
validated when read (`StateDictFileError` for a truncated or corrupt file).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

from .state_dict_errors import StateDictFileError

__all__ = ["to_numpy", "atomic_write_safetensors", "read_safetensors"]


def _is_array_like(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def to_numpy(x: Any) -> Any:
    """A JAX array (gathered across processes if sharded) or array-like as host NumPy; other values as is."""
    if isinstance(x, jax.Array):
        if not x.is_fully_addressable:
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(jax.device_get(x))
    if _is_array_like(x) and not isinstance(x, jax.ShapeDtypeStruct):
        return np.asarray(x)
    return x


def _import_safetensors() -> Any:
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as e:  # pragma: no cover - safetensors is a hard dependency
        raise ImportError("haliax.state_dict: saving and loading files requires the safetensors package") from e
    return safetensors


def _write_safetensors(arrays: dict[str, np.ndarray], path: str, metadata: dict[str, str]) -> None:
    """Write the file body (the one step tests interrupt to simulate a crash mid-save)."""
    _import_safetensors().numpy.save_file(arrays, path, metadata=metadata)


def _fsync(path: str, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _temp_beside(path: str) -> Iterator[str]:
    """A fresh empty file in ``path``'s folder (mode from the umask, like a normal file), removed on error."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_safetensors(arrays: dict[str, np.ndarray], path: str, metadata: dict[str, str]) -> None:
    """Write a safetensors file atomically: a temp file in the same folder, fsync, rename over ``path``, fsync
    the folder. If anything fails (or the process dies) before the rename, ``path`` keeps its old content."""
    path = os.fspath(path)
    with _temp_beside(path) as tmp:
        mode = os.stat(tmp).st_mode & 0o777  # 0o666 minus the umask
        _write_safetensors(arrays, tmp, metadata)
        os.chmod(tmp, mode)  # safetensors itself creates 0o600 files
        _fsync(tmp)
        os.replace(tmp, path)
    with contextlib.suppress(OSError):  # not every filesystem can fsync a directory
        _fsync(os.path.dirname(os.path.abspath(path)))


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    """Read every tensor of a safetensors file into host memory, or raise `StateDictFileError`.

    The header is validated against the file size before any tensor is read, so a truncated or corrupt file
    fails cleanly; reads use ``pread`` (not a memory map), so a file shrunk by someone else cannot crash us.
    """
    st = _import_safetensors()
    path = os.fspath(path)
    try:
        with st.safe_open(path, framework="numpy", backend="pread") as f:
            return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not a Mapping
    except OSError:
        raise
    except Exception as e:  # SafetensorError and friends
        raise StateDictFileError(
            f"load_state_dict: {path!r} is not a valid safetensors file (corrupt or truncated?): {e}"
        ) from e
