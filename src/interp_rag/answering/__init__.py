"""Stage 4, answering: the answer pipeline and stream, extractive and LLM answers, prompts, citations."""
