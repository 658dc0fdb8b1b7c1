"""Linear layers over named axes (several input and output axes allowed)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.core import Tracer

from ..axis import (
    Axis,
    AxisSpec,
    axis_name,
    axis_size,
    axis_spec_to_tuple,
    concat_axes,
    locate_axis,
)
from ..core import NamedArray, from_validated
from ..dot_general import DefaultDotGeneralOp, DotGeneralOp
from ..ops.creation import zeros
from ..ops.linalg import contraction_fn, contraction_plan, dot
from ..ops.shape import flatten_axes, rearrange, unflatten_axis
from ..partitioning import auto_sharded, explicit_auto_axes, explicit_out_sharding
from ..random import check_key
from ..state_dict import (
    ModuleWithStateDictSerialization,
    StateDict,
    from_state_dict,
    replace_fields,
    to_state_dict,
    with_prefix,
)
from .layer_utils import check_has_axes, check_reparam_cls, init_axes, truncated_normal_init
from .mup import (
    AbstractLinearReparam,
    HiddenLinearMup,
    InputLinearMup,
    LinearStandardParam,
    OutputLinearMup,
    ReparamEnabled,
)

__all__ = ["Linear", "MoELinear"]

_OUT = "__OUT__"
_IN = "__IN__"


_ACTIVE_SCALES: dict[tuple[Any, ...], float] = {}


def _active_scale(cls: type[AbstractLinearReparam], In: AxisSpec, Out: AxisSpec) -> float:
    """``cls(In, Out).active_scale``, cached: building the reparam Module costs more than an eager matmul."""
    key = (cls, In, Out)
    try:
        scale = _ACTIVE_SCALES.get(key)
    except TypeError:  # an unhashable spec (a shape dict)
        return cls(In, Out).active_scale
    if scale is None:
        if len(_ACTIVE_SCALES) >= 1024:
            _ACTIVE_SCALES.clear()
        scale = _ACTIVE_SCALES[key] = cls(In, Out).active_scale
    return scale


def _effective_weight(layer: Linear) -> NamedArray:
    """``layer.weight * active_scale`` (the weight itself when the scale is 1)."""
    scale = _active_scale(layer._reparam_cls, layer.In, layer.Out)
    if scale == 1 or layer.weight.array is None:
        return layer.weight
    return layer.weight * scale


def _check_no_out_axis(inputs: NamedArray, In: AxisSpec, Out: AxisSpec) -> None:
    """Raise if ``inputs`` already has an ``Out`` axis (that is not also an ``In`` axis).

    ``dot`` would pair it with the weight's ``Out`` as a batch axis: the output would hold that name once, with
    each unit multiplied only by its own slice of the input, a wrong answer with no error.
    """
    in_names = {a.name for a in axis_spec_to_tuple(In)}
    out_axes = axis_spec_to_tuple(Out)
    clash = [a.name for a in out_axes if a.name not in in_names and any(b.name == a.name for b in inputs.axes)]
    if clash:
        raise ValueError(
            f"Linear: argument 'inputs' (axes {', '.join(str(a) for a in inputs.axes)}) already has the Out "
            f"axis {', '.join(repr(n) for n in clash)} (Out axes {', '.join(str(a) for a in out_axes)}); the "
            "output adds Out, so that name would appear twice. Rename the input's axis first (x.rename(...)) or "
            "choose another Out"
        )


_LINEAR_PLANS: dict[tuple[Any, ...], tuple[tuple[Axis, ...], Any, Any] | None] = {}


def _linear_plan(
    inputs: NamedArray,
    w_axes: tuple[Axis, ...],
    b_axes: tuple[Axis, ...] | None,
    In: AxisSpec,
    scale: float,
    Out: AxisSpec,
) -> tuple[tuple[Axis, ...], Any, Any] | None:
    """(output axes, jitted ``fn(x, w, b)``, jitted ``matmul(x, w)`` or None) of a default Linear call, cached by the axes (one dict lookup per
    call); None when the layer's bias does not fit the plain pattern (the general path handles it). ``Out`` is
    only checked on a miss (``w_axes`` and ``In`` determine it, so it is not part of the key)."""
    key = (inputs.axes, w_axes, b_axes, In, scale)
    try:
        return _LINEAR_PLANS[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable spec
        return None
    check_has_axes(inputs, In, "Linear", "inputs", "In")  # errors are raised, never cached
    _check_no_out_axis(inputs, In, Out)
    contract = tuple((a.name, a.size) for a in axis_spec_to_tuple(In))
    spec, out_axes, _ = contraction_plan((inputs.axes, w_axes), contract, None)
    plan: tuple[tuple[Axis, ...], Any, Any] | None = None
    names = [a.name for a in out_axes]
    if b_axes is None or all(a in out_axes for a in b_axes):
        product = contraction_fn(spec, None, None, jax.lax.dot_general)
        if b_axes is None:
            bias_perm, bias_shape = None, None
        else:
            pos = [names.index(a.name) for a in b_axes]
            bias_perm = tuple(sorted(range(len(pos)), key=lambda i: pos[i]))
            bias_shape = tuple(a.size if a in b_axes else 1 for a in out_axes)

        def matmul(x: Any, w: Any) -> Any:
            return product(x, w * scale if scale != 1 else w)

        def run(x: Any, w: Any, b: Any) -> Any:
            out = matmul(x, w)
            if b is not None:
                out = out + jnp.reshape(jnp.transpose(b, bias_perm), bias_shape)
            return out

        # A bias over the trailing output axes, in order, broadcasts NumPy-style: then the bias add runs as a
        # second eager op after the jitted matmul. On CPU that pair returns sooner than one program ending in
        # the matmul's fusion (waiting on a matmul's output costs a thread wake-up that the add hides), and
        # under `jit` both spellings give the same computation.
        trailing = b_axes is not None and out_axes[len(out_axes) - len(b_axes) :] == b_axes
        plan = (out_axes, jax.jit(run, inline=True), jax.jit(matmul, inline=True) if trailing else None)
    if len(_LINEAR_PLANS) >= 4096:
        _LINEAR_PLANS.clear()
    _LINEAR_PLANS[key] = plan
    return plan


class Linear(ModuleWithStateDictSerialization, ReparamEnabled):
    """A named Linear layer. This module allows you to specify multiple named axes for both input and output,
    which is occasionally useful.

    Fields (constructor order): ``weight``, ``bias`` (or None), ``In`` and ``Out`` (static AxisSpecs),
    ``dot_general`` (default: the field-free `haliax.quantization.DefaultDotGeneralOp`, so a default Linear
    has only array leaves) and ``_reparam_cls`` (static, default `LinearStandardParam`).

    The output axes are the input's axes other than ``In`` (in input order) followed by the ``Out`` axes.
    Input axes other than ``In`` are batch axes. An input that already has an ``Out`` axis raises a
    ``ValueError``: Haliax treats it as one more batch axis, so each output unit sees only its own slice of the
    input (a wrong answer, or an axis that silently merges), with no error.

    If the input lacks one of the ``In`` axes, Haliax silently sums that axis out of the weight; we raise a
    ``ValueError`` naming the missing axis and the input's axes.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, In, Out = hax.make_axes(B=2, In=3, Out=4)
        >>> lin = hnn.Linear.init(In, Out, key=jax.random.PRNGKey(0))
        >>> lin(hax.ones((B, In))).axes == (B, Out)
        True
    """

    weight: NamedArray
    bias: NamedArray | None
    In: AxisSpec = eqx.field(static=True)
    Out: AxisSpec = eqx.field(static=True)
    dot_general: DotGeneralOp = eqx.field(default_factory=DotGeneralOp.default)
    _reparam_cls: type[AbstractLinearReparam] = eqx.field(static=True, default=LinearStandardParam)

    @property
    def reparam(self) -> AbstractLinearReparam:
        """The reparameterisation, ``self._reparam_cls(In, Out)``."""
        return self._reparam_cls(self.In, self.Out)

    @staticmethod
    def init(
        In: AxisSpec,
        Out: AxisSpec,
        *,
        key: jax.Array,
        use_bias: bool = True,
        out_first: bool = True,
        dot_general: DotGeneralOp | None = None,
        init_scale: float = 1.0,
        reparam_cls: type[AbstractLinearReparam] = LinearStandardParam,
    ) -> Linear:
        """Build a Linear layer.

        The weight has axes ``Out + In`` (``out_first``, PyTorch's layout) or ``In + Out``, drawn as
        ``truncated_normal(-3, 3) * init_scale * reparam_cls.init_scale(In, Out)`` (standard: ``1/sqrt(fan_in)``,
        so the empirical std is about ``0.9866 * init_scale / sqrt(fan_in)``). The bias is ``zeros(Out)``.

        Args:
            In: the input axis spec (an Axis, a tuple of Axis or a shape dict).
            Out: the output axis spec.
            key: PRNG key for the weight.
            use_bias: whether to have a bias.
            out_first: whether to put the output axes first in the weight (PyTorch does).
            dot_general: the ``dot_general`` implementation (default `jax.lax.dot_general`, via
                `haliax.quantization.DefaultDotGeneralOp`).
            init_scale: extra multiplier of the initialisation.
            reparam_cls: the reparameterisation (`haliax.nn.mup`).

        Raises:
            ValueError: if ``In`` and ``Out`` share an axis name, either names an axis twice, or ``In`` has size 0
                (the initial scale divides by it; Haliax raises ``ZeroDivisionError`` there).
            TypeError: if ``key`` is not a PRNG key, ``In``/``Out`` is not an axis spec, or ``reparam_cls`` is not
                an `AbstractLinearReparam` subclass.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> In, Out = hax.make_axes(In=3, Out=4)
            >>> hnn.Linear.init(In, Out, key=jax.random.PRNGKey(0), out_first=False).weight.axes == (In, Out)
            True
        """
        check_key(key, "Linear.init")
        init_axes("Linear.init", {"In": In, "Out": Out}, nonzero=("In",))
        check_reparam_cls(reparam_cls, AbstractLinearReparam, LinearStandardParam, "Linear.init")
        joint = concat_axes(Out, In) if out_first else concat_axes(In, Out)
        weight = truncated_normal_init(key, joint, init_scale * reparam_cls.init_scale(In, Out))
        bias = zeros(Out) if use_bias else None
        if dot_general is None:  # the field's default factory: DotGeneralOp.default()
            return Linear(weight, bias, In, Out, _reparam_cls=reparam_cls)
        return Linear(weight, bias, In, Out, dot_general=dot_general, _reparam_cls=reparam_cls)

    def _effective_weight(self) -> NamedArray:
        return _effective_weight(self)

    def __call__(self, inputs: NamedArray, *, key: jax.Array | None = None) -> NamedArray:
        """Apply the layer: ``dot(inputs, weight * active_scale, axis=In) + bias`` (``key`` is ignored).

        Raises:
            ValueError: if ``inputs`` lacks an ``In`` axis (or has it with another size), or already has an
                ``Out`` axis.
        """
        del key
        weight, bias, In, op = self.weight, self.bias, self.In, self.dot_general  # each field read once
        if (
            (op is jax.lax.dot_general or type(op) is DefaultDotGeneralOp)
            and type(inputs) is NamedArray
            and type(weight) is NamedArray
            and weight.array is not None
            and (bias is None or type(bias) is NamedArray)
        ):
            # the default product: a cached jitted call for the scale and the matmul (and the bias add, see `_linear_plan`)
            Out = self.Out
            scale = _active_scale(self._reparam_cls, In, Out)
            plan = _linear_plan(inputs, weight.axes, None if bias is None else bias.axes, In, scale, Out)
            if plan is not None and explicit_out_sharding(plan[0], "Linear") is None:
                out_axes, fn, matmul = plan
                if matmul is not None and bias is not None and jax.config.jax_numpy_rank_promotion == "allow":  # type: ignore[attr-defined]
                    raw = matmul(inputs.array, weight.array) + bias.array
                else:
                    raw = fn(inputs.array, weight.array, None if bias is None else bias.array)
                return auto_sharded(from_validated(raw, out_axes))
        check_has_axes(inputs, In, "Linear", "inputs", "In")
        _check_no_out_axis(inputs, In, self.Out)
        # module-level helper: an Equinox method access builds a bound-method Module, which costs as much as an
        # eager 32x32 matmul
        out = dot(inputs, _effective_weight(self), axis=In, dot_general=op)
        out = auto_sharded(out)
        if self.bias is not None:
            out = auto_sharded(out + self.bias)
        return out

    @property
    def _out_first(self) -> bool:
        """True iff the weight's trailing axes are not the Out axes (works with a leading stacked axis)."""
        out_names = axis_name(self.Out)
        out_names = out_names if isinstance(out_names, tuple) else (out_names,)
        trailing = tuple(a.name for a in self.weight.axes[len(self.weight.axes) - len(out_names) :])
        return trailing != out_names

    # ----------------------------------------------------------------------------------------------
    # state dict and export

    def to_state_dict(self, prefix: str | None = None) -> StateDict:
        """``{prefix.weight: weight * active_scale, prefix.bias: bias}`` (the effective weight, raw layout), plus
        the arrays of a stateful ``dot_general`` (e.g. FP8 scales) under ``prefix.dot_general.<field>``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> lin = hnn.Linear.init(hax.Axis("I", 2), hax.Axis("O", 3), key=jax.random.PRNGKey(0))
            >>> {k: v.shape for k, v in lin.to_state_dict("fc").items()}
            {'fc.weight': (3, 2), 'fc.bias': (3,)}
        """
        out = to_state_dict(self._effective_weight(), with_prefix(prefix, "weight"))
        out.update(to_state_dict(self.bias, with_prefix(prefix, "bias")))
        # a stateful op (FP8 scales and histories) adds its arrays under dot_general.*; the default op adds none
        out.update(to_state_dict(self.dot_general, with_prefix(prefix, "dot_general")))
        return out

    def from_state_dict(self, state_dict: StateDict, prefix: str | None = None) -> Linear:
        """Load ``weight`` (divided by ``active_scale``) and ``bias``; a None bias stays None."""
        weight = from_state_dict(self.weight, state_dict, with_prefix(prefix, "weight"))
        scale = self.reparam.active_scale
        if scale != 1 and weight.array is not None:
            weight = weight / scale
        bias = from_state_dict(self.bias, state_dict, with_prefix(prefix, "bias"))
        op = self.dot_general
        if any(hasattr(x, "shape") for x in jax.tree_util.tree_leaves(op)):  # a stateful op (FP8 scales)
            op = from_state_dict(op, state_dict, with_prefix(prefix, "dot_general"))
        return replace_fields(self, {"weight": weight, "bias": bias, "dot_general": op})

    def flatten_for_export(self) -> Linear:
        """Merge the Out axes into ``"__OUT__"`` and the In axes into ``"__IN__"`` (weight ``(..., __OUT__,
        __IN__)`` if out-first, else ``(..., __IN__, __OUT__)``; leading axes such as a stacked layer axis are
        kept). A layer whose In and Out are single Axis objects is returned unchanged.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> H, D, O = hax.make_axes(H=2, D=3, O=5)
            >>> hnn.Linear.init((H, D), O, key=jax.random.PRNGKey(0)).flatten_for_export().weight.shape
            {'__OUT__': 5, '__IN__': 6}
        """
        if isinstance(self.In, Axis) and isinstance(self.Out, Axis):
            return self

        new_out = Axis(_OUT, axis_size(self.Out))
        new_in = Axis(_IN, axis_size(self.In))
        out_first = self._out_first
        w = flatten_axes(self.weight, axis_spec_to_tuple(self.Out), new_out)
        w = flatten_axes(w, axis_spec_to_tuple(self.In), new_in)
        w = rearrange(w, (..., _OUT, _IN) if out_first else (..., _IN, _OUT))
        b = None if self.bias is None else flatten_axes(self.bias, axis_spec_to_tuple(self.Out), new_out)
        return replace_fields(self, {"weight": w, "bias": b, "In": new_in, "Out": new_out})

    def unflatten_from_export(self, template: Linear) -> Linear:
        """Split ``"__OUT__"``/``"__IN__"`` back into ``template``'s Out/In and return ``template`` with the
        weight and bias rearranged to its layout."""
        if (template.In, template.Out) == (self.In, self.Out):
            return self

        w = unflatten_axis(self.weight, _OUT, axis_spec_to_tuple(template.Out))
        w = unflatten_axis(w, _IN, axis_spec_to_tuple(template.In))
        w = rearrange(w, tuple(a.name for a in template.weight.axes))
        b = None
        if self.bias is not None and template.bias is not None:
            b = unflatten_axis(self.bias, _OUT, axis_spec_to_tuple(template.Out))
            b = rearrange(b, tuple(a.name for a in template.bias.axes))
        return replace_fields(template, {"weight": w, "bias": b, "dot_general": self.dot_general})

    # ----------------------------------------------------------------------------------------------
    # reparameterisation selectors

    @staticmethod
    def input_reparam(use_mup: bool = True) -> type[AbstractLinearReparam]:
        """Return the reparameterization class for an input linear layer.

        Examples:
            >>> import haliax.nn as hnn
            >>> hnn.Linear.input_reparam().__name__, hnn.Linear.input_reparam(False).__name__
            ('InputLinearMup', 'LinearStandardParam')
        """
        return InputLinearMup if use_mup else LinearStandardParam

    @staticmethod
    def hidden_reparam(use_mup: bool = True) -> type[AbstractLinearReparam]:
        """Return the reparameterization class for a hidden linear layer.

        Examples:
            >>> import haliax.nn as hnn
            >>> hnn.Linear.hidden_reparam().__name__
            'HiddenLinearMup'
        """
        return HiddenLinearMup if use_mup else LinearStandardParam

    @staticmethod
    def output_reparam(use_mup: bool = True) -> type[AbstractLinearReparam]:
        """Return the reparameterization class for an output linear layer.

        Examples:
            >>> import haliax.nn as hnn
            >>> hnn.Linear.output_reparam().__name__
            'OutputLinearMup'
        """
        return OutputLinearMup if use_mup else LinearStandardParam


class MoELinear(eqx.Module):
    """A Linear layer per expert, applied to rows grouped by expert (a ragged matmul).

    Fields: ``weight`` with axes ``(Experts, In, Out)`` (default) or ``(Experts, Out, In)`` when out-first, ``bias``
    over ``Out`` (shared by the experts) or None, and the static axes ``Experts``, ``In``, ``Out``.

    The call flattens every non-``In`` axis of the input into rows, which must already be sorted by expert:
    ``group_sizes[e]`` consecutive rows go to expert ``e`` (`jax.lax.ragged_dot`). The output has the input's axes
    with ``In`` replaced (in place) by ``Out``.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> Ex, T, In, Out = hax.make_axes(Experts=2, Tok=5, In=3, Out=4)
        >>> moe = hnn.MoELinear.init(Ex, In, Out, key=jax.random.PRNGKey(0))
        >>> moe(hax.ones((T, In)), hax.named(jnp.array([2, 3]), Ex)).axes == (T, Out)
        True
    """

    weight: NamedArray
    bias: NamedArray | None
    Experts: Axis = eqx.field(static=True)
    In: Axis = eqx.field(static=True)
    Out: Axis = eqx.field(static=True)
    use_gmm: bool = eqx.field(static=True, default=False)

    @staticmethod
    def init(
        Experts: Axis,
        In: Axis,
        Out: Axis,
        *,
        key: jax.Array,
        use_bias: bool = True,
        out_first: bool = False,
        init_scale: float = 1.0,
        use_gmm: bool = False,
    ) -> MoELinear:
        """Build the layer: weight ``truncated_normal(-3, 3) * init_scale / sqrt(In.size)``, bias ``zeros(Out)``.

        ``use_gmm`` (Haliax's Pallas grouped-matmul kernel) is not supported: ``NotImplementedError``.

        Args:
            Experts: the expert axis; one weight matrix per expert.
            In: the input axis.
            Out: the output axis.
            key: the PRNG key for the weight.
            use_bias: whether to add a bias ``(Out,)``.
            out_first: store the weight as ``(Experts, Out, In)`` instead of ``(Experts, In, Out)``.
            init_scale: a factor on the weight's standard deviation.
            use_gmm: use a grouped-matmul kernel; not supported (raises ``NotImplementedError``).

        Raises:
            ValueError: if two of ``Experts``, ``In``, ``Out`` share a name (the message names the roles), or
                ``In`` has size 0 (Haliax raises ``ZeroDivisionError`` from ``1/sqrt(In.size)``).
            TypeError: if ``key`` is not a PRNG key.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> Ex, In, Out = hax.make_axes(Experts=2, In=3, Out=4)
            >>> hnn.MoELinear.init(Ex, In, Out, key=jax.random.PRNGKey(0), out_first=True).weight.axes == (Ex, Out, In)
            True
        """
        if use_gmm:
            raise NotImplementedError("MoELinear: use_gmm=True (Pallas grouped matmul) is not supported")
        check_key(key, "MoELinear.init")
        init_axes("MoELinear.init", {"Experts": Experts, "In": In, "Out": Out}, nonzero=("In",))
        axes = (Experts, Out, In) if out_first else (Experts, In, Out)
        weight = truncated_normal_init(key, axes, init_scale / axis_size(In) ** 0.5)
        bias = zeros(Out) if use_bias else None
        return MoELinear(weight, bias, Experts, In, Out, use_gmm)

    @property
    def out_first(self) -> bool:
        """Whether the weight is laid out ``(Experts, Out, In)``."""
        return self.weight.axes[-1].name != self.Out.name

    def __call__(self, inputs: NamedArray, group_sizes: Any, *, key: jax.Array | None = None) -> NamedArray:
        """Apply expert ``e``'s weight to the ``group_sizes[e]`` consecutive rows assigned to it.

        Raises:
            ValueError: if ``inputs`` lacks ``In``, or ``group_sizes`` has the wrong length, or (when concrete)
                a negative entry or a sum above the number of rows (``ragged_dot`` would silently mix experts).
                Rows past ``sum(group_sizes)`` get no expert (zeros, plus the bias). Haliax checks none of this.
            TypeError: if ``group_sizes`` is not of an integer dtype.
        """
        del key
        check_has_axes(inputs, self.In, "MoELinear", "inputs", "In")
        sizes = group_sizes.array if isinstance(group_sizes, NamedArray) else jnp.asarray(group_sizes)
        if sizes.shape != (self.Experts.size,):
            raise ValueError(f"MoELinear: group_sizes must have shape ({self.Experts.size},), got {sizes.shape}")
        if not jnp.issubdtype(sizes.dtype, jnp.integer):  # ragged_dot would truncate floats (and bools) silently
            raise TypeError(f"MoELinear: argument 'group_sizes' must have an integer dtype, got {sizes.dtype}")
        i = locate_axis(inputs.axes, self.In, "MoELinear", "inputs")
        if not isinstance(sizes, Tracer):  # concrete sizes: a wrong count would mix experts' rows silently
            counts = jax.device_get(sizes)
            rows_total = 1
            for a in inputs.axes:
                rows_total *= 1 if a.name == self.In.name else a.size
            if (counts < 0).any() or int(counts.sum()) > rows_total:
                raise ValueError(
                    f"MoELinear: argument 'group_sizes' {counts.tolist()} over {self.Experts} must be non-negative "
                    f"and sum to at most the {rows_total} rows of 'inputs' (axes "
                    f"{', '.join(str(a) for a in inputs.axes)} without {self.In}); got sum {int(counts.sum())}"
                )
        out_axes = inputs.axes[:i] + (self.Out,) + inputs.axes[i + 1 :]
        if explicit_out_sharding(out_axes, "MoELinear") is not None:  # explicit mesh: ragged_dot runs on Auto axes
            return explicit_auto_axes(lambda m, x, s: m(x, s), out_axes, "MoELinear")(self, inputs, sizes)
        rows = jnp.moveaxis(inputs.array, i, -1)
        batch_shape = rows.shape[:-1]
        w = self.weight.rearrange((self.Experts, self.In, self.Out)).array
        out = jax.lax.ragged_dot(rows.reshape(-1, self.In.size), w, sizes.astype(jnp.int32))
        out = jnp.moveaxis(out.reshape(*batch_shape, self.Out.size), -1, i)
        result = NamedArray(out, inputs.axes[:i] + (self.Out,) + inputs.axes[i + 1 :])
        if self.bias is not None:
            result = result + self.bias
        return auto_sharded(result)
