"""`AbstractStacked`: what the pytree helpers need to know about a stack of layers.

`haliax.tree_util.scan_aware_tree_map` (and through it the state-dict export helpers) descends into a stack of
layers one layer at a time. It only needs the two attributes declared here, so it depends on this small base class
rather than on `haliax.nn.Stacked`, which lives in a higher layer and subclasses it.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import equinox as eqx

from .axis import Axis

__all__ = ["AbstractStacked"]

M = TypeVar("M")


class AbstractStacked(eqx.Module, Generic[M]):
    """A module holding ``Block.size`` layers as one module, ``stacked``, whose NamedArrays have the ``Block``
    axis and whose plain arrays have a leading dim of ``Block.size`` (non-array fields are shared by all layers).

    Subclasses (such as `haliax.nn.Stacked`) declare the two fields ``stacked`` (a pytree child) and ``Block``
    (static). Code below the `haliax.nn` layer checks ``isinstance(x, AbstractStacked)`` to treat such a module
    layer by layer.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.abstract_stacked import AbstractStacked
        >>> E, F, L = hax.make_axes(E=2, F=4, L=3)
        >>> s = hnn.Stacked.init(L, hnn.Linear)(E, F, key=jax.random.split(jax.random.PRNGKey(0), 3))
        >>> isinstance(s, AbstractStacked), s.Block == L
        (True, True)
    """

    stacked: eqx.AbstractVar[M]
    Block: eqx.AbstractVar[Axis]
