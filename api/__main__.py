"""`python -m api` runs the `studio` CLI (the console script does the same)."""

from api.cli.main import main

main()
