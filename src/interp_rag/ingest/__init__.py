"""Stage 1, ingest: sources -> text (loaders) -> chunks -> vectors, question expansions, passage stance."""
