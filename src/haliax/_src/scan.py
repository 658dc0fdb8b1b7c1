"""Compatibility alias module: ``haliax._src.scan`` is a private path that Levanter imports from.

`ScanCheckpointSpec` is the very object of `haliax.nn.scan`; nothing in haliax imports this module.

Examples:
    >>> import haliax.nn.scan
    >>> from haliax._src.scan import ScanCheckpointSpec
    >>> ScanCheckpointSpec is haliax.nn.scan.ScanCheckpointSpec
    True
"""

from __future__ import annotations

from ..nn.scan import ScanCheckpointSpec

__all__ = ["ScanCheckpointSpec"]
