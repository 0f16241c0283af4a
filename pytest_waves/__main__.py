"""`python -m pytest_waves`: the command line (see cli/main.py)."""

from pytest_waves.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
