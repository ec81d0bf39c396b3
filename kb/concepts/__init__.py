"""Concepts of the field: the taxonomy (`concepts.toml`), the tagger that finds them
in passages with their evidence, and reports of where each is discussed."""
