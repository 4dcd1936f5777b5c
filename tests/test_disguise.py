"""The same verdict however a comment is dressed: disguised foul words, links and shouting, both
ways, with the evidence on the text as written; and the invariance properties."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation import _scan_py, accel
from moderation.lexicon import Lexicon
import re

from moderation.normaliser import _MASKED_RUN, _SPACED, TABLE, Normaliser, _Classes, _confusables, screen
from moderation.signals import find_links
from moderation.verdict import REJECT

NORMALISER = Normaliser(Lexicon.load())
BASE = "This article is {x} and the writer should {y} off."


@pytest.mark.parametrize("shit,fuck", [
    ("shit", "fuck"), ("SHIT", "FUCK"), ("sh1t", "f*ck"), ("$h1t", "fvck"),
    ("sh\u200bit", "fu\u200dck"),                     # zero-width space, zero-width joiner
    ("sh\u00adit", "f\u00aduck"),                     # soft hyphens
    ("s h i t", "f u c k"), ("s.h.i.t", "f.u.c.k"), ("s-h-i-t", "f-u-c-k"), ("s_h_i_t", "f\nu\nc\nk"),
    ("\u0455hit", "fu\u0441k"),                       # Cyrillic look-alikes (dze, es)
    ("\u0455h\u0456t", "f\u03c5ck"),                  # Cyrillic i, Greek upsilon
    ("s\u0301h\u0301i\u0301t\u0301", "f\u0308uck"),   # combining accents
    ("shiiiit", "fuuuuck"),                          # stretched letters
    ("\u202eshit\u202c", "\u2066fuck\u2069"),          # bidirectional controls
    ("ｓｈｉｔ", "ｆｕｃｋ"),                              # fullwidth
    ("𝐬𝐡𝐢𝐭", "𝐟𝐮𝐜𝐤"),                              # mathematical bold
    ("s--t", "f---"), ("sh#t", "f@ck"), ("sh—", "FXXK"),   # masks
    ("sh*t", "f-ing"), ("sh*t", "F-in"),               # an abbreviation of the f-word
])
def test_disguised_foul_words_are_rejected_with_the_words_as_written(moderator, shit, fuck):
    text = BASE.format(x=shit, y=fuck)
    verdict = moderator.check(text)
    assert verdict.verdict == REJECT, (text, verdict.to_dict())
    flag = next(f for f in verdict.flags if f.rule == "foul_language")
    shown = {e.text for e in flag.evidence}
    for word in (shit, fuck):
        written = word.strip("\u202e\u202c\u2066\u2069")
        assert any(written in e or e in written for e in shown), (word, shown)
    for e in flag.evidence:
        assert text[e.start:e.end] == e.text


@pytest.mark.parametrize("text", [
    "Scunthorpe United won at Middlesex", "a classic assessment of the grassland", "Hitchcock's cockatoo",
    "what a pushover", "Clitheroe and Essex", "I a m here", "Plan B C D", "the U.S. and the F.B.I. agree",
    "a well-known e-mail", "MAXIMUM TAXES on XBOX", "pass the class", "Dick Van Dyke's cocktail",
    "set the f-stop to 8 for the F-35 photo", "self-finished, f-string",
    # a dash run between two words is punctuation, not letters inside one word
    "the crash--his car was fine", "but hey--it is late", "more details---that part",
    "an A-list cast on D-Day, a-ha", "the a-bomb and d-con",
])
def test_innocent_look_alikes_stay_unflagged(moderator, text):
    verdict = moderator.check(text)
    assert "foul_language" not in {f.rule for f in verdict.flags}, verdict.to_dict()


@pytest.mark.parametrize("text,shown", [
    ("He's batsh_t crazy", "batsh_t"), ("a batsh*t plan", "batsh*t"), ("what a clusterf**k", "clusterf**k"),
    ("a reactionary bulls**tter", "bulls**tter"), ("stop sh*tting on us", "sh*tting"),
    # "a-", "d-" (as "f-") before the rest of the word: the abbreviation of one
    ("Trump is such an a-hole.", "a-hole"), ("what a d-bag", "d-bag"), ("arrogant A-holes", "A-holes"),
])
def test_a_mask_inside_a_longer_word_reads_as_the_word_it_holds(moderator, text, shown):
    flag = next(f for f in moderator.check(text).flags if f.rule == "foul_language")
    assert shown in [e.text for e in flag.evidence]


@pytest.mark.parametrize("text,expected", [
    ("Cheap meds at cheap-pills\u3002com and buy-now\u3002net", ["cheap-pills\u3002com", "buy-now\u3002net"]),
    ("Cheap meds at cheap-pills\uff0ecom and buy-now\uff61net", ["cheap-pills\uff0ecom", "buy-now\uff61net"]),
    ("go to pills(dot)com or pills[dot]net or pills[.]org", ["pills(dot)com", "pills[dot]net", "pills[.]org"]),
    ("visit pills . com or meds . net today", ["pills . com", "meds . net"]),
    ("hxxps://evil.example.com/x and ｈｔｔｐｓ://bad.example.org", ["hxxps://evil.example.com/x", "ｈｔｔｐｓ://bad.example.org"]),
    ("see ev\u200bil.c\u200bom/x and ba\u200dd.net/y", ["ev\u200bil.c\u200bom/x", "ba\u200dd.net/y"]),
    ("see \u0435vil.\u0441om/x and b\u0430d.net/y", ["\u0435vil.\u0441om/x", "b\u0430d.net/y"]),   # Cyrillic e, es, a
])
def test_disguised_links_count_shown_as_written(moderator, text, expected):
    verdict = moderator.check(text)
    flag = next(f for f in verdict.flags if f.rule == "links")
    assert [e.text for e in flag.evidence] == expected
    for e in flag.evidence:
        assert text[e.start:e.end] == e.text


@pytest.mark.parametrize("text", [
    "In the U.S. at 9 a.m. the F.B.I. said e.g. i.e. etc.", "write to jane.doe@example.com", "the dot com era ended",
])
def test_abbreviations_and_addresses_are_not_links(moderator, text):
    assert moderator.check(text).scores["links"] == 0.0


@pytest.mark.parametrize("plain,text,shown", [
    ("THIS IS A DISGRACE AND THEY KNOW IT", "T H I S   I S   A   D I S G R A C E   A N D   T H E Y   K N O W   I T",
     "T H I S   I S   A   D I S G R A C E   A N D   T H E Y   K N O W"),
    ("WAKE UP PEOPLE", "W.A.K.E U.P P.E.O.P.L.E", "W.A.K.E U.P P.E.O.P.L.E"),
    ("THIS IS A DISGRACE AND THEY KNOW IT", "𝐓𝐇𝐈𝐒 𝐈𝐒 𝐀 𝐃𝐈𝐒𝐆𝐑𝐀𝐂𝐄 𝐀𝐍𝐃 𝐓𝐇𝐄𝐘 𝐊𝐍𝐎𝐖 𝐈𝐓",
     "𝐓𝐇𝐈𝐒 𝐈𝐒 𝐀 𝐃𝐈𝐒𝐆𝐑𝐀𝐂𝐄 𝐀𝐍𝐃 𝐓𝐇𝐄𝐘 𝐊𝐍𝐎𝐖"),
    ("THIS IS A DISGRACE AND THEY KNOW IT", "ＴＨＩＳ ＩＳ Ａ ＤＩＳＧＲＡＣＥ ＡＮＤ ＴＨＥＹ ＫＮＯＷ ＩＴ",
     "ＴＨＩＳ ＩＳ Ａ ＤＩＳＧＲＡＣＥ ＡＮＤ ＴＨＥＹ ＫＮＯＷ"),
    ("This is outrageous!!! and so is that!!!", "This is outrageous！！！ and so is that！！！", "！！！"),
])
def test_disguised_shouting_is_volume_shown_as_written(moderator, plain, text, shown):
    """Dressed up, the comment shouts as loud as its plain twin (which the tiny model flags); the
    shouted words are shown as written (a two-letter word at the end is not shouting)."""
    verdict, twin = moderator.check(text), moderator.check(plain)
    assert "volume" in {f.rule for f in twin.flags}
    assert verdict.scores["volume"] == twin.scores["volume"]
    flag = next(f for f in verdict.flags if f.rule == "volume")
    assert any(e.text == shown for e in flag.evidence), [e.text for e in flag.evidence]
    for e in flag.evidence:
        assert text[e.start:e.end] == e.text


def test_acronyms_stay_acronyms(moderator):
    assert moderator.check("The F.B.I. and the U.S. and NATO met the CBC").scores["volume"] == 0.0


# --- properties -----------------------------------------------------------------------------------

FORMAT = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202a", "\u202e", "\u2066", "\u2069"]
LOOK_ALIKES: dict[str, list[str]] = {}
for _char, _latin in _confusables().items():
    if TABLE[ord(_char)] == _latin:
        LOOK_ALIKES.setdefault(_latin, []).append(_char)

TEXTS = st.sampled_from([
    "You are a complete idiot and the mayor lied about the budget.", "See shop.example.com/deal now!!! CHEAP",
    "This council is full of shit and the mayor knows it.", "Thanks for the clear reporting on the school board.",
    "THIS IS A DISGRACE, the councillor pocketed the grant money", "buy cheap pills at pills dot com",
])


@st.composite
def with_format_characters(draw):
    text = draw(TEXTS)
    chars = list(text)
    for _ in range(draw(st.integers(1, 8))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(FORMAT)))
    return text, "".join(chars)


@st.composite
def with_look_alikes(draw):
    text = draw(TEXTS)
    chars = list(text)
    for i in draw(st.lists(st.integers(0, len(chars) - 1), max_size=12)):
        if chars[i] in LOOK_ALIKES:
            chars[i] = draw(st.sampled_from(LOOK_ALIKES[chars[i]]))
    return text, "".join(chars)


@pytest.mark.parametrize("strategy", [with_format_characters, with_look_alikes])
def test_format_characters_and_look_alikes_change_no_score(moderator, strategy):
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(strategy())
    def same(pair):
        plain, dressed = pair
        a, b = moderator.check(plain).scores, moderator.check(dressed).scores
        assert all(abs(a[r] - b[r]) <= 0.01 for r in a), (dressed, a, b)
    same()


def test_there_are_look_alikes_for_most_letters():
    assert sum(1 for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if LOOK_ALIKES.get(c)) >= 40


def test_evidence_offsets_map_back_to_the_text_as_written():
    text = "f\u200bu\u200bc\u200bk this s h i t, \ufb01ne \u0455hit"
    found = NORMALISER.normalise(text)
    assert found.text == "fuck this shit, fine shit"
    start = found.text.index("shit")
    assert found.span(start, start + 4) == (text.index("s h i t"), text.index("s h i t") + len("s h i t"))
    start = found.text.index("fuck")
    assert text[slice(*found.span(start, start + 4))] == "f\u200bu\u200bc\u200bk"


@pytest.mark.skipif("compiled" not in accel.available(), reason="moderation._scan is not built")
def test_the_compiled_screen_equals_the_python_screen():
    compiled = accel.IMPLEMENTATIONS["compiled"]

    @settings(max_examples=3000, deadline=None)
    @given(st.lists(st.one_of(st.text(max_size=30),
                              st.text(alphabet=st.sampled_from(list("aAbfFX .-_\n#@%\u2013\u2014x\u00e91\t")), max_size=24)),
                    min_size=1, max_size=3))
    def same(texts):
        assert list(bytes(compiled.screen(texts))) == _scan_py.screen(texts).tolist()
    same()


def test_comments_the_screen_passes_are_left_as_they_are():
    @settings(max_examples=500, deadline=None)
    @given(st.text(max_size=40))
    def unchanged(text):
        if screen([text])[0] == 0:
            assert NORMALISER.normalise(text).text == text
    unchanged()


def test_shown_links_keep_their_disguise():
    assert [link.text for link in find_links("cheap-pills.com")] == ["cheap-pills.com"]


# --- the word pass's array twins -----------------------------------------------------------------

WORD_PASS_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from(list("abcfFkuXx*#@%_- .\n\t,1\u00b2\u0663\u00e9\u4e2d\u2013\u2014")), max_size=40))


def test_the_array_runs_are_the_patterns_spans():
    @settings(max_examples=3000, deadline=None)
    @given(WORD_PASS_TEXT)
    def same(text):
        classes = _Classes(text)
        assert [m.span() for m in _SPACED.finditer(text)] == list(zip(*map(list, classes.spaced_runs(by_arrays=True))))
        masked = [m.span() for m in _MASKED_RUN.finditer(text)]
        assert masked == list(zip(*map(list, classes.masked_runs(by_arrays=True))))
        assert masked == list(zip(*map(list, classes.masked_runs(by_arrays=False))))
    same()


def test_a_short_texts_words_read_one_by_one_are_the_arrays_words(monkeypatch):
    # A short text's spaced and masked words are read run by run, not in arrays: the same edits.
    from moderation import normaliser as module

    texts = ["You are a f-----g idiot", "s h i t and f u c k", "#hashtag law--nobody f*ck s--t", "u.s.a",
             "a b c f u c k me", "well-known X-ray FXXK sh—", "T H I S f u c k", "x y z"]

    def words(text):
        flag = module.screen([text])[0]
        return Normaliser(Lexicon.load())._words(text, None, flag)[0]

    short = [words(t) for t in texts]
    monkeypatch.setattr(module, "_ARRAYS_FROM", 0)
    assert [words(t) for t in texts] == short
    assert short[0] == "You are a fucking idiot" and short[1] == "shit and fuck"

    @settings(max_examples=1500, deadline=None)
    @given(WORD_PASS_TEXT)
    def same(text):
        monkeypatch.setattr(module, "_ARRAYS_FROM", 2000)
        by_runs = words(text)
        monkeypatch.setattr(module, "_ARRAYS_FROM", 0)
        assert words(text) == by_runs
    same()


def test_the_array_classes_are_the_engines_for_every_character():
    text = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    classes = _Classes(text)
    alnum, letter = re.compile(r"[^\W_]"), re.compile(r"[^\W\d_]")
    assert [bool(alnum.match(c)) for c in text] == classes.alnum.tolist()
    assert [bool(letter.match(c)) for c in text] == classes.letter.tolist()


def _spelled_by_hand(lexicon, text):
    """The words a run's letters spell, leftmost and longest first, one length at a time."""
    found, i = [], 0
    while i <= len(text) - 3:
        best = max((j for j in range(i + 3, min(len(text), i + 16) + 1) if lexicon.whole_word(text[i:j])),
                   default=None)
        if best is None:
            i += 1
        else:
            found.append((i, best))
            i = best
    return found


