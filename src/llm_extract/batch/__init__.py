"""Batch files: a run's model requests written in the OpenAI Batch input format (`prepare`), and
the batch endpoint's answers read back through the same extraction (`collect`).

`requests` is the line formats, the ids and the manifest, `backends` the two model seams
(recording and replaying), `prepare` and `collect` the flows, `remote` an endpoint's
`/v1/files` + `/v1/batches`. Nothing here imports the CLI.
"""
