"""democalc: a tiny calculator."""

__all__: list[str] = []
