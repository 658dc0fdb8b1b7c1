"""Compatibility alias module: ``haliax._src.rearrange`` is a private path where Haliax keeps the string form of
rearrange, and some user code imports it from there.

`einops_rearrange` is the very object `haliax.rearrange` (which also takes the sequence form); nothing in haliax
imports this module.

Examples:
    >>> import haliax as hax
    >>> from haliax._src.rearrange import einops_rearrange
    >>> x = hax.zeros(hax.make_axes(B=2, E=6))
    >>> [str(a) for a in einops_rearrange(x, "b (h d) -> h b d", h=3).axes]
    ['h(3)', 'B(2)', 'd(2)']
"""

from __future__ import annotations

from ..ops.shape import rearrange as einops_rearrange

__all__ = ["einops_rearrange"]
