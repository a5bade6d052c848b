"""``python -m registry``: the command line (demo, sql, info, compact)."""

from .cli import main

main()
