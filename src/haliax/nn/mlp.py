"""A multilayer perceptron built from `haliax.nn.Linear` layers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax

from ..axis import Axis, AxisSpec
from ..core import NamedArray
from ..dot_general import DotGeneralOp
from ..random import check_key
from .activations import relu
from .layer_utils import init_axes
from .linear import Linear

__all__ = ["MLP"]

DEFAULT_WIDTH_NAME = "mlp"
"""The name of the hidden axis when `MLP.init` is given an int ``width``."""


def _maybe_split(key: jax.Array | None, n: int) -> list[jax.Array | None]:
    if key is None:
        return [None] * n
    return list(jax.random.split(key, n))


class MLP(eqx.Module):
    """A multilayer perceptron (MLP) / feed-forward neural network (FFNN).

    In Haliax every axis needs a name, and names must be unique within an array, so hidden layers alternate
    between two names: the width axis (``"mlp"`` when ``width`` is an int, else the given Axis's name) and that
    name plus ``"2"`` (``"mlp2"``), with the same size. Input and output names must be specified, and are not
    repeated.

    ``activation`` is a static field: it is applied after every layer except the last. ``layers`` is a tuple
    of `Linear` (state-dict keys ``layers.{i}.weight`` / ``layers.{i}.bias``).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, In, Out = hax.make_axes(B=2, In=3, Out=1)
        >>> mlp = hnn.MLP.init(In, Out, width=8, depth=2, key=jax.random.PRNGKey(0))
        >>> [(l.In.name, l.Out.name) for l in mlp.layers]
        [('In', 'mlp'), ('mlp', 'mlp2'), ('mlp2', 'Out')]
        >>> mlp(hax.ones((B, In))).axes == (B, Out)
        True
    """

    activation: Callable[[NamedArray], NamedArray] = eqx.field(static=True)
    layers: Sequence[Linear]

    @staticmethod
    def init(
        Input: AxisSpec,
        Output: AxisSpec,
        width: int | Axis,
        depth: int,
        activation: Callable[[NamedArray], NamedArray] = relu,
        *,
        out_first: bool = True,
        use_bias: bool = True,
        use_final_bias: bool = True,
        key: jax.Array,
        dot_general: DotGeneralOp | None = None,
        init_scale: float = 1.0,
    ) -> MLP:
        """Build an MLP with ``depth`` hidden layers (``depth + 1`` Linear layers).

        Layer 0 maps ``Input → W``; middle layers alternate ``W → W2``, ``W2 → W``; the last maps to ``Output``.
        With ``depth == 0`` there is a single ``Input → Output`` layer using the final-layer options.

        Args:
            Input: input axis spec (may be several axes; other input axes are batch axes).
            Output: output axis spec.
            width: hidden width: an int (axis `DEFAULT_WIDTH_NAME`, ``"mlp"``) or an Axis used as is.
            depth: number of hidden layers.
            activation: applied after every layer but the last.
            out_first: weight layout of every layer (see `Linear.init`).
            use_bias: bias on every layer but the last.
            use_final_bias: bias on the last layer.
            key: PRNG key, split into ``depth + 1`` keys.
            dot_general: passed to every layer.
            init_scale: passed to every layer.

        Raises:
            ValueError: if ``depth`` is negative, ``width`` is not positive, or two axes a layer maps between
                share a name (``Input`` and ``width``, the last hidden axis and ``Output``, or ``Input`` and
                ``Output`` when ``depth == 0``). The message names these roles; Haliax's names the inner
                ``Linear`` only.
            TypeError: if ``key`` is not a PRNG key or ``activation`` is not callable.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> In, Out = hax.make_axes(In=3, Out=2)
            >>> len(hnn.MLP.init(In, Out, width=4, depth=0, key=jax.random.PRNGKey(0)).layers)
            1
        """
        if isinstance(depth, bool) or not isinstance(depth, int):
            raise TypeError(f"MLP.init: argument 'depth' must be an int, got {depth!r}")
        if depth < 0:
            raise ValueError(f"MLP.init: argument 'depth' must be >= 0, got {depth}")
        if isinstance(width, Axis):
            W = width
        elif isinstance(width, int) and not isinstance(width, bool):
            if width <= 0:
                raise ValueError(f"MLP.init: argument 'width' must be positive, got {width}")
            W = Axis(DEFAULT_WIDTH_NAME, width)
        else:
            raise TypeError(f"MLP.init: argument 'width' must be an int or an Axis, got {width!r}")
        W2 = W.alias(W.name + "2")
        if not callable(activation):  # otherwise the first call fails with "'str' object is not callable"
            raise TypeError(
                f"MLP.init: argument 'activation' must be a callable such as hnn.relu or hnn.gelu, got {activation!r}"
            )
        check_key(key, "MLP.init")
        # the axes each Linear maps between must differ; name them by MLP.init's arguments, not Linear's
        if depth == 0:
            init_axes("MLP.init", {"Input": Input, "Output": Output}, nonzero=("Input",))
        else:
            init_axes("MLP.init", {"Input": Input, "width": W}, nonzero=("Input", "width"))
            last, label = (W, "width") if depth % 2 == 1 else (W2, f"the last hidden axis {W2.name} (width renamed)")
            init_axes("MLP.init", {label: last, "Output": Output})
        keys = jax.random.split(key, depth + 1)
        common = dict(out_first=out_first, dot_general=dot_general, init_scale=init_scale)
        layers: list[Linear] = []
        if depth == 0:
            layers.append(Linear.init(Input, Output, key=keys[0], use_bias=use_final_bias, **common))  # type: ignore[arg-type]
        else:
            layers.append(Linear.init(Input, W, key=keys[0], use_bias=use_bias, **common))  # type: ignore[arg-type]
            cur = W
            for i in range(1, depth):
                nxt = W2 if cur == W else W
                layers.append(Linear.init(cur, nxt, key=keys[i], use_bias=use_bias, **common))  # type: ignore[arg-type]
                cur = nxt
            layers.append(Linear.init(cur, Output, key=keys[-1], use_bias=use_final_bias, **common))  # type: ignore[arg-type]
        return MLP(activation=activation, layers=tuple(layers))

    @property
    def In(self) -> AxisSpec:
        """The input axes (of the first layer)."""
        return self.layers[0].In

    @property
    def Out(self) -> AxisSpec:
        """The output axes (of the last layer)."""
        return self.layers[-1].Out

    def __call__(self, x: NamedArray, *, key: jax.Array | None = None) -> NamedArray:
        """Apply every layer; the activation follows each layer except the last. ``key`` is split per layer."""
        keys = _maybe_split(key, len(self.layers))
        for layer, k in zip(self.layers[:-1], keys[:-1], strict=True):
            x = self.activation(layer(x, key=k))
        return self.layers[-1](x, key=keys[-1])
