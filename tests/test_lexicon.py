"""The foul-language lexicon and the rule built on it: words as written, both ways."""
import pytest

from moderation.errors import RulebookError
from moderation.lexicon import Lexicon
from moderation.moderator import Moderator
from moderation.rulebook import load_rulebook, parse_rulebook
from moderation.text import TOKEN_RE, normalize
from moderation.verdict import REJECT, REVIEW

LEXICON = Lexicon.load()


def tier_of(text: str) -> list[str]:
    """The tiers of the lexicon hits in a text, in order."""
    tokens = [m.group(0) for m in TOKEN_RE.finditer(normalize(text))]
    return [LEXICON.tiers[k].name for k in LEXICON.tiers_of(tokens) if k >= 0]


@pytest.mark.parametrize("text,tiers", [
    # strong, as written and disguised
    ("This council is full of shit", ["strong"]),
    ("This council is full of sh!t and the fcking mayor knows it", ["strong", "strong"]),
    ("what the f**k", ["strong"]), ("f***ing ridiculous", ["strong"]), ("a**hole", ["strong"]),
    ("Sh1t happens", ["strong"]), ("a$$", ["strong"]), ("$hit", ["strong"]), ("shiiiiit", ["strong"]),
    ("FUUUUCK", ["strong"]), ("clusterfuck", ["strong"]), ("Motherfucker", ["strong"]), ("STFU", ["strong"]),
    ("What a pompous @$$.", ["strong"]), ("these @ssholes", ["strong"]), ("a dumb azz", ["strong"]),
    ("effen stupid", ["strong"]), ("fkn morons", ["strong"]), ("LYING SACK of SHT", ["strong"]), ("GFY", ["strong"]),
    ("Same old mierda.", ["strong"]),
    # stars covering a stem and its ending
    ("a f*****g idiot", ["strong"]), ("f****n moron", ["strong"]), ("his jagoffs", ["strong"]),
    ("the f'ing mayor", ["strong"]), ("F’n idiot", ["strong"]), ("some badass", ["strong"]),
    # a star put between the letters, not for one; a possessive
    ("That b*itch", ["strong"]), ("Trump is a pu*ssy", ["strong"]), ("this f*c*king crap", ["strong", "mild"]),
    ("nail that b@st@rd's hide", ["strong"]), ("your sorry a$$'s", ["strong"]), ("the bastards’ plan", ["strong"]),
    # ... but only where the letters are the word, and a possessive only after the whole word
    ("a 5*star cla*ss act", []), ("the class's work", []), ("Essex's team", []), ("it's hell's kitchen", ["mild"]),
    # stars inside a longer word standing for a stem that entries find anywhere ("*shit*"), and a
    # stem's last letter doubled before an ending
    ("a batsh*t plan", ["strong"]), ("what a clusterf**k", ["strong"]), ("a bulls**tter", ["strong"]),
    ("sh*tting", ["strong"]), ("a sh**load", ["strong"]), ("the ba**ed plan", []), ("s***s and giggles", ["strong"]),
    # a handle is not a disguise, nor is a word that merely begins like one
    ("@ssmith said so", []), ("@mayor has spoken", []), ("life in the shtetl", []), ("Azzurri win", []),
    ("The mayor is a jackass and everyone knows it.", ["strong"]), ("bullshit", ["strong"]),
    # slurs
    ("you retard", ["slurs"]), ("shooting whiteys", ["slurs"]), ("niggaz", ["slurs"]),
    # a slur's letters beginning an innocent word
    ("the very useful word niggardly", []),
    # words with innocent senses: left to the model
    ("Dick Cheney again", ["context"]), ("that took balls", ["context"]),
    ("the sea dyke held", ["context"]), ("Dick Van Dyke's show", ["context", "context"]),
    # mild: never flag on their own
    ("Damn, that was a hell of a goal last night!", ["mild", "mild"]), ("what crap", ["mild"]),
    ("this sucks", ["mild"]), ("screw them", ["mild"]), ("total BS", ["mild"]),
    # never inside another word (Scunthorpe)
    ("Scunthorpe United", []), ("a classic assessment", []), ("Middlesex and Essex", []), ("a cockatoo", []),
    ("grassland", []), ("Hitchcock", []), ("a pushover", []), ("Clitheroe", []), ("Dickens", []),
    ("shell hello Hellenic", []), ("cocktail hour", []), ("assassin", []), ("passes", []),
    # insults without profanity are respect, not foul
    ("You idiot, you moron", []),
])
def test_lexicon_tiers(text, tiers):
    assert tier_of(text) == tiers


