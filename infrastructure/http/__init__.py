"""The HTTP API (FastAPI): ``create_app`` builds it, ``conduit-config serve`` runs it."""
