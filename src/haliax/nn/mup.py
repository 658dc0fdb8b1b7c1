"""Reparameterisations (standard parameterisation and µP) for Linear and Embedding layers.

A reparameterisation class says three things about a layer, as functions of its axis sizes:

* ``init_scale(In, Out)``: multiplies the truncated-normal initialisation (together with the user's
  ``init_scale``);
* ``active_scale``: multiplies the weight at every forward call (and is folded into Linear state-dict export);
* ``lr_scale``: a learning-rate multiplier. **The library never applies it**; it is metadata for a user
  optimizer (e.g. multiply each layer's SGD step by ``layer.reparam.lr_scale``).

Embedding reparameterisations also have ``unembed_active_scale``, multiplying the logits of
`Embedding.unembed`.

| class | init_scale | active_scale | lr_scale | unembed_active_scale |
|---|---|---|---|---|
| `LinearStandardParam` | 1/sqrt(N) | 1 | 1 | – |
| `InputLinearMup` | 1 | 1 | 1 | – |
| `HiddenLinearMup` | 1/sqrt(N) | 1 | 1/N | – |
| `OutputLinearMup` | 1 | 1/N | 1 | – |
| `EmbeddingStandardParam` | 1/E | 1 | 1 | 1 |
| `EmbeddingMup` | 1 | 1 | 1 | 1/E |

(N = total size of the Linear's input axes, E = total size of the embedding axes.)

Reparameterisation classes are stored on modules as static class references, so switching from standard
to µP does not change the pytree leaves of a model.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass

import equinox as eqx

from ..axis import AxisSpec, axis_size

__all__ = [
    "ReparamEnabled",
    "AbstractReparam",
    "AbstractLinearReparam",
    "AbstractEmbeddingReparam",
    "LinearStandardParam",
    "InputLinearMup",
    "HiddenLinearMup",
    "OutputLinearMup",
    "EmbeddingStandardParam",
    "EmbeddingMup",
]


class AbstractReparam(abc.ABC):
    """Base of every reparameterisation: ``init_scale`` (abstract), ``active_scale`` and ``lr_scale`` (both 1
    unless a subclass overrides them).

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.mup import HiddenLinearMup
        >>> In, Out = hax.make_axes(In=16, Out=8)
        >>> p = HiddenLinearMup(In, Out)
        >>> HiddenLinearMup.init_scale(In, Out), p.active_scale, p.lr_scale
        (0.25, 1, 0.0625)
    """

    @staticmethod
    @abc.abstractmethod
    def init_scale(In: AxisSpec, Out: AxisSpec) -> float:
        """Multiplier of the unit truncated-normal initialisation."""

    @property
    def lr_scale(self) -> float:
        """Learning-rate multiplier for this layer (never applied by the library); 1 by default."""
        return 1

    @property
    def active_scale(self) -> float:
        """Multiplier applied to the weight at every forward call; 1 by default."""
        return 1


@dataclass
class AbstractLinearReparam(AbstractReparam):
    """Reparameterisation of a Linear layer, built as ``cls(In, Out)``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.mup import LinearStandardParam
        >>> In, Out = hax.make_axes(In=4, Out=2)
        >>> LinearStandardParam(In, Out).In
        Axis(name='In', size=4)
    """

    In: AxisSpec
    Out: AxisSpec


@dataclass
class AbstractEmbeddingReparam(AbstractReparam):
    """Reparameterisation of an Embedding, built as ``cls(Embed, Vocab)`` (note the order).

    Adds `unembed_active_scale`, the multiplier of the logits produced by `Embedding.unembed`.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.mup import EmbeddingMup
        >>> Vocab, Embed = hax.make_axes(Vocab=10, Embed=4)
        >>> EmbeddingMup(Embed, Vocab).unembed_active_scale
        0.25
    """

    Embed: AxisSpec
    Vocab: AxisSpec

    @property
    @abc.abstractmethod
    def unembed_active_scale(self) -> float:
        """Multiplier of the unembedding logits."""


class LinearStandardParam(AbstractLinearReparam):
    """Standard parameterisation: init std ``1/sqrt(fan_in)``, no active or learning-rate scaling.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.mup import LinearStandardParam
        >>> In, Out = hax.make_axes(In=16, Out=8)
        >>> LinearStandardParam.init_scale(In, Out)
        0.25
    """

    @staticmethod
    def init_scale(In: AxisSpec, Out: AxisSpec) -> float:
        return 1 / math.sqrt(axis_size(In))


class InputLinearMup(AbstractLinearReparam):
    """µP for an input layer: init scale 1, no active scaling, learning-rate scale 1.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.mup import InputLinearMup
        >>> In, Out = hax.make_axes(In=16, Out=8)
        >>> InputLinearMup.init_scale(In, Out), InputLinearMup(In, Out).lr_scale
        (1, 1)
    """

    @staticmethod
    def init_scale(In: AxisSpec, Out: AxisSpec) -> float:
        return 1


class HiddenLinearMup(AbstractLinearReparam):
    """µP for a hidden layer: init ``1/sqrt(fan_in)`` (as standard), learning-rate scale ``1/fan_in``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.mup import HiddenLinearMup
        >>> In, Out = hax.make_axes(In=4, Out=8)
        >>> HiddenLinearMup(In, Out).lr_scale
        0.25
    """

    @staticmethod
    def init_scale(In: AxisSpec, Out: AxisSpec) -> float:
        return 1 / math.sqrt(axis_size(In))

    @property
    def lr_scale(self) -> float:
        return 1 / axis_size(self.In)


class OutputLinearMup(AbstractLinearReparam):
    """µP for an output layer: init scale 1, weight multiplied by ``1/fan_in`` at every call.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.mup import OutputLinearMup
        >>> In, Out = hax.make_axes(In=4, Out=2)
        >>> OutputLinearMup(In, Out).active_scale
        0.25
    """

    @staticmethod
    def init_scale(In: AxisSpec, Out: AxisSpec) -> float:
        return 1

    @property
    def active_scale(self) -> float:
        return 1 / axis_size(self.In)


class EmbeddingStandardParam(AbstractEmbeddingReparam):
    """Standard embedding parameterisation: init scale ``1/E`` (divided by the width, not its square root).

    ``init_scale`` is called as ``init_scale(Vocab, Embed)``, so its second argument is the embedding spec.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.mup import EmbeddingStandardParam
        >>> Vocab, Embed = hax.make_axes(Vocab=10, Embed=4)
        >>> EmbeddingStandardParam.init_scale(Vocab, Embed)
        0.25
    """

    @staticmethod
    def init_scale(In: AxisSpec, Out: AxisSpec) -> float:
        return 1 / axis_size(Out)

    @property
    def unembed_active_scale(self) -> float:
        return 1


class EmbeddingMup(AbstractEmbeddingReparam):
    """µP embedding: init scale 1; unembedding logits are multiplied by ``1/E``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.mup import EmbeddingMup
        >>> Vocab, Embed = hax.make_axes(Vocab=10, Embed=4)
        >>> EmbeddingMup.init_scale(Vocab, Embed), EmbeddingMup(Embed, Vocab).unembed_active_scale
        (1, 0.25)
    """

    @staticmethod
    def init_scale(In: AxisSpec, Out: AxisSpec) -> float:
        return 1

    @property
    def unembed_active_scale(self) -> float:
        return 1 / axis_size(self.Embed)


class ReparamEnabled(abc.ABC):
    """Mixin for modules with a reparameterisation: they expose a ``reparam`` attribute (an abstract
    Equinox variable, usually a property building ``self._reparam_cls(...)``).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.nn.mup import ReparamEnabled
        >>> In, Out = hax.make_axes(In=4, Out=2)
        >>> isinstance(hnn.Linear.init(In, Out, key=jax.random.PRNGKey(0)), ReparamEnabled)
        True
    """

    reparam: eqx.AbstractVar[AbstractReparam]
