"""`python -m portrait.cli ...`: the same commands as the `portrait` script."""

from portrait.cli import app

app()
