"""Helpers of `haliax.state_dict`: strict-load checking and atomic, validated safetensors files.

The public names defined here (`LoadReport`, `KeyMismatch`, `StateDictMismatchError`, `StateDictFileError`) are
re-exported by `haliax.state_dict`; use them from there.

Strict loading works for every module without changes to the modules themselves: the *outermost*
``from_state_dict`` call (the function, or any module's method) compares the state dict with
``to_state_dict(template)`` (traced with `jax.eval_shape`, so nothing is computed), raises one error listing
every problem, or (``strict=False``) patches the dict so the ordinary, lenient walk can load what matches. The
nested calls that module implementations make for their children run the plain walk.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import difflib
import functools
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["KeyMismatch", "LoadReport", "StateDictMismatchError", "StateDictFileError"]

_LOADING: contextvars.ContextVar[bool] = contextvars.ContextVar("haliax_state_dict_loading", default=False)
_MARK_NONE: contextvars.ContextVar[bool] = contextvars.ContextVar("haliax_state_dict_mark_none", default=False)


class _NoneField:
    """Marker emitted by ``to_state_dict`` for a None field while the expected keys are computed."""

    def __repr__(self) -> str:
        return "<None field>"


NONE_FIELD = _NoneField()


def none_entry(prefix: str | None) -> dict[str, Any]:
    """What ``to_state_dict`` returns for a None leaf: ``{}``, or a marker while strict loading inspects keys."""
    if prefix is not None and _MARK_NONE.get():
        return {prefix: NONE_FIELD}
    return {}


# --------------------------------------------------------------------------------------------------
# reports and errors


class KeyMismatch(NamedTuple):
    """A key present in both the state dict and the template whose shape or dtype differ.

    Examples:
        >>> from haliax.state_dict import KeyMismatch
        >>> m = KeyMismatch("fc.bias", (3,), "float32", (4,), "float32")
        >>> m.key, m.expected_shape
        ('fc.bias', (4,))
    """

    key: str
    shape: tuple[int, ...]
    dtype: str | None
    expected_shape: tuple[int, ...]
    expected_dtype: str | None

    def describe(self) -> str:
        """One line: what the state dict has and what the template needs."""
        return (
            f"{self.key!r}: the state dict has shape {self.shape} {self.dtype or '(no dtype)'}, "
            f"expected shape {self.expected_shape} {self.expected_dtype}"
        )


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What a non-strict load found (``from_state_dict(..., strict=False)`` returns ``(tree, report)``).

    Attributes:
        missing: array keys the template needs that the state dict lacks; they keep the template's values.
        unexpected: keys of the state dict (under the prefix) that the template has no place for; unused.
        mismatched: keys whose shape or dtype differ from the template's. A shape mismatch keeps the
            template's value; a dtype-only mismatch is loaded and cast to the template's dtype (as
            ``torch.nn.Module.load_state_dict`` does).
        ignored: keys naming a field that the template holds as None (e.g. ``bias`` for a bias-free Linear).
            They are not errors even when strict: the reference pins that such a field stays None.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.state_dict import from_state_dict
        >>> tree = {"w": hax.zeros(hax.Axis("D", 2)), "b": hax.zeros(hax.Axis("D", 2))}
        >>> loaded, report = from_state_dict(tree, {"w": jnp.ones(2), "extra": jnp.ones(1)}, strict=False)
        >>> report.missing, report.unexpected, report.ok
        (('b',), ('extra',), False)
        >>> loaded["w"].tolist(), loaded["b"].tolist()
        ([1.0, 1.0], [0.0, 0.0])
    """

    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    mismatched: tuple[KeyMismatch, ...] = ()
    ignored: tuple[str, ...] = ()
    expected: Mapping[str, tuple[tuple[int, ...], str | None]] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def ok(self) -> bool:
        """True when nothing is missing, unexpected or mismatched (``ignored`` keys do not count)."""
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, where: str = "from_state_dict", prefix: str | None = None) -> str:
        """A multi-line human-readable account, one key per line (what the strict error says)."""
        under = f" under prefix {prefix!r}" if prefix is not None else ""
        lines = [f"{where}: the state dict does not match the template{under}:"]
        if self.missing:
            lines.append(f"  missing keys ({len(self.missing)}):")
            for k in self.missing:
                shape, dtype = self.expected.get(k, ((), None))
                close = _mutual_closest(k, self.missing, self.unexpected)
                hint = f"; closest unexpected key: {close!r}" if close else ""
                lines.append(f"    {k!r}: expected shape {shape} {dtype}{hint}")
        if self.unexpected:
            lines.append(f"  unexpected keys ({len(self.unexpected)}): " + ", ".join(map(repr, self.unexpected)))
        if self.mismatched:
            lines.append(f"  shape/dtype mismatches ({len(self.mismatched)}):")
            lines.extend(f"    {m.describe()}" for m in self.mismatched)
        lines.append("Pass strict=False to load what matches and get these lists back as a LoadReport.")
        return "\n".join(lines)


