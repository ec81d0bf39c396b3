"""Persistence of an index directory: the SQLite store and its migrations (the truth),
the FAISS vectors and the in-memory BM25 (caches rebuilt from it), and `doctor`,
which checks and repairs them."""
