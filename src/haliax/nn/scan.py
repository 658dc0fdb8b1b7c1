"""Stacks of identical layers: `Stacked` (one module, parameters stacked along a ``Block`` axis, run with
`haliax.scan`) and `BlockSeq` (a Python list of modules, run with a Python loop), with one interface
(`BlockFoldable`), the same gradient-checkpointing policies (`ScanCheckpointPolicy`) and the same state-dict
layout (``prefix.{i}.…``, PyTorch's ``ModuleList``). See ``docs/scan.md``.

This module only re-exports: `Stacked` lives in `haliax.nn.stacked`, `BlockSeq` in `haliax.nn.blockseq`, the
interface they share in `haliax.nn.layer_stack` and the policies in `haliax.checkpoint_policy`.
``_stack_state_dict`` / ``_unstack_state_dict`` are Haliax's names for
`haliax.nn.stacked.stack_state_dict` / `haliax.nn.stacked.unstack_state_dict`.
"""

import sys
from typing import Any

from ..checkpoint_policy import ScanCheckpointPolicy as ScanCheckpointPolicy, ScanCheckpointSpec as ScanCheckpointSpec
from .blockseq import BlockSeq as BlockSeq
from .layer_stack import BlockFoldable as BlockFoldable, ModuleInit as ModuleInit
from .stacked import Stacked as Stacked, stack_state_dict, unstack_state_dict

__all__ = [
    "BlockFoldable",
    "ModuleInit",
    "ScanCheckpointPolicy",
    "ScanCheckpointSpec",
    "Stacked",
    "BlockSeq",
]

# Haliax's names for the state-dict layout helpers (kept for compatibility, not part of `__all__`).
_stack_state_dict = stack_state_dict
_unstack_state_dict = unstack_state_dict


def __getattr__(name: str) -> Any:
    # ``haliax.nn.scan.haliax`` is the top-level package, as in Haliax, where code intercepts the loop primitive
    # with ``setattr(haliax.nn.scan.haliax, "scan", patched)``; `Stacked` looks ``haliax.scan``/``haliax.fold``
    # up at call time, so such a patch takes effect. A module-level ``import haliax`` would be an import cycle.
    if name == "haliax":
        return sys.modules["haliax"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
