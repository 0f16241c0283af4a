"""Scientific mode: needs the Calculator API of #2."""

from .api import Calculator


class Scientific(Calculator):
    def power(self, base: float, exponent: int) -> float:
        result = 1.0
        for _ in range(exponent):
            result = self.multiply(result, base)
        return result
