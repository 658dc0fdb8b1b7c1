"""haliax.ops: the operation families over named arrays, one module per family.

Importing this package attaches the `NamedArray` methods and operators (`haliax.ops.array_methods`). The names
below are re-exported here as in Haliax's ``haliax.ops``; every operation is also available at the top level.
"""

from . import array_methods as array_methods
from .bits import packbits as packbits, unpackbits as unpackbits
from .counting import (
    bincount as bincount,
    searchsorted as searchsorted,
    unique as unique,
    unique_all as unique_all,
    unique_counts as unique_counts,
    unique_inverse as unique_inverse,
    unique_values as unique_values,
)
from .elementwise import clip as clip, isclose as isclose
from .indexing import where as where
from .linalg import trace as trace, tril as tril, triu as triu
from .shape import pad as pad, pad_left as pad_left

__all__ = [
    "trace",
    "where",
    "tril",
    "triu",
    "isclose",
    "pad_left",
    "pad",
    "clip",
    "packbits",
    "unpackbits",
    "unique",
    "unique_values",
    "unique_counts",
    "unique_inverse",
    "unique_all",
    "searchsorted",
    "bincount",
]
