"""Reader-comment moderation for news sites.

>>> from moderation.loading import open_moderator
>>> from training.default import ensure_default_model
>>> moderator = open_moderator(ensure_default=ensure_default_model)   # the default model, built on first use
>>> moderator.check("Nice piece, thanks").verdict
'publish'
"""
from .errors import ModerationError
from .moderator import Comment, Moderator
from .detectors import LEARNED_RULES, RULE_IDS
from .rulebook import load_rulebook
from .verdict import Evidence, Flag, Verdict

__all__ = ["Comment", "Evidence", "Flag", "LEARNED_RULES", "Moderator", "ModerationError", "RULE_IDS",
           "Verdict", "load_rulebook"]
