import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


class PackageTest(unittest.TestCase):
    def test_imports(self) -> None:
        import democalc

        self.assertIsNotNone(democalc.__doc__)
