import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from democalc.scientific import Scientific  # noqa: E402


class ScientificTest(unittest.TestCase):
    def test_power(self) -> None:
        self.assertEqual(Scientific().power(2, 10), 1024)
