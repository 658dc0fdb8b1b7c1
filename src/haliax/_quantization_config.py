"""`QuantizationConfig` and `quantize_linear_layers`: swap the ``dot_general`` of selected Linear layers.

Public names re-exported by `haliax.quantization`.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

from . import nn as hnn
from ._quantization_fp8 import Fp8DotGeneralOp
from ._quantization_int8 import Int8DotGeneralOp

__all__ = ["QuantizationConfig", "quantize_linear_layers"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class QuantizationConfig:
    """Which Linear layers to quantise, and how (a plain frozen dataclass, usable as a config-file field).

    Fields: ``targets`` (None: every Linear; a list: layers whose *last* path component is in it; a str: a
    regex ``re.match``-ed against the full ``.``-joined path), ``amax_history_length`` (FP8 delayed-scaling
    history), ``compute_dtype`` (FP8; None: the kernel's dtype), ``fp8`` and ``int8`` (at most one of them).

    Raises:
        ValueError: if both ``fp8`` and ``int8`` are set (also an ``AssertionError``, what Haliax raises).

    Examples:
        >>> from haliax.quantization import QuantizationConfig
        >>> cfg = QuantizationConfig(targets=["up_proj"], fp8=True)
        >>> cfg.amax_history_length, cfg.compute_dtype, cfg.int8
        (1024, None, False)
        >>> try:
        ...     QuantizationConfig(fp8=True, int8=True)
        ... except ValueError as e:
        ...     print(e)
        Cannot use FP8 and INT8 quantization at the same time.
    """

    targets: list[str] | str | None = None
    amax_history_length: int = 1024
    compute_dtype: DTypeLike | None = None
    fp8: bool = False
    int8: bool = False

    def __post_init__(self) -> None:
        if self.fp8 and self.int8:
            raise _BothFormatsError("Cannot use FP8 and INT8 quantization at the same time.")


class _BothFormatsError(ValueError, AssertionError):
    """``fp8`` and ``int8`` both set: a ``ValueError`` (a bad argument) and an ``AssertionError`` (Haliax's)."""


def _key_name(entry: Any) -> str:
    """One key-path entry as a path component: attribute name, sequence index or dict key."""
    for attr in ("name", "idx", "key"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def _target_matcher(targets: Any) -> Callable[[tuple[str, ...]], bool]:
    where = "quantize_linear_layers"
    if targets is None:
        return lambda path: True
    if isinstance(targets, str):
        try:
            pattern = re.compile(targets)
        except re.error as e:
            raise ValueError(f"{where}: config.targets {targets!r} is not a valid regular expression: {e}") from e
        return lambda path: pattern.match(".".join(path)) is not None
    if isinstance(targets, (list, tuple)) and all(isinstance(t, str) for t in targets):
        names = frozenset(targets)
        return lambda path: (path[-1] if path else "") in names
    raise TypeError(f"{where}: config.targets must be None, a regex str or a list of str, got {targets!r}")


def _stacked_op(make_op: Callable[[], Any], block_sizes: tuple[int, ...]) -> Any:
    """``make_op()`` with every array given the leading dims ``block_sizes`` (one per enclosing Stacked,
    outermost first): the op mapped over the layers, as ``Stacked.fold`` and ``scan`` slice it."""
    op = make_op()
    if not block_sizes:
        return op
    return jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, block_sizes + tuple(a.shape)), op)


def quantize_linear_layers(tree: T, config: QuantizationConfig) -> T:
    """Give every matching `haliax.nn.Linear` in ``tree`` a fresh quantised ``dot_general``.

    The op is ``Fp8DotGeneralOp.init(config.amax_history_length, config.compute_dtype)`` when ``config.fp8``,
    ``Int8DotGeneralOp.init()`` when ``config.int8``; an existing op (even a quantised one) is replaced. With
    neither flag the tree comes back unchanged, with a ``UserWarning``. Only ``Linear`` is converted (not
    ``MoELinear``, ``Conv``, ...); modules, lists, tuples, dicts and ``BlockSeq`` are walked.

    A layer's path joins its key-path entries with ``.`` (attribute names, sequence indices, dict keys); a
    Linear at the root has the path ``""``. ``targets=None`` matches every Linear, a list matches layers whose
    last path component is in it (``["up_proj"]``, or ``["0", "1"]`` for ``MLP.layers[0..1]``), a str is a regex
    ``re.match``-ed (anchored at the start only) against the full path.

    Inside a `haliax.nn.Stacked` the walk descends into its ``stacked`` field, so a Linear there has a path like
    ``blocks.stacked.up_proj``, and its op's arrays get a leading dim per enclosing Stacked (outermost first),
    e.g. ``input_scale.shape == (Layers, 1)``, which ``fold``/``scan`` slice per layer. (Haliax drops the
    Stacked's own path here and matches ``stacked.up_proj``, so a regex naming the full path silently matches
    nothing; here the full path is used.)

    Raises:
        TypeError: if ``config`` is not a `QuantizationConfig`, or ``config.targets`` is not None, a str or a list
            of str.
        ValueError: if ``config.targets`` is an invalid regex.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.quantization import QuantizationConfig, quantize_linear_layers
        >>> In, Out = hax.make_axes(In=4, Out=4)
        >>> mlp = hnn.MLP.init(In, Out, width=8, depth=2, key=jax.random.PRNGKey(0))
        >>> q = quantize_linear_layers(mlp, QuantizationConfig(targets="layers.0", fp8=True))
        >>> [type(layer.dot_general).__name__ for layer in q.layers]
        ['Fp8DotGeneralOp', 'DefaultDotGeneralOp', 'DefaultDotGeneralOp']
    """
    if not isinstance(config, QuantizationConfig):  # a dict or an argparse namespace would fail on .fp8 below
        raise TypeError(
            f"quantize_linear_layers: argument 'config' must be a QuantizationConfig, got {type(config).__name__}; "
            "build one with QuantizationConfig(**fields)"
        )
    if config.fp8:
        history, compute_dtype = config.amax_history_length, config.compute_dtype

        def make_op() -> Any:
            return Fp8DotGeneralOp.init(history, compute_dtype)
    elif config.int8:
        make_op = Int8DotGeneralOp.init
    else:
        warnings.warn(
            "Both fp8 and int8 are set to False. `quantize_linear_layers()` is no-op.", UserWarning, stacklevel=2
        )
        return tree

    matches = _target_matcher(config.targets)

    def is_leaf(x: Any) -> bool:
        return isinstance(x, (hnn.Linear, hnn.Stacked))

    def walk(subtree: Any, prefix: tuple[str, ...], block_sizes: tuple[int, ...]) -> Any:
        def visit(key_path: Any, x: Any) -> Any:
            path = prefix + tuple(_key_name(k) for k in key_path)
            if isinstance(x, hnn.Stacked):
                inner = walk(x.stacked, (*path, "stacked"), (*block_sizes, x.Block.size))
                return eqx.tree_at(lambda s: s.stacked, x, inner)
            if isinstance(x, hnn.Linear) and matches(path):
                return eqx.tree_at(lambda layer: layer.dot_general, x, _stacked_op(make_op, block_sizes))
            return x

        return jax.tree_util.tree_map_with_path(visit, subtree, is_leaf=is_leaf)

    return walk(tree, (), ())
