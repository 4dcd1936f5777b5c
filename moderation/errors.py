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
    """A model file is missing, tampered with, or built with other library versions."""


class InputError(ModerationError):
    """A comment given for checking is invalid (not text, not UTF-8, ...)."""
