"""The OpenAI-compatible HTTP API: `/v1/models`, `/v1/chat/completions`, `/v1/embeddings`, plus `/v1/search`
and `/v1/documents`. `create_app` in `app.py` wires it; `tunedesk serve` runs it with uvicorn."""
