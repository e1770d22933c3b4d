"""The finrag exception tree.

Every error a user can see derives from :class:`FinragError`; its message says what went wrong
and what to do about it. Library code raises these; the CLI and UI turn them into one readable
line instead of a traceback.
"""

from __future__ import annotations


class FinragError(Exception):
    """Root of all finrag errors."""


class ConfigError(FinragError):
    """A setting is missing, malformed or names something that does not exist."""


class UnknownBackendError(ConfigError):
    """A backend name from settings is not registered; the message lists the known names."""


class MissingDependencyError(FinragError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class ModelNotAvailableError(FinragError):
    """A model is not on this machine and cannot be downloaded; the message names the setting."""


class IngestError(FinragError):
    """A file could not be ingested (encrypted, corrupt, empty, unsupported...)."""


class UnsupportedFormatError(IngestError):
    """No parser handles this file type."""


class WrongFormatError(UnsupportedFormatError):
    """The file's content is not what its extension says (e.g. HTML saved as .pdf)."""


class EncryptedFileError(IngestError):
    """The file needs a password to open."""


class CorruptFileError(IngestError):
    """The file cannot be parsed (damaged, truncated, no pages)."""


class TruncatedFileError(CorruptFileError):
    """The file ends before its structure does (an interrupted download or copy)."""


class EmptyFileError(IngestError):
    """The file has no bytes or no pages."""


class FileTooLargeError(IngestError):
    """The file (or every page of it) exceeds a size limit from settings."""


class BatchTooLargeError(IngestError):
    """A batch holds more files or bytes than the settings allow; nothing was queued."""


class IngestTimeoutError(IngestError):
    """Parsing one file took longer than ``ingest.file_timeout_s``."""


class IndexBackendError(FinragError):
    """The vector index refused an operation (schema mismatch, unreachable server...)."""


class RetrievalError(FinragError):
    """A search could not be carried out."""


class ToolError(FinragError):
    """A live-data tool failed or received invalid arguments."""


class MemoryBankError(FinragError):
    """A memory-bank operation was refused (unknown entry id, invalid entry, bad import file)."""


class AccessError(FinragError):
    """The caller is unknown or may not do this (see ``settings.users``)."""


class InvalidQuestionError(FinragError):
    """A question is unusable as given (nothing left once control characters are removed)."""
