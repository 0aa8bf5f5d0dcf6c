"""`python -m glassgate` is the `glassgate` command."""

from glassgate.cli.main import main

main()
