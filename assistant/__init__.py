"""Offline, citation-first question answering over the EPON MINUSMA report (2019)."""

__version__ = "0.1.0"
