"""Exceptions raised by the kb library; their messages are shown to users (Spanish)."""


class KBError(Exception):
    """Base class: the message is a complete, user-facing Spanish sentence."""


class ModelError(KBError):
    """The embedding model cannot be found, built or loaded."""


class ModelMismatchError(KBError):
    """Vectors from a different model (or dimension) than the index holds."""


class IngestError(KBError):
    """A file cannot be ingested; the message names the file and the reason."""
