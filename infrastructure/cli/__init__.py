"""The ``conduit-config`` command line."""
