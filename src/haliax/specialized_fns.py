"""Specialised selection functions.

``top_k`` lives in `haliax.ops.reductions` and is also ``haliax.top_k``; this module is the path under
which Haliax documents it (``from haliax.specialized_fns import top_k``). It is the very same function.

Examples:
    >>> import haliax as hax
    >>> from haliax.specialized_fns import top_k
    >>> top_k is hax.ops.reductions.top_k
    True
"""

from .ops.reductions import top_k as top_k

__all__ = ["top_k"]
