"""Root conftest: the seed folders of the demo plan hold test files of the demo repository,
which are not tests of pytest-waves."""

collect_ignore = ["plans", "benchmarks"]
