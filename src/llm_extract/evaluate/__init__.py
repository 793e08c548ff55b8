"""Evaluation: gold files, deterministic scorers, the scoreboard, the benchmark."""
