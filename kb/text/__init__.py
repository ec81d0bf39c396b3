"""Pure text rules, shared by ingest, search, answers and tables: folding, tokens,
lexical analysis, sentences, which sentences may be quoted, word lists and highlighting.
Nothing here touches the disk or the model."""
