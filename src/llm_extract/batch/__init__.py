"""Batch files: a run's model requests written in the OpenAI Batch input format (`prepare`), and
the batch endpoint's answers read back through the same extraction (`collect`).

`requests` is the line format and the ids, `backends` the two model seams (recording and
replaying), `prepare` and `collect` the flows. Nothing here imports the CLI.
"""
