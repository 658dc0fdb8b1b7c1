"""Compatibility alias module: ``haliax._src.state_dict`` is a private path that Levanter imports from.

Both names are the very objects of `haliax.state_dict`; nothing in haliax imports this module.

Examples:
    >>> import haliax.state_dict
    >>> from haliax._src.state_dict import to_state_dict
    >>> to_state_dict is haliax.state_dict.to_state_dict
    True
"""

from __future__ import annotations

from ..state_dict import flatten_modules_for_export, to_state_dict

__all__ = ["flatten_modules_for_export", "to_state_dict"]
