"""``python -m learnable.cli``: the ``learnable`` command."""

from learnable.cli import main

main()