def _mutual_closest(key: str, missing: tuple[str, ...], unexpected: tuple[str, ...]) -> str | None:
    """The unexpected key most like ``key``, if ``key`` is also the missing key most like it (likely a typo)."""
    close = difflib.get_close_matches(key, unexpected, n=1, cutoff=0.6)
    if close and difflib.get_close_matches(close[0], missing, n=1, cutoff=0.6) == [key]:
        return close[0]
    return None


class StateDictMismatchError(KeyError, ValueError):
    """Raised by a strict load: lists every missing, unexpected and mis-shaped (or mis-typed) key at once.

    It is both a ``KeyError`` (what a missing key raised before strict loading existed) and a ``ValueError``
    (what a shape mismatch raised). The full `LoadReport` is in ``.report``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.state_dict import StateDictMismatchError, from_state_dict
        >>> try:
        ...     from_state_dict({"w": hax.zeros(hax.Axis("D", 2))}, {"w": jnp.ones(3)})
        ... except StateDictMismatchError as e:
        ...     print(e.report.mismatched[0].expected_shape)
        (2,)
    """

    def __init__(self, message: str, report: LoadReport):
        super().__init__(message)
        self.message = message
        self.report = report

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class StateDictFileError(ValueError):
    """A file given to `haliax.state_dict.load_state_dict` is not a complete, valid safetensors file.

    Examples:
        >>> import os, tempfile
        >>> from haliax.state_dict import StateDictFileError, load_state_dict
        >>> path = os.path.join(tempfile.mkdtemp(), "broken.safetensors")
        >>> _ = open(path, "wb").write(b"not a checkpoint")
        >>> try:
        ...     load_state_dict(path)
        ... except StateDictFileError as e:
        ...     print("corrupt" in str(e))
        True
    """


# --------------------------------------------------------------------------------------------------
# comparing


