"""Everything that touches the outside world: PostgreSQL, crypto, settings, CLI."""
