"""The one feature space shared by every learned rule.

Word 1-2-grams and character n-grams inside words (so ``f*ck`` and ``sh1t`` share most of their
n-grams with the words they disguise) over the normalised text, plus dense signals (``dense``): the
links that could be promotion, the foul-language lexicon's hits, and who is accused of what.

Weighting, and why: each block (words, characters) of a row holds ``count x idf`` per n-gram,
divided by the square root of the sum of ``idf^2`` over the row's n-gram *occurrences*. (The usual
TF-IDF divides by the l2 norm of the counted vector instead; the two agree whenever no n-gram
repeats.) With this norm a row's score is a sum over its tokens divided by a sum over its tokens,
so a batch is scored from per-token numbers computed once at training time (``compiled``), with
no per-comment n-gram counting: that is what makes checking every rule faster than a one-rule
word-count classifier. ``rows.transform_reference`` computes the same rows the plain way, one
comment at a time, and tests hold the fast paths equal to it to 1e-9.

A row is a comment or one of its sentences (runs of at least 3 tokens between sentence ends, for
comments of more than one sentence); a sentence row holds the n-grams and links inside it.

Modules: ``vocabulary`` (fitting), ``analysis`` (a batch tokenised and looked up once), ``dense``
(the dense signals beside the n-grams: links, lexicon hits, accusation cues), ``rows`` (feature
matrices for training and the reference), ``compiled`` (scoring from compiled numbers).
"""
from .analysis import MIN_SENTENCE_TOKENS, N_LINK_FEATURES, Analysis
from .compiled import Compiled, Scored, score_batch
from .vocabulary import TextFeatures

__all__ = ["Analysis", "Compiled", "MIN_SENTENCE_TOKENS", "N_LINK_FEATURES", "Scored", "TextFeatures", "score_batch"]