def test_spelled_words_are_the_longest_lexicon_words_leftmost_first():
    lexicon = Lexicon.load()
    pattern = lexicon.spelled_words(3, 16)
    # Spaced letters spell words of letters only ("f'ing" has an apostrophe no one spaces out).
    spellable = sorted(w for w in lexicon._whole[0] if w.isalpha())
    letters = sorted({c for w in spellable for c in w} | set("fuckshitxyz"))

    @settings(max_examples=1500, deadline=None)
    @given(st.lists(st.one_of(st.sampled_from(spellable[:200] + list(lexicon._whole[1])),
                              st.text(alphabet=st.sampled_from(letters), max_size=3)), max_size=8))
    def same(parts):
        text = "".join(parts)
        assert [m.span() for m in pattern.finditer(text)] == _spelled_by_hand(lexicon, text)
    same()


def test_disguised_words_by_the_thousand_keep_their_offsets():
    text = "f--- s--t, W.A.K.E. f u c k, a-s-s-h-o-l-e! " * 300
    found = NORMALISER.normalise(text)
    assert found.text == "fuck shit, WAKE fuck, asshole! " * 300
    for word, shown in {"fuck": "f u c k", "shit": "s--t", "asshole": "a-s-s-h-o-l-e", "WAKE": "W.A.K.E"}.items():
        at = found.text.rindex(word)
        assert text[slice(*found.span(at, at + len(word)))] == shown
    at = found.text.index("fuck")
    assert text[slice(*found.span(at, at + 4))] == "f---"


def test_letters_beside_spaced_capitals_still_spell_a_word():
    assert NORMALISER.normalise("T H I S f u c k").text == "THIS fuck"
