"""haliax.ops: the operation families over named arrays (one module per family).

Importing this package attaches the `NamedArray` methods and operators (`haliax.ops.array_methods`).
"""

from . import array_methods as array_methods
