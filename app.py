"""`python app.py`: serve the web UI (settings from INTERP_RAG_* variables; builds the index if missing)."""

from interp_rag.settings import get_settings
from interp_rag.web.app import serve

if __name__ == "__main__":
    serve(get_settings())
