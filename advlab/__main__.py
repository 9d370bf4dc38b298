"""``python -m advlab``: the same command line as ``advlab`` (see :mod:`advlab.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
