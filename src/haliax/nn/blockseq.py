"""`BlockSeq`: the Python-loop twin of `haliax.nn.Stacked` (re-exported from `haliax.nn.scan` and `haliax.nn`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
from jax.core import Tracer

from ..axis import Axis
from ..checkpoint_policy import ScanCheckpointPolicy, ScanCheckpointSpec
from ..jax_utils import tree_checkpoint_name
from ..state_dict import ModuleWithStateDictSerialization
from .layer_stack import (
    LayerStack,
    M,
    ModuleInit,
    carry_and_output,
    check_layer_keys,
    layer_args,
    layer_index,
    stack_layers,
)

__all__ = ["BlockSeq"]


class BlockSeq(ModuleWithStateDictSerialization, LayerStack[M]):
    """A sequence of separately stored layers with the interface of `haliax.nn.Stacked`, run with a Python loop.

    Each layer is traced (and compiled) separately, so compile time grows with depth, but layers are free to
    differ in shape, and it is handy for debugging. Results, gradients and state dicts (``prefix.{i}.…``) are
    the same as `Stacked`'s for the same layers.

    Haliax stores ``gradient_checkpointing`` but never applies it; we apply the policy per block, with the same
    meaning as in `Stacked` (block carries tagged ``"scan(<Block>)__carry"``, block weights and sliced arguments
    ``"scan(<Block>)__input"``; ``nested=k`` checkpoints groups of ``len/k`` blocks). Haliax's tags
    ``"BlockSeq[<Block>, <Class>].carry"`` / ``".outputs"`` are also emitted between blocks.
    ``Layers`` is an alias of ``Block``.

    State dicts are loaded block by block: block ``i`` is loaded from the keys ``prefix.{i}.…``, through its own
    ``from_state_dict`` if its class defines one (called once per block, with that block as ``self``). This
    differs from `Stacked`, whose blocks are one stacked module, so a block's own ``from_state_dict`` runs once on
    all layers at once. Haliax's BlockSeq does not load such blocks layer by layer correctly; we do.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> E, L = hax.make_axes(E=4, L=3)
        >>> keys = jax.random.split(jax.random.PRNGKey(0), L.size)
        >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=keys)
        >>> stack = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=keys)
        >>> bool(hax.allclose(seq.fold(hax.ones(E)), stack.fold(hax.ones(E)), atol=1e-5))
        True
    """

    blocks: list[M]
    Block: Axis = eqx.field(static=True)
    gradient_checkpointing: ScanCheckpointPolicy = eqx.field(
        static=True, default=ScanCheckpointPolicy(disable=True, save_inputs=True, save_block_internals=True)
    )
    _kind = "BlockSeq"

    @classmethod
    def init(
        cls,
        Block: Axis,
        module: type[M],
        *,
        gradient_checkpointing: ScanCheckpointSpec = False,
        prevent_cse: bool | None = None,
    ) -> ModuleInit[BlockSeq[M]]:
        """A function building the layers: ``Module.init`` is called once per layer ``i`` with the arguments
        sliced the way `Stacked.init` (i.e. `haliax.vmap`) slices them: NamedArrays containing ``Block`` →
        index ``i`` along it; plain arrays with a leading dim → ``x[i]``; everything else unchanged.

        Args:
            Block: the axis whose size is the number of layers.
            module: the Equinox Module class of a layer; its ``init`` builds one layer.
            gradient_checkpointing: the checkpointing policy applied to each block (as in `Stacked`).
            prevent_cse: passed to `jax.checkpoint` (None: the policy's default).

        Raises:
            TypeError: ``module`` is not an Equinox Module class with an ``init``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> len(seq.blocks), seq.blocks[0].layers[1].bias.axes == (E,)
            (3, True)
        """
        make_layer, policy = cls._init_parts(Block, module, gradient_checkpointing, prevent_cse)

        def build(*args: Any, **kwargs: Any) -> BlockSeq[M]:
            check_layer_keys(kwargs, Block, "BlockSeq.init")
            return cls(
                [make_layer(*a, **kw) for a, kw in layer_args(args, kwargs, Block, "BlockSeq.init")], Block, policy
            )

        return build

    # -- running ---------------------------------------------------------------------------------

    def _loop(self, fn: Callable[..., Any], unroll: int | bool, pair: bool, where: str) -> Callable[..., Any]:
        def do(init: Any, *args: Any, **kwargs: Any) -> Any:
            return self._run(fn, init, args, kwargs, pair, where)

        return do

    def _run(self, fn: Callable[..., Any], init: Any, args: Any, kwargs: Any, want_pair: bool, where: str) -> Any:
        # Outside a scan, XLA may CSE a rematerialised block with its forward pass, so prevent it (a scan does not
        # need this, hence the policy's default of False).
        policy = dataclasses.replace(self.gradient_checkpointing, prevent_cse=True)
        n = len(self.blocks)
        if n != self.Block.size:
            raise ValueError(f"{where}: {n} blocks but the layer axis is {self.Block}")
        carry_name, input_name = f"scan({self.Block.name})__carry", f"scan({self.Block.name})__input"
        ref_tag = f"BlockSeq[{self.Block}, {type(self.blocks[0]).__name__ if n else 'None'}]"

        def body(carry: Any, block: Any, a: Any, kw: Any) -> tuple[Any, Any]:
            carry = tree_checkpoint_name(carry, carry_name)
            if not policy.disable:  # as in `haliax.scan`: inputs are tagged only when a policy reads the tag
                block, a, kw = tree_checkpoint_name((block, a, kw), input_name)
            out = fn(block, carry, *a, **kw)
            return carry_and_output(out, where) if want_pair else (out, None)

        step = policy.checkpoint(carry_name, input_name, body)
        per_layer_args = layer_args(args, kwargs, self.Block, where)

        def run(carry: Any, blocks: Sequence[Any], largs: Sequence[Any]) -> tuple[Any, list[Any]]:
            outs = []
            for block, (a, kw) in zip(blocks, largs, strict=True):
                carry, y = step(carry, block, a, kw)
                carry = tree_checkpoint_name(carry, f"{ref_tag}.carry")
                outs.append(tree_checkpoint_name(y, f"{ref_tag}.outputs"))
            return carry, outs

        outer = policy.outer_size(n)
        if outer is None:
            carry, outs = run(init, self.blocks, per_layer_args)
        else:
            size = n // outer
            chunk = eqx.filter_checkpoint(run, prevent_cse=True)
            carry, outs = init, []
            for c in range(outer):
                sl = slice(c * size, (c + 1) * size)
                carry, o = chunk(carry, self.blocks[sl], per_layer_args[sl])
                outs.extend(o)
        if not want_pair:
            return carry
        return carry, (stack_layers(outs, self.Block, where) if outs else None)

    def fold(self, init: Any, *args: Any, unroll: int | bool | None = None, **kwargs: Any) -> Any:
        """Run the blocks in order, ``carry = block(carry, *args, **kwargs)`` (same slicing of extra arguments
        as `Stacked.fold`); ``unroll`` is validated and ignored.

        Args:
            init: the initial carry.
            *args: extra positional arguments, sliced per block as in `Stacked.fold`.
            unroll: validated and ignored (the blocks run in a Python loop).
            **kwargs: extra keyword arguments, sliced per block as in `Stacked.fold`.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> seq.fold(hax.ones(E)).axes == (E,)
            True
        """
        return self.fold_via(type(self.blocks[0]).__call__, unroll=unroll)(init, *args, **kwargs)

    def scan(self, init: Any, *args: Any, unroll: int | bool | None = None, **kwargs: Any) -> tuple[Any, Any]:
        """Like `fold`, but each block returns ``(carry, output)``; outputs are stacked along ``Block``.

        Args:
            init: the initial carry.
            *args: extra positional arguments, sliced per block as in `Stacked.fold`.
            unroll: validated and ignored (the blocks run in a Python loop).
            **kwargs: extra keyword arguments, sliced per block as in `Stacked.fold`.

        Raises:
            ValueError: a block does not return a pair (e.g. a single NamedArray).

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> _, outs = seq.scan_via(lambda mlp, x: (mlp(x), x))(hax.ones(E))
            >>> outs.axes == (L, E)
            True
        """
        return self.scan_via(type(self.blocks[0]).__call__, unroll=unroll)(init, *args, **kwargs)

    def fold_via(self, fn: Callable[..., Any], *, unroll: int | bool | None = None) -> Callable[..., Any]:
        """``(init, *args, **kwargs) -> carry`` folding with ``fn(block, carry, *args, **kwargs)``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> seq.fold_via(lambda mlp, x: x + mlp.layers[1].bias)(hax.ones(E)).tolist()
            [1.0, 1.0]
        """
        return self._via(fn, unroll, pair=False)

    def scan_via(self, fn: Callable[..., Any], *, unroll: int | bool | None = None) -> Callable[..., Any]:
        """``(init, *args, **kwargs) -> (carry, outputs)`` with ``fn(block, carry, *args, **kwargs) -> (carry, out)``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> seq.scan_via(lambda mlp, x: (x, mlp.layers[1].bias))(hax.ones(E))[1].axes == (L, E)
            True
        """
        return self._via(fn, unroll, pair=True)

    def vmap_via(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``(*args, **kwargs) -> outputs``: ``fn(block, *args_i, **kwargs_i)`` for every block, outputs stacked
        along ``Block`` (arguments sliced as in `Stacked.vmap_via`).

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> seq.vmap_via(lambda mlp, x: mlp.layers[1].bias + x)(hax.ones(E)).axes == (L, E)
            True
        """

        def do(*args: Any, **kwargs: Any) -> Any:
            per_layer = layer_args(args, kwargs, self.Block, "BlockSeq.vmap")
            outs = [fn(block, *a, **kw) for block, (a, kw) in zip(self.blocks, per_layer, strict=False)]
            return stack_layers(outs, self.Block, "BlockSeq.vmap")

        return do

    def vmap(self, *args: Any, **kwargs: Any) -> Any:
        """Apply every block to the same inputs: ``vmap_via(type(block).__call__)``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> seq.vmap(hax.ones(E)).axes == (L, E)
            True
        """
        return self.vmap_via(type(self.blocks[0]).__call__)(*args, **kwargs)

    # -- layers and state dict -------------------------------------------------------------------

    def unstacked(self) -> Sequence[M]:
        """The blocks (the list itself).

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> seq.unstacked() is seq.blocks
            True
        """
        return self.blocks

    def get_layer(self, index: int) -> M:
        """Block ``index`` (negative indices count from the end, as in Python).

        Raises:
            haliax.axis.AxisIndexError: ``index`` is outside ``-Block.size .. Block.size - 1`` (both an
                ``IndexError`` and a ``ValueError``), as for `Stacked.get_layer`.
            TypeError: ``index`` is not a concrete integer.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> seq.get_layer(1) is seq.blocks[1]
            True
        """
        if isinstance(index, Tracer):
            raise TypeError("BlockSeq.get_layer: argument 'index' must be a concrete integer (the blocks are a list)")
        return self.blocks[layer_index(index, self.Block, "BlockSeq.get_layer")]

    def _state_dict_key_map(self) -> dict[str, str | None]:
        return {"blocks": None}
