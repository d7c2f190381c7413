"""Runs the projections: reads the log in batches, writes rows and tracking together."""
