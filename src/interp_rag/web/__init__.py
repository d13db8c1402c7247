"""Stage 5, the web UI: HTML rendering (render.py) and the Gradio app (app.py)."""
