"""``python -m infrastructure.cli``."""

from infrastructure.cli.main import run

run()
