"""What loading a state dict can report: `LoadReport`, `KeyMismatch`, `StateDictMismatchError`, `StateDictFileError`,
`StateDictPathError`.

A strict load (`haliax.state_dict.from_state_dict` and friends) raises `StateDictMismatchError`, which carries a
`LoadReport`; a non-strict load returns the `LoadReport` itself. `StateDictFileError` is raised by
`haliax.state_dict.load_state_dict` for a file that is not a complete, valid safetensors file. Use these names from
`haliax.state_dict`, which re-exports them; this module depends on nothing else in haliax, so the strict-load
checker and the file reader can both raise them.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["KeyMismatch", "LoadReport", "StateDictMismatchError", "StateDictFileError", "StateDictPathError"]


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
            They are not errors even when strict: as in Haliax, such a field stays None.

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


class StateDictPathError(StateDictFileError, OSError):
    """A path given to `haliax.state_dict.save_state_dict` or `~haliax.state_dict.load_state_dict` that cannot be
    used: a folder that does not exist, a directory where a file is expected, a file that cannot be written.

    The message names the path the caller gave (never a temporary file) and what to do. It is a ``ValueError``
    (a bad argument, like every `StateDictFileError`) and an ``OSError``, so code written for Haliax, where the
    operating system's error escapes, still catches it. A missing file given to ``load_state_dict`` stays a
    plain ``FileNotFoundError``.

    Examples:
        >>> import os, tempfile
        >>> from haliax.state_dict import StateDictPathError, load_state_dict
        >>> folder = tempfile.mkdtemp()
        >>> try:
        ...     load_state_dict(folder)
        ... except StateDictPathError as e:
        ...     print("is a directory" in str(e), isinstance(e, ValueError), isinstance(e, OSError))
        True True True
    """

    def __init__(self, message: str, errno: int | None = None, filename: str | None = None):
        super().__init__(message)
        self.message = message
        self.errno = errno
        self.strerror = message
        self.filename = filename

    def __str__(self) -> str:  # OSError's str would prefix "[Errno n]"
        return self.message
