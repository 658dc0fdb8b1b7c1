"""Safetensors files for `haliax.state_dict`: atomic writes, validated reads, and host copies of arrays.

This module knows nothing about modules or state-dict keys: it moves flat ``{name: array}`` dicts between host
memory and files. Files are written atomically (temp file in the same folder, fsync, rename, fsync the folder) and
validated when read (`StateDictFileError` for a truncated or corrupt file). Every file we write carries a CRC-32
of each tensor's bytes in its header metadata (`CHECKSUM_KEY`, a JSON object ``{name: "crc32 hex"}``); reads
verify them, so one flipped byte in a payload is an error, not silently different weights. Files without the
entry (written by other tools) load unchecked. Paths that cannot be used raise `StateDictPathError`, naming the
path the caller gave.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import functools
import json
import os
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

from .state_dict_errors import StateDictFileError, StateDictPathError

__all__ = [
    "CHECKSUM_KEY",
    "to_numpy",
    "tensor_checksums",
    "unsupported_dtype",
    "atomic_write_safetensors",
    "read_safetensors",
]

CHECKSUM_KEY = "haliax.crc32"
"""The header metadata entry holding ``{tensor name: CRC-32 of its bytes as 8 hex digits}`` (JSON)."""


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


@functools.lru_cache(maxsize=64)
def unsupported_dtype(dtype: np.dtype) -> str | None:
    """Why safetensors cannot store ``dtype`` (its own message), or None when it can (probed on an empty array)."""
    try:
        _import_safetensors().numpy.save({"probe": np.zeros((0,), dtype)})
    except Exception as e:  # SafetensorError: Unknown dtype "...". Supported dtypes: ...
        return str(e)
    return None


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


def _crc32(a: np.ndarray) -> str:
    """CRC-32 of an array's bytes in C order (what safetensors stores), as 8 hex digits."""
    flat = np.ascontiguousarray(a).reshape(-1)
    return f"{zlib.crc32(flat.view(np.uint8).data if flat.size else b''):08x}"


def tensor_checksums(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """The metadata entry recording a CRC-32 of every tensor's bytes (``{CHECKSUM_KEY: json}``)."""
    return {CHECKSUM_KEY: json.dumps({k: _crc32(v) for k, v in arrays.items()}, sort_keys=True)}


def _check_writable_path(path: str, fn: str) -> None:
    if os.path.isdir(path):
        raise StateDictPathError(
            f"{fn}: argument 'path': {path!r} is a directory; give a file path such as "
            f"{os.path.join(path, 'model.safetensors')!r}",
            errno.EISDIR,
            path,
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise StateDictPathError(
            f"{fn}: argument 'path': cannot write {path!r}: the folder {folder!r} does not exist "
            "(create it first, e.g. os.makedirs(folder, exist_ok=True))",
            errno.ENOENT,
            path,
        )


def atomic_write_safetensors(
    arrays: dict[str, np.ndarray], path: str, metadata: dict[str, str], fn: str = "save_state_dict"
) -> None:
    """Write a safetensors file atomically: a temp file in the same folder, fsync, rename over ``path``, fsync
    the folder. If anything fails (or the process dies) before the rename, ``path`` keeps its old content.

    A path that cannot be written raises `StateDictPathError` naming ``path`` (never the temporary file)."""
    path = os.fspath(path)
    _check_writable_path(path, fn)
    try:
        with _temp_beside(path) as tmp:
            mode = os.stat(tmp).st_mode & 0o777  # 0o666 minus the umask
            _write_safetensors(arrays, tmp, metadata)
            os.chmod(tmp, mode)  # safetensors itself creates 0o600 files
            _fsync(tmp)
            os.replace(tmp, path)
    except OSError as e:
        if isinstance(e, StateDictPathError):
            raise
        raise StateDictPathError(
            f"{fn}: argument 'path': cannot write {path!r}: {e.strerror or e}", e.errno, path
        ) from e
    with contextlib.suppress(OSError):  # not every filesystem can fsync a directory
        _fsync(os.path.dirname(os.path.abspath(path)))


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    """Read every tensor of a safetensors file into host memory, or raise `StateDictFileError`.

    The header is validated against the file size before any tensor is read, so a truncated or corrupt file
    fails cleanly; reads use ``pread`` (not a memory map), so a file shrunk by someone else cannot crash us.
    """
    st = _import_safetensors()
    path = os.fspath(path)
    if os.path.isdir(path):
        found = sorted(n for n in os.listdir(path) if n.endswith(".safetensors"))
        hint = f"; it holds {', '.join(map(repr, found[:5]))}" if found else "; it holds no .safetensors file"
        raise StateDictPathError(
            f"load_state_dict: argument 'path': {path!r} is a directory, not a safetensors file{hint}",
            errno.EISDIR,
            path,
        )
    if not os.path.exists(path):  # still a FileNotFoundError, but naming the function and nearby files
        folder = os.path.dirname(path) or "."
        near = sorted(n for n in os.listdir(folder) if n.endswith(".safetensors")) if os.path.isdir(folder) else []
        close = difflib.get_close_matches(os.path.basename(path), near, n=1)
        hint = f" (did you mean {os.path.join(os.path.dirname(path), close[0])!r}?)" if close else ""
        if not os.path.isdir(folder):
            hint = f" (the folder {folder!r} does not exist either)"
        raise FileNotFoundError(errno.ENOENT, f"load_state_dict: argument 'path': no such file{hint}", path)
    try:
        with st.safe_open(path, framework="numpy", backend="pread") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not a Mapping
            metadata = f.metadata() or {}
    except OSError:
        raise
    except Exception as e:  # SafetensorError and friends
        raise StateDictFileError(
            f"load_state_dict: {path!r} is not a valid safetensors file (corrupt or truncated?): {e}"
        ) from e
    _verify_checksums(tensors, metadata.get(CHECKSUM_KEY), path)
    return tensors


def _verify_checksums(tensors: dict[str, np.ndarray], entry: str | None, path: str) -> None:
    """Compare each tensor's CRC-32 with the one recorded at save time (no entry: nothing to check)."""
    if entry is None:
        return
    try:
        recorded = json.loads(entry)
        if not isinstance(recorded, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        raise StateDictFileError(
            f"load_state_dict: {path!r}: the checksum entry {CHECKSUM_KEY!r} of the header is not readable ({e}); "
            "the file is corrupt"
        ) from None
    for name, crc in recorded.items():
        if name not in tensors:
            raise StateDictFileError(
                f"load_state_dict: {path!r}: tensor {name!r} has a checksum but is missing from the file; "
                "the file is corrupt"
            )
        actual = _crc32(tensors[name])
        if actual != crc:
            raise StateDictFileError(
                f"load_state_dict: {path!r}: tensor {name!r} fails its checksum (CRC-32 {actual}, recorded "
                f"{crc} at save time): the file is corrupt; re-save or re-download it"
            )
