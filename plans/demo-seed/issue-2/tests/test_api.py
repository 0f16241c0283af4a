import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from democalc import Calculator  # noqa: E402


class CalculatorTest(unittest.TestCase):
    def test_add(self) -> None:
        self.assertEqual(Calculator().add(2, 3), 5)

    def test_multiply(self) -> None:
        self.assertEqual(Calculator().multiply(2, 3), 6)
