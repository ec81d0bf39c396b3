"""kb: a Spanish-first knowledge base of literature and policy documents.

Layers, each importing only those before it: `config`, `errors`, `files` and
`records` (plain data); `text` (pure text rules); `store` (SQLite, vectors, the
lexical index, checks); `model` (the embedding model); `concepts` (taxonomy and
tagging); `index` (an opened index: store, vectors and taxonomy together);
`cite` (metadata and citations); `ask` (search, answers, comparison tables);
`library` (the user's documents); `cli` (the command line, formatting only).
`ingest/` builds on `kb` and is never imported by it, except by the CLI's commands.
"""
