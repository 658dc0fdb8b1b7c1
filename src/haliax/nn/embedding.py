"""Embedding lookup tables over named axes."""

from __future__ import annotations

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..axis import Axis, AxisIndexError, AxisSpec, concat_axes
from ..core import NamedArray
from ..ops.linalg import dot
from ..partitioning import auto_sharded
from ..random import check_key
from ..tree_util import resize_axis
from .layer_utils import check_has_axes, check_reparam_cls, init_axes, truncated_normal_init
from .mup import AbstractEmbeddingReparam, EmbeddingStandardParam, ReparamEnabled

__all__ = ["Embedding"]


def _check_ids_in_range(input_ids: NamedArray | int, Vocab: Axis) -> None:
    """Raise `AxisIndexError` for concrete ids outside ``[-V, V)`` (traced ids are left to the NaN fill)."""
    raw = input_ids.array if isinstance(input_ids, NamedArray) else input_ids
    if isinstance(raw, Tracer):
        return
    ids = np.asarray(raw)
    V = Vocab.size
    bad = (ids < -V) | (ids >= V)
    if not bad.any():
        return
    first = np.argwhere(bad)[0] if ids.ndim else ()
    where = ""
    if isinstance(input_ids, NamedArray) and ids.ndim:
        where = " at " + ", ".join(f"{a.name}={int(i)}" for a, i in zip(input_ids.axes, first, strict=True))
    raise AxisIndexError(
        f"Embedding.embed: argument 'input_ids' has {int(bad.sum())} id(s) out of bounds for axis {Vocab.name} "
        f"with size {V} (valid: {-V} to {V - 1}); first: {int(ids[tuple(first)])}{where}"
    )


