"""Citing sources: document metadata from catalogs, APA 7 references and short
citations, the citation notebook and its exports (Markdown, DOCX, BibTeX, RIS, CSV)."""