@pytest.mark.parametrize("data,words", [
    ({"tiers": {"x": {"action": "delete", "words": ["a"]}}}, "action must be one of reject, review, model, none"),
    ({"tiers": {"x": {"action": "reject", "words": ["screw you"]}}}, "is a phrase"),
    ({"tiers": {"x": {"action": "reject", "words": ["f*ck"]}}}, "may only begin or end an entry"),
    ({"tiers": {"x": {"action": "reject", "words": "fuck"}}}, "words must be a list"),
    ({}, "no [tiers.<name>] tables"),
])
def test_bad_lexicons_are_one_line_errors(data, words):
    with pytest.raises(RulebookError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Lexicon.parse(data)


def test_batch_and_one_by_one_classification_agree():
    tokens = ["fuck", "f**k", "shiiit", "class", "hell", "dick", "x", "fucking", "a**", "s***", "bs", "", "ass*",
              "b*itch", "bastard's", "class's", "cla*ss", "batsh*t", "sh*tting", "ba**ed"]
    assert LEXICON.tiers_of(tokens).tolist() == [LEXICON.tier(t) for t in tokens]


# --- the rule ---------------------------------------------------------------------------------

def test_strong_words_reject_with_the_words_as_evidence(moderator):
    verdict = moderator.check("This council is full of sh!t and the fcking mayor knows it.")
    assert verdict.verdict == REJECT
    flag = next(f for f in verdict.flags if f.rule == "foul_language")
    assert flag.score == 1.0
    assert [e.text for e in flag.evidence][:2] == ["sh!t", "fcking"]


def test_mild_words_alone_never_reject_and_are_not_flagged_by_the_lexicon(tiny_artifact):
    text = "Damn, that was a hell of a goal last night!"
    # Even with a foul threshold so low that the model flags everything, mild words cannot reject.
    book = parse_rulebook({"rule": [{"id": "foul_language", "threshold": 0.0001, "reject_threshold": 0.0002}]})
    verdict = Moderator(tiny_artifact, book).check(text)
    assert verdict.verdict != REJECT
    assert Moderator(tiny_artifact, load_rulebook()).check(text).scores["foul_language"] < 1.0


def test_an_outlet_can_send_mild_words_to_review(tiny_artifact, tmp_path):
    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text('[tiers.strong]\naction = "reject"\nwords = ["fuck*"]\n'
                       '[tiers.mild]\naction = "review"\nwords = ["damn*", "hell"]\n')
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "foul_language"\ntext = "no swearing"\nlexicon = "lexicon.toml"\n')
    verdict = Moderator(tiny_artifact, load_rulebook(rules)).check("Damn, that was a hell of a goal last night!")
    assert verdict.verdict == REVIEW
    flag = next(f for f in verdict.flags if f.rule == "foul_language")
    assert [e.text for e in flag.evidence][:2] == ["Damn", "hell"]


def test_a_rulebook_lexicon_that_is_missing_is_a_one_line_error(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "foul_language"\nlexicon = "nope.toml"\n')
    with pytest.raises(RulebookError, match="lexicon 'nope.toml' is not a file"):
        load_rulebook(rules)


@pytest.mark.parametrize("text", ["Thanks for a classic assessment of Scunthorpe's grassland.",
                                  "Hitchcock's cockatoo in Middlesex was no pushover."])
def test_innocent_look_alikes_are_published(moderator, text):
    verdict = moderator.check(text)
    assert "foul_language" not in {f.rule for f in verdict.flags}
    assert verdict.scores["foul_language"] < 1.0


@pytest.mark.parametrize("text,masked", [
    ("They are already dead from the *** up!!", "***"), ("What a crock of deluded *&^&.", "*&^&"),
    ("Ha, #$%@ you and your council.", "#$%@"),
])
def test_a_word_written_as_symbols_is_sent_to_review_with_the_symbols_as_evidence(moderator, text, masked):
    verdict = moderator.check(text)
    flag = next(f for f in verdict.flags if f.rule == "foul_language")
    assert (flag.matched, flag.action, flag.evidence[0].text) == ("masked", "review", masked)
    assert verdict.verdict == REVIEW and flag.score == flag.threshold


@pytest.mark.parametrize("text", ["Great game!!! Worth every $$$ of the ticket.", "Email me at @@@ never mind.",
                                  "Rates rose 5%** this year", "see the footnote*", "a#b#c is a name"])
def test_exclamations_dollars_and_symbols_inside_words_are_not_masked_words(moderator, text):
    assert "foul_language" not in {f.rule for f in moderator.check(text).flags}


def test_an_outlet_can_turn_masked_words_off(tiny_artifact):
    book = parse_rulebook({"rule": [{"id": "foul_language", "review_masked": False}]})
    verdict = Moderator(tiny_artifact, book).check("They are already dead from the *** up!!")
    assert not any(f.matched == "masked" for f in verdict.flags)
    with pytest.raises(RulebookError, match="review_masked must be true or false, got 'no'"):
        parse_rulebook({"rule": [{"id": "foul_language", "review_masked": "no"}]})


@pytest.mark.parametrize("token,mild", [
    ("d***", "damn"), ("c***", "crap"), ("d****d", "damned"), ("h***", "hell"),
    ("f**k", None), ("sh*t", None), ("a**", None), ("b*tch", None), ("damn", None), ("d*", None), ("C***", "crap"),
])
def test_a_mask_has_a_mild_reading_only_where_a_mild_word_fits_it(token, mild):
    assert LEXICON.mild_reading(token) == mild


#: The model alone would reject every comment here (a foul threshold far below any score).
EAGER = {"id": "foul_language", "threshold": 0.0001, "reject_threshold": 0.0002}


@pytest.mark.parametrize("text,word", [
    ("Bury the d*** thing and go back home.", "d***"),
    ("Bury the d@@@ thing and go back home.", "d@@@"),     # every mask character the normaliser reads
    ("Spewing mindless ignorant C***.", "C***"),
    ("Sanctimonious platitudes be d----d.", "d----d"),
    ("She disapproved of their 'slutty' behaviour.", "slutty"),
    ('You called my arguments "retarded" and left.', "retarded"),
    ("Since when is \u201cbastard\u201d a word for the front page?", "bastard"),
])
def test_an_ambiguous_mask_or_a_quoted_word_is_reviewed_not_rejected(tiny_artifact, text, word):
    verdict = Moderator(tiny_artifact, parse_rulebook({"rule": [EAGER]})).check(text)
    flag = next(f for f in verdict.flags if f.rule == "foul_language")
    assert (verdict.verdict, flag.action, flag.matched) == (REVIEW, "review", "lexicon")
    assert word in [e.text for e in flag.evidence]


@pytest.mark.parametrize("text", [
    "What a f**k up.", "You sh*t head.", "You sh@t head.", "Call him a bitch's son.",
    "She said 'fuck off' to the mayor.",                    # a quoted phrase is said, not mentioned
    "The word 'bitch' is not allowed, you bitch.",          # the same word used as well
    "'bitch'ing about it again",
])
def test_a_plain_mask_a_used_word_or_a_quoted_phrase_still_rejects(moderator, text):
    assert moderator.check(text).verdict == REJECT


def test_an_outlet_can_reject_quoted_words_and_ambiguous_masks(tiny_artifact):
    book = parse_rulebook({"rule": [{"id": "foul_language", "review_quoted": False, "review_ambiguous_masks": False}]})
    for text in ("Bury the d*** thing.", "She disapproved of their 'slutty' behaviour."):
        assert Moderator(tiny_artifact, book).check(text).verdict == REJECT
    with pytest.raises(RulebookError, match="review_quoted must be true or false, got 'yes'"):
        parse_rulebook({"rule": [{"id": "foul_language", "review_quoted": "yes"}]})


def test_the_candidate_lines_found_in_arrays_are_the_patterns():
    import bisect

    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from moderation.lexicon import _CANDIDATE, _candidate_lines

    @settings(max_examples=2000, deadline=None)
    @given(st.lists(st.text(alphabet=st.sampled_from(list("aab*1_\u00e9\u00e9\u0663\u00b2\u4e2dZ")), max_size=12),
                    min_size=1, max_size=8))
    def same(tokens):
        joined = "\n".join(tokens)
        starts = np.zeros(len(tokens), dtype=np.int64)
        np.cumsum([len(t) + 1 for t in tokens[:-1]], out=starts[1:])
        expected = sorted({bisect.bisect_right(starts.tolist(), m.start()) - 1 for m in _CANDIDATE.finditer(joined)})
        assert _candidate_lines(joined, starts) == expected
    same()
    assert LEXICON.tiers_of(["shiiiit", "ok", "f**k", "111", "___", "\u00e9\u00e9\u00e9"]).tolist()[:3] == \
        [LEXICON.tier("shiiiit"), -1, LEXICON.tier("f**k")]


def test_a_run_of_one_letter_is_checked_once_however_long(monkeypatch):
    import numpy as np

    from moderation import lexicon as module

    calls = []

    class Counting:
        def match(self, c):
            calls.append(c)
            return module.re.match(r"[^\W\d_]", c)

    monkeypatch.setattr(module, "_LETTER", Counting())
    tokens = ["a" * 20_000, "bbb", "x"]
    starts = np.array([0, 20_001, 20_005])
    assert module._candidate_lines("\n".join(tokens), starts) == [0, 1]
    assert len(calls) == 2
