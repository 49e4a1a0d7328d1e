"""Errors of the local GitHub Actions harness (gha.py and its modules)."""
from __future__ import annotations


class WorkflowError(Exception):
    """The workflow (or the harness call) is malformed or unsupported."""


class ExpressionError(Exception):
    """An expression cannot be parsed or evaluated."""

