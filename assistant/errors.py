"""Specific errors, each with a message a desk officer can act on."""


class AssistantError(Exception):
    """Base class: every error the assistant reports to its user."""


class DocumentError(AssistantError):
    """One document cannot be read (corrupt, encrypted, not UTF-8, empty)."""


class NoDocumentsError(AssistantError):
    """The documents folder is missing, empty, or holds nothing readable."""


class IndexMissingError(AssistantError):
    """No index has been built yet."""


class IndexCorruptError(AssistantError):
    """The index folder exists but a file in it is missing or unreadable."""


class QuestionError(AssistantError):
    """The question cannot be answered as asked (empty, too long, no words)."""


class IndexUnavailableError(AssistantError):
    """No usable index exists and none can be built (read-only folder, full disk, permissions)."""
