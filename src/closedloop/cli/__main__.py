"""``python -m closedloop.cli``: the same as the ``closedloop`` script."""

from closedloop.cli import main

main()