def _is_array_like(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _dtype_name(x: Any) -> str | None:
    """The dtype ``x`` gets on device (JAX canonicalises, e.g. float64 → float32 without x64), or None."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return None
    try:
        return str(jax.dtypes.canonicalize_dtype(np.dtype(dtype)))
    except TypeError:  # e.g. a torch dtype: not comparable, skip the check
        return None


def _under(key: str, prefix: str | None) -> bool:
    return prefix is None or key == prefix or key.startswith(prefix + ".")


def compare_state_dicts(expected: Mapping[str, Any], given: Mapping[str, Any], prefix: str | None) -> LoadReport:
    """Compare the template's expected entries (arrays or ShapeDtypeStructs; non-array entries are optional;
    `NONE_FIELD` entries name None fields) with a state dict. Only keys under ``prefix`` can be unexpected."""
    missing, mismatched, shapes = [], [], {}
    none_keys = [k for k, v in expected.items() if v is NONE_FIELD]
    for k, exp in expected.items():
        if not _is_array_like(exp):
            continue
        shapes[k] = (tuple(exp.shape), _dtype_name(exp))
        got = given.get(k)
        if got is None:
            missing.append(k)
            continue
        got_shape, got_dtype = tuple(np.shape(got)), _dtype_name(got)
        if got_shape != shapes[k][0] or (got_dtype is not None and shapes[k][1] not in (None, got_dtype)):
            mismatched.append(KeyMismatch(k, got_shape, got_dtype, *shapes[k]))
    unexpected, ignored = [], []
    for k in given:
        if (k in expected and expected[k] is not NONE_FIELD) or not _under(k, prefix):
            continue
        if any(k == n or k.startswith(n + ".") for n in none_keys):
            ignored.append(k)
        else:
            unexpected.append(k)
    return LoadReport(tuple(missing), tuple(unexpected), tuple(mismatched), tuple(ignored), shapes)


def _expected_entries(template: Any, prefix: str | None) -> dict[str, Any]:
    """``to_state_dict(template, prefix)`` with arrays as ShapeDtypeStructs (traced, nothing computed) and
    None fields marked."""
    from .state_dict import to_state_dict  # the walkers live there and import this module

    token = _MARK_NONE.set(True)
    try:
        dynamic, static = eqx.partition(template, lambda x: eqx.is_array(x) or isinstance(x, jax.ShapeDtypeStruct))
        others: dict[str, Any] = {}
        order: list[str] = []

        def arrays_of(dyn: Any) -> dict[str, Any]:
            sd = to_state_dict(eqx.combine(dyn, static), prefix)
            order.extend(sd)
            others.update({k: v for k, v in sd.items() if not eqx.is_array(v)})
            return {k: v for k, v in sd.items() if eqx.is_array(v)}

        try:
            arrays = jax.eval_shape(arrays_of, dynamic)
        except Exception:  # a module whose to_state_dict cannot be traced: compute it for real
            others.clear()
            order.clear()
            return to_state_dict(template, prefix)
        merged = {**arrays, **others}
        return {k: merged[k] for k in order}
    finally:
        _MARK_NONE.reset(token)


def _patched(template: Any, state_dict: Mapping[str, Any], prefix: str | None, report: LoadReport) -> dict[str, Any]:
    """The state dict with missing and mis-shaped keys taken from the template and dtype-only mismatches cast."""
    from .state_dict import to_state_dict

    out = dict(state_dict)
    need = set(report.missing) | {m.key for m in report.mismatched if m.shape != m.expected_shape}
    if need:
        concrete = jax.tree.map(
            lambda x: jnp.zeros(x.shape, x.dtype) if isinstance(x, jax.ShapeDtypeStruct) else x, template
        )
        values = to_state_dict(concrete, prefix)
        out.update({k: values[k] for k in need})
    for m in report.mismatched:
        if m.key not in need:
            out[m.key] = jnp.asarray(state_dict[m.key]).astype(m.expected_dtype)
    return out


def checked_load(
    template: Any,
    state_dict: Mapping[str, Any],
    prefix: str | None,
    strict: bool,
    load: Callable[..., Any],
    where: str,
) -> Any:
    """Run ``load(template, state_dict, prefix)`` (the lenient walk) with the strict-load policy around it.

    Only the outermost call checks; nested calls (modules loading their children) run ``load`` directly and
    return a plain tree whatever ``strict`` says.
    """
    if _LOADING.get():
        return load(template, state_dict, prefix)
    report = compare_state_dicts(_expected_entries(template, prefix), state_dict, prefix)
    if strict and not report.ok:
        raise StateDictMismatchError(report.describe(where, prefix), report)
    if not report.ok:
        state_dict = _patched(template, state_dict, prefix, report)
    token = _LOADING.set(True)
    try:
        out = load(template, state_dict, prefix)
    finally:
        _LOADING.reset(token)
    return out if strict else (out, report)


def where(mod: Any) -> str:
    """How errors name a module's loader, e.g. ``"Linear.from_state_dict"``."""
    return f"{type(mod).__name__}.from_state_dict"


def strict_method(impl: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a module's ``from_state_dict(self, state_dict, prefix)`` override with the ``strict`` policy."""

    @functools.wraps(impl)
    def from_state_dict(self: Any, state_dict: Mapping[str, Any], prefix: str | None = None, *, strict: bool = True):
        return checked_load(self, state_dict, prefix, strict, impl, where(self))

    from_state_dict._haliax_strict = True  # type: ignore[attr-defined]
    return from_state_dict


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


# --------------------------------------------------------------------------------------------------
# safetensors files


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
