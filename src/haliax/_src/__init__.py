"""Compatibility aliases for private import paths used by Levanter; nothing in haliax imports these."""
