"""``python -m pylondiag``: the same command as ``pylondiag``."""

from pylondiag.cli import main

main()
