"""Stage 2, store: the on-disk index (format, publish), the build pipeline, and the typed loaded Index."""
