"""Compatibility module: `named_jit` and `fsdp` are defined in `haliax.partitioning` (the same objects).

Examples:
    >>> import haliax as hax
    >>> from haliax.jit import named_jit
    >>> named_jit is hax.partitioning.named_jit
    True
"""

from __future__ import annotations

from .partitioning import fsdp, named_jit

__all__ = ["named_jit", "fsdp"]
