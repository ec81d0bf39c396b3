"""From files to indexed passages: extract (PyMuPDF, text), clean, chunk, and the
pipeline that embeds, tags and writes them into a `kb` index. Builds on `kb`; `kb`
never imports it (the CLI's commands call the pipeline)."""
