"""Errors a user can act on. Every message says what went wrong and what to do next."""

from __future__ import annotations

import re

# user:password@ in a URL: a message quoting INTERP_RAG_LLM_BASE_URL (or any URL) must not show it.
_USERINFO = re.compile(r"(?<=://)[^/?#@\s]*@")


def redact(text: str) -> str:
    """Text with the userinfo (user:password@) of every URL in it removed."""
    return _USERINFO.sub("", text)


class InterpRagError(Exception):
    """Base class: the CLI and the UI show these messages as they are, without a traceback. Credentials
    in a URL the message quotes are removed here, once for every place that shows or logs it."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class SourceError(InterpRagError):
    """A source could not be read, fetched or parsed."""


class IndexMissingError(InterpRagError):
    """No index has been built yet."""


class StaleIndexError(InterpRagError):
    """The index on disk was built with other settings or an older format."""

    def __init__(self, message: str, why: str = "") -> None:
        super().__init__(message)
        self.why = why or message  # the difference alone, for the served app's "building it" line


class QuestionError(InterpRagError, ValueError):
    """The question is empty or otherwise unusable."""


class LLMError(InterpRagError):
    """The configured LLM could not produce an answer (down, slow, HTTP error, garbage)."""


class ConfigError(InterpRagError):
    """A setting or argument has an invalid value."""


class StanceModelError(InterpRagError):
    """A passage-stance model file (the logistic model or the reader) is missing or damaged."""


class DamagedIndexError(InterpRagError):
    """The index on disk is damaged (a file cut, missing or garbled); a full build repairs it."""

    def __init__(self, message: str, why: str = "") -> None:
        super().__init__(message)
        self.why = why or message  # the damage alone, for `build`'s report when it repairs it


class StorageError(InterpRagError):
    """The index directory cannot be written (read-only, full disk, a file where a directory belongs)."""
