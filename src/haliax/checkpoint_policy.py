"""Gradient-checkpointing policies for scans: `ScanCheckpointPolicy` and the `ScanCheckpointSpec` alias.

This module sits below `haliax.hof` (which applies the policies in `haliax.scan`) and the layer stacks of
`haliax.nn` (which store them); `haliax.hof` and `haliax.nn.scan` re-export both names.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeAlias

import equinox as eqx
import jax

__all__ = ["ScanCheckpointPolicy", "ScanCheckpointSpec"]

_SaveOpt = bool | Literal["offload"]


@dataclasses.dataclass(frozen=True)
class ScanCheckpointPolicy:
    """How a scan over layers trades memory for recomputation in the backward pass.

    During a scan every step's *carry* is tagged with the checkpoint name ``"scan(<axis>)__carry"`` and
    (unless the policy is disabled) its scanned *inputs* (e.g. the layer's weights) with
    ``"scan(<axis>)__input"``; user code may tag
    further values inside the block with `jax.ad_checkpoint.checkpoint_name`. The policy says which
    of those values are kept for the backward pass (memory), which are recomputed (compute), and which
    are moved to host memory.

    Fields:
        save_carries: keep the carry of every step (``True``), recompute it (``False``) or offload it
            to host memory (``"offload"``).
        save_inputs: same for the scanned inputs of every step.
        save_block_internals: ``True`` keeps every intermediate of the block (except the names being
            recomputed/offloaded), a list keeps only the values tagged with those names.
        offload_block_internals: names of tagged block values to offload to host memory.
        prevent_cse: forwarded to `jax.checkpoint` (only needed outside `scan`).
        disable: no checkpointing at all (everything the backward pass needs is stored).
        simple: plain `equinox.filter_checkpoint` of each step: only the step's arguments are stored.
        nested: ``True`` or an int ``k``: two-level ("sqrt-L") checkpointing. The scan becomes ``k``
            outer chunks (``True``: the largest divisor of the length that is at most its square root);
            only the carries at chunk boundaries are stored, and each chunk is recomputed during the
            backward pass.

    List fields are stored as tuples so that a policy is hashable (it lives in static module fields).

    The shorthands accepted wherever a policy is expected (`ScanCheckpointPolicy.from_bool_or_str`):

    | shorthand | policy |
    |---|---|
    | ``False`` | ``disable=True`` (no checkpointing) |
    | ``True`` | ``simple=True`` |
    | ``"recompute"`` / ``"full"`` | save nothing: ``save_carries=False, save_inputs=False`` |
    | ``"save_all"`` | save carries, inputs and every block internal |
    | ``"offload"`` | offload carries and inputs to host |
    | ``"nested"`` | ``nested=True`` |

    Examples:
        >>> from haliax import ScanCheckpointPolicy
        >>> ScanCheckpointPolicy.from_bool_or_str("full").save_carries
        False
        >>> ScanCheckpointPolicy(save_block_internals=["attn"]).save_block_internals
        ('attn',)
    """

    save_carries: _SaveOpt = True
    save_inputs: _SaveOpt = False
    save_block_internals: bool | Sequence[str] = False
    offload_block_internals: Sequence[str] = ()
    prevent_cse: bool = False
    disable: bool = False
    simple: bool = False
    nested: bool | int = False

    def __post_init__(self) -> None:
        for f in ("save_carries", "save_inputs"):
            v = getattr(self, f)
            if not isinstance(v, bool) and v != "offload":
                raise ValueError(f"ScanCheckpointPolicy: {f} must be True, False or 'offload', got {v!r}")
        sbi = self.save_block_internals
        if not isinstance(sbi, bool):
            if isinstance(sbi, str):
                sbi = (sbi,)
            object.__setattr__(self, "save_block_internals", tuple(sbi))
        obi = self.offload_block_internals
        object.__setattr__(self, "offload_block_internals", (obi,) if isinstance(obi, str) else tuple(obi))
        if not isinstance(self.nested, bool) and (not isinstance(self.nested, int) or self.nested < 1):
            raise ValueError(f"ScanCheckpointPolicy: nested must be a bool or a positive int, got {self.nested!r}")

    # ------------------------------------------------------------------------------------------
    # construction

    @staticmethod
    def from_bool_or_str(remat: ScanCheckpointSpec) -> ScanCheckpointPolicy:
        """Convert a policy, bool or string shorthand (see the class docstring) to a policy.

        Examples:
            >>> from haliax import ScanCheckpointPolicy
            >>> ScanCheckpointPolicy.from_bool_or_str(False).disable
            True
        """
        if isinstance(remat, ScanCheckpointPolicy):
            return remat
        if remat is True:
            return ScanCheckpointPolicy(simple=True)
        if remat is False:
            return ScanCheckpointPolicy(disable=True, save_carries=True, save_inputs=True, save_block_internals=True)
        if remat == "offload":
            return ScanCheckpointPolicy(save_carries="offload", save_inputs="offload")
        if remat in ("recompute", "full"):
            return ScanCheckpointPolicy(save_carries=False, save_inputs=False)
        if remat == "save_all":
            return ScanCheckpointPolicy(save_carries=True, save_inputs=True, save_block_internals=True)
        if remat == "nested":
            return ScanCheckpointPolicy(nested=True)
        raise ValueError(
            f"Invalid checkpoint policy {remat!r}: expected a ScanCheckpointPolicy, a bool, or one of "
            "'offload', 'recompute', 'full', 'save_all', 'nested'"
        )

    _mk = from_bool_or_str

    # ------------------------------------------------------------------------------------------
    # application

    def _jax_policy(self, carry_name: str, input_name: str) -> Callable[..., Any] | None:
        saved: list[str] = []
        offloaded: list[str] = []
        recompute: list[str] = []
        for opt, name in ((self.save_inputs, input_name), (self.save_carries, carry_name)):
            if opt == "offload":
                offloaded.append(name)
            elif opt:
                saved.append(name)
            else:
                recompute.append(name)
        if not isinstance(self.save_block_internals, bool):
            saved.extend(self.save_block_internals)
        offloaded.extend(self.offload_block_internals)
        cp = jax.checkpoint_policies
        if not saved and not offloaded and not self.save_block_internals:
            return None
        if offloaded:
            if self.save_block_internals is True:
                raise ValueError("Can't save all block internals and offload too. Use a list of names instead.")
            return cp.save_and_offload_only_these_names(
                names_which_can_be_saved=saved,
                names_which_can_be_offloaded=offloaded,
                offload_src="device",
                offload_dst="pinned_host",
            )
        if recompute:
            if self.save_block_internals is True:
                policy = cp.save_anything_except_these_names(*recompute)
                if saved:
                    policy = cp.save_from_both_policies(policy, cp.save_only_these_names(*saved))
                return policy
            return cp.save_only_these_names(*saved)
        if saved:
            policy = cp.save_only_these_names(*saved)
            if self.save_block_internals is True:
                policy = cp.save_from_both_policies(policy, cp.save_anything_except_these_names())
            return policy
        return cp.save_anything_except_these_names(*recompute)

    def checkpoint(self, carry_name: str, input_name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a scan step ``fn`` with the checkpointing this policy describes (``nested`` is handled by
        the scan itself, see `haliax.scan`).

        Examples:
            >>> import jax.numpy as jnp
            >>> from haliax import ScanCheckpointPolicy
            >>> step = ScanCheckpointPolicy(simple=True).checkpoint("c", "i", lambda c, x: (c + x, c))
            >>> step(jnp.ones(2), jnp.ones(2))[0].tolist()
            [2.0, 2.0]
        """
        if self.disable:
            return fn
        if self.simple:
            return eqx.filter_checkpoint(fn, prevent_cse=self.prevent_cse)
        policy = self._jax_policy(carry_name, input_name)
        return eqx.filter_checkpoint(fn, policy=policy, prevent_cse=self.prevent_cse)

    def outer_size(self, length: int) -> int | None:
        """The number of outer chunks for ``nested`` checkpointing of a scan of ``length`` steps (None if
        not nested). Raises ``ValueError`` if an explicit ``nested=k`` does not divide ``length``.

        Examples:
            >>> from haliax import ScanCheckpointPolicy
            >>> ScanCheckpointPolicy(nested=True).outer_size(16), ScanCheckpointPolicy(nested=True).outer_size(12)
            (4, 3)
        """
        if self.nested is False:
            return None
        if self.nested is True:
            return max(d for d in range(1, math.isqrt(length) + 1) if length % d == 0) if length > 0 else 1
        if length % self.nested != 0:
            raise ValueError(f"Length {length} must be divisible by outer_size {self.nested}")
        return int(self.nested)


ScanCheckpointSpec: TypeAlias = (
    ScanCheckpointPolicy | bool | Literal["offload", "recompute", "full", "save_all", "nested"]
)
"""Anything accepted where a checkpoint policy is expected: a policy, a bool or a string shorthand."""
