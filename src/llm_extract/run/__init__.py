"""A run: one document extracted (code proposes, the labeller labels), and the walk over many documents into the store, as typed events."""
