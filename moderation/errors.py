"""One family of errors whose message is a single line that names the bad value and the fix.

The CLI prints these as they are and the service turns them into its JSON error shape; anything
else escaping the library is a bug.
"""


class ModerationError(Exception):
    """Base class: ``str(error)`` is one line meant for the person who can fix it."""


class RulebookError(ModerationError):
    """The rulebook file is missing, unreadable or invalid."""


class DataError(ModerationError):
    """Labelled training data is missing, unreadable or invalid."""


class ConfigError(ModerationError):
    """The training configuration is invalid."""


class ModelError(ModerationError):
    """A model file is missing, tampered with, or built with other library versions.

    ``cause`` is what is wrong without the fix (the whole message when none was given apart): a
    caller that applies the fix itself, such as rebuilding the default model, says only that."""

    def __init__(self, message: str, cause: str | None = None):
        super().__init__(message)
        self.cause = message if cause is None else cause


class InputError(ModerationError):
    """A comment given for checking is invalid (not text, not UTF-8, ...)."""
