"""Reader-comment moderation for news sites.

>>> from moderation.loading import open_moderator
>>> moderator = open_moderator()            # the default model, built on first use
>>> moderator.check("Nice piece, thanks").verdict
'publish'
"""
from .errors import ModerationError
from .moderator import Comment, Moderator
from .rulebook import LEARNED_RULES, RULE_IDS, load_rulebook
from .verdict import Evidence, Flag, Verdict

__all__ = ["Comment", "Evidence", "Flag", "LEARNED_RULES", "Moderator", "ModerationError", "RULE_IDS",
           "Verdict", "load_rulebook"]
