"""pytest-waves: a wave plan of dependent issues, run as a pytest suite."""

__version__ = "0.1.0"
