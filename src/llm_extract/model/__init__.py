"""The model: the OpenAI-compatible client (instructor over openai), the throttle, the embedded llama.cpp server and its build."""
