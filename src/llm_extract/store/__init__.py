"""Storage: the DuckDB file (locks, migrations, saves, reviews), read-only SQL, exports."""
