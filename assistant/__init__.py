"""Offline, citation-first question answering over a shelf of policy reports."""

__version__ = "0.1.0"
