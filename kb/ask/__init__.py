"""Answering users: hybrid search with filters, the extractive answer of quoted
sentences, comparison tables (presets, cells, exports of tables)."""
