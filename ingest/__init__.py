"""From files to clean, cited chunks: extract, clean, chunk, embed."""
