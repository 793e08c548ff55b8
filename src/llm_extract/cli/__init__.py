"""The command line: a thin skin that parses and prints."""
