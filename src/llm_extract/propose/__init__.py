"""Stage 2, propose: code finds every candidate item exactly (numbers, measure words, sections, problem items) and gives it a code name. No model, no I/O."""
