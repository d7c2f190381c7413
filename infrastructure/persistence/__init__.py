"""eventsourcing wiring on PostgreSQL: transcoder, mapper, recorder, index."""
