"""Stage 3, retrieval: the question, filters, search and fusion, reranking, selection, context windows."""
