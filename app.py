"""`python app.py`: serve the web UI (settings from INTERP_RAG_* variables; builds the index if missing)."""

from interp_rag.errors import ConfigError
from interp_rag.settings import get_settings
from interp_rag.web.app import serve

if __name__ == "__main__":
    try:
        serve(get_settings())
    except ConfigError as e:  # a bad INTERP_RAG_* value: say which, not a traceback
        raise SystemExit(f"Error: {e}") from None
