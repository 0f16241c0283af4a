"""democalc: a tiny calculator."""

from .api import Calculator

__all__ = ["Calculator"]
