"""llm-extract: grounded extraction from Chinese township rule-of-law reports."""

__version__ = "0.1.0"
