"""Stage 1, ingest: bytes to text. Decoding by evidence, converters per format, documents."""