class Embedding(eqx.Module, ReparamEnabled):
    """A lookup table mapping integer ids along ``Vocab`` to vectors (or tensors) over ``Embed``.

    Fields: ``weight`` (axes ``Vocab`` then the ``Embed`` axes), ``Vocab`` and ``Embed`` (static) and
    ``_reparam_cls`` (static, default `EmbeddingStandardParam`). Uses the default state-dict logic (a single
    ``weight`` key, Vocab-major, never rescaled).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> Vocab, Embed, Pos = hax.make_axes(Vocab=10, Embed=4, Pos=3)
        >>> emb = hnn.Embedding.init(Vocab, Embed, key=jax.random.PRNGKey(0))
        >>> emb(hax.arange(Pos)).axes == (Pos, Embed)
        True
    """

    weight: NamedArray
    Vocab: Axis = eqx.field(static=True)
    Embed: AxisSpec = eqx.field(static=True)
    _reparam_cls: type[AbstractEmbeddingReparam] = eqx.field(static=True, default=EmbeddingStandardParam)

    @property
    def reparam(self) -> AbstractEmbeddingReparam:
        """The reparameterisation, ``self._reparam_cls(Embed, Vocab)``."""
        return self._reparam_cls(self.Embed, self.Vocab)

    @staticmethod
    def init(
        Vocab: Axis,
        Embed: AxisSpec,
        *,
        init_scale: float = 1,
        key: jax.Array,
        initializer_range: float | None = None,
        reparam_cls: type[AbstractEmbeddingReparam] = EmbeddingStandardParam,
    ) -> Embedding:
        """Initialize an Embedding module.

        Weights are drawn with one truncated-normal call (``[-3, 3]``, not renormalised) over ``(Vocab, *Embed)``
        and multiplied by ``init_scale * reparam_cls.init_scale(Vocab, Embed)``. For the standard
        parameterisation that is ``init_scale / Embed.size`` — divided by the embedding width, not its square
        root — so the empirical std is about ``0.9866 * init_scale / Embed.size``.

        Args:
            Vocab: Size of the vocabulary.
            Embed: Shape of the embedding vectors. May be a single axis or a full AxisSpec.
            init_scale: Scale of the initialization.
            key: PRNG key.
            initializer_range: Deprecated. Use init_scale instead (if given, it replaces ``init_scale``).
            reparam_cls: the reparameterisation (`haliax.nn.mup`).

        Raises:
            ValueError: if ``Vocab`` and ``Embed`` share an axis name, ``Embed`` names an axis twice, or ``Embed``
                has size 0 (the initial scale divides by it; Haliax raises ``ZeroDivisionError`` there).
            TypeError: if ``key`` is not a PRNG key.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> Vocab, Embed = hax.make_axes(Vocab=10, Embed=4)
            >>> hnn.Embedding.init(Vocab, Embed, key=jax.random.PRNGKey(0)).weight.axes == (Vocab, Embed)
            True
        """
        if initializer_range is not None:
            warnings.warn("initializer_range is deprecated. Use init_scale instead.", DeprecationWarning, stacklevel=2)
            init_scale = initializer_range
        check_key(key, "Embedding.init")
        init_axes("Embedding.init", {"Vocab": Vocab, "Embed": Embed}, nonzero=("Embed",))
        check_reparam_cls(reparam_cls, AbstractEmbeddingReparam, EmbeddingStandardParam, "Embedding.init")
        all_axes = concat_axes(Vocab, Embed)
        weight = truncated_normal_init(key, all_axes, init_scale * reparam_cls.init_scale(Vocab, Embed))
        return Embedding(weight=weight, Vocab=Vocab, Embed=Embed, _reparam_cls=reparam_cls)

    def __call__(self, input_ids: NamedArray, *, key: jax.Array | None = None) -> NamedArray:
        """Alias for `embed` (``key`` is ignored)."""
        return self.embed(input_ids)

    def embed(self, input_ids: NamedArray | int) -> NamedArray:
        """Look up the rows of ``input_ids``.

        The output axes are ``input_ids.axes`` followed by the ``Embed`` axes. Negative ids count from the end
        (``-1`` is the last row), as in `jnp.take`.

        Ids outside ``[-Vocab.size, Vocab.size)`` raise `haliax.axis.AxisIndexError` (an ``IndexError`` and a
        ``ValueError``) naming the ``Vocab`` axis and its size, whenever the ids are concrete (eager calls,
        including under `jax.grad` of the weights). Under `jax.jit` the ids are traced and cannot be checked:
        there an out-of-range id gives a row of NaN, never a valid-looking row. Haliax returns the NaN row
        in eager calls too.

        Args:
            input_ids: token IDs (an integer NamedArray, or a Python int for a single row).

        Raises:
            ValueError: if ``input_ids`` does not have an integer dtype, or has an axis named like an ``Embed``
                axis (Haliax gathers along it silently, one coordinate per id).
            AxisIndexError: if concrete ids fall outside ``[-Vocab.size, Vocab.size)``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> Vocab, Embed, B = hax.make_axes(Vocab=10, Embed=4, B=2)
            >>> emb = hnn.Embedding.init(Vocab, Embed, key=jax.random.PRNGKey(0))
            >>> emb.embed(hax.zeros(B, dtype=int)).axes == (B, Embed)
            True
        """
        if isinstance(input_ids, NamedArray):
            if not jnp.issubdtype(input_ids.dtype, jnp.integer):
                raise ValueError(
                    f"Embedding.embed: argument 'input_ids' must have an integer dtype, got {input_ids.dtype} "
                    f"(axes {tuple(str(a) for a in input_ids.axes)})"
                )
        elif isinstance(input_ids, bool) or not isinstance(input_ids, int):
            raise TypeError(
                f"Embedding.embed: argument 'input_ids' must be an integer NamedArray, got {type(input_ids).__name__}"
            )
        if isinstance(input_ids, NamedArray):
            embed_axes = tuple(a for a in self.weight.axes if a.name != self.Vocab.name)
            shared = [str(a) for a in input_ids.axes if a.name in {e.name for e in embed_axes}]
            if shared:  # take would gather along it as a batch axis: one coordinate per id, silently
                raise ValueError(
                    f"Embedding.embed: argument 'input_ids' has axes ({', '.join(shared)}) named like the Embed "
                    f"axes of the weight ({', '.join(str(a) for a in embed_axes)}); the output would "
                    "need that name twice. Rename the ids' axis (e.g. input_ids.rename({...}))"
                )
        _check_ids_in_range(input_ids, self.Vocab)
        out = self.weight.take(self.Vocab, input_ids, mode="fill")
        scale = self.reparam.active_scale
        if scale != 1:
            out = out * scale
        return auto_sharded(out)

    def unembed(self, input_embeds: NamedArray) -> NamedArray:
        """Unembed the input embeddings back to the vocabulary space.

        Equivalent to ``input_embeds.dot(self.weight, axis=self.Embed)`` times the reparameterisation's
        ``unembed_active_scale``. Output axes: the input's axes other than ``Embed``, then ``Vocab``.

        Raises:
            ValueError: if ``input_embeds`` lacks an ``Embed`` axis, or already has an axis named like ``Vocab``
                (Haliax's ``dot`` pairs it with the weight's and returns one logit per position, silently).

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> Vocab, Embed, B = hax.make_axes(Vocab=10, Embed=4, B=2)
            >>> emb = hnn.Embedding.init(Vocab, Embed, key=jax.random.PRNGKey(0))
            >>> emb.unembed(hax.ones((B, Embed))).axes == (B, Vocab)
            True
        """
        check_has_axes(input_embeds, self.Embed, "Embedding.unembed", "input_embeds", "Embed")
        if any(a.name == self.Vocab.name for a in input_embeds.axes):  # dot would pair it with the weight's Vocab
            raise ValueError(
                f"Embedding.unembed: argument 'input_embeds' already has an axis named like Vocab {self.Vocab} "
                f"(axes {', '.join(str(a) for a in input_embeds.axes)}); the output adds Vocab, so that name would "
                "appear twice. Rename the input's axis first"
            )
        out = dot(input_embeds, self.weight, axis=self.Embed)
        scale = self.reparam.unembed_active_scale
        if scale != 1:
            out = out * scale
        return auto_sharded(out)

    def resize_embeddings(self, new_size: int, key: jax.Array | None = None) -> Embedding:
        """Resize the embedding layer to a new vocabulary size.

        Shrinking keeps the first ``new_size`` rows. Growing appends rows drawn as
        ``truncated_normal(-2, 2) * std + mean`` of the existing rows (per embedding coordinate) when a key is
        given, and equal to that per-coordinate mean otherwise.

        Args:
            new_size: New size of the vocabulary.
            key: PRNG key for initialization of any new weights.

        Returns:
            The resized embedding layer.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> Vocab, Embed = hax.make_axes(Vocab=10, Embed=4)
            >>> emb = hnn.Embedding.init(Vocab, Embed, key=jax.random.PRNGKey(0))
            >>> emb.resize_embeddings(12, key=jax.random.PRNGKey(1)).weight.shape
            {'Vocab': 12, 'Embed': 4}
        """

        new_weight = resize_axis(self.weight, self.Vocab, new_size, key=key)
        return Embedding(
            weight=new_weight, Vocab=self.Vocab.resize(new_size), Embed=self.Embed, _reparam_cls=self._reparam_cls
        )
