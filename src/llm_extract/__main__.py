from llm_extract.cli.app import app

app(prog_name="llm-extract")
