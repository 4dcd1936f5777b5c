"""Tables of link, volume and word-list cases: the measured rules."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.signals import WordList, find_links, link_score, measure_volume

LINKS = [
    # (text, expected link texts)
    ("see https://example.org/report.pdf.", ["https://example.org/report.pdf"]),
    ("read it (https://example.org/a/b) first", ["https://example.org/a/b"]),
    ("(see example.com/x)", ["example.com/x"]),
    ("go to bit.ly/x2!", ["bit.ly/x2"]),
    ("short: tinyurl.com/abc123, then", ["tinyurl.com/abc123"]),
    ("www.shop.example.com is open", ["www.shop.example.com"]),
    ("WWW.SHOUTY-SHOP.COM now", ["WWW.SHOUTY-SHOP.COM"]),
    ("earnfast dot com", ["earnfast dot com"]),
    ("earnfast DOT com today", ["earnfast DOT com"]),
    ("visit earn[.]net/now", ["earn[.]net/now"]),
    ("visit earn(dot)org", ["earn(dot)org"]),
    ("hxxp://bad[.]site/x", ["hxxp://bad[.]site/x"]),
    ("hxxps://bad.example.com", ["hxxps://bad.example.com"]),
    ("two: a-shop.com and b-shop.net.", ["a-shop.com", "b-shop.net"]),
    ("https://en.wikipedia.org/wiki/Foo_(bar)).", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
    ("\"https://quoted.example.com/x\"", ["https://quoted.example.com/x"]),
    ("http://192.168.10.1/admin", ["http://192.168.10.1/admin"]),
    ("youtu.be/abc is a video", ["youtu.be/abc"]),
    # not links
    ("mail me at joe@example.com", []),
    ("write to press.office@city.example.ca please", []),
    ("the dot com bubble burst in 2000", []),
    ("I edited file.py and then the end.It was late", []),
    ("Mr.Smith said e.g. 3.5 a.m. i.e. later", []),
    ("the U.S. and the U.K. agreed", []),
    ("maybe.be it is", []),
    ("", []),
]


@pytest.mark.parametrize("text,expected", LINKS)
def test_find_links(text, expected):
    assert [link.text for link in find_links(text)] == expected


@pytest.mark.parametrize("text,expected", LINKS)
def test_link_spans_point_at_the_text(text, expected):
    for link in find_links(text):
        assert text[link.start:link.end] == link.text


def test_allow_list_skips_own_domain_and_subdomains():
    text = "our story example-news.com/a and www.sports.example-news.com/b but also other.com/c"
    links = find_links(text, allow_domains=["example-news.com"])
    assert [l.domain for l in links] == ["other.com"]


def test_link_flags_shortener_and_obfuscation():
    short, plain, hidden = find_links("bit.ly/x then example.com/y then earn dot com")
    assert short.shortener and not short.obfuscated
    assert not plain.shortener and not plain.obfuscated
    assert hidden.obfuscated and hidden.domain == "earn.com"


@pytest.mark.parametrize("count,limit,score", [(0, 1, 0.0), (1, 1, 0.5), (2, 1, 1.0), (5, 1, 1.0), (1, 0, 1.0), (2, 2, 2 / 3)])
def test_link_score_reaches_one_only_over_the_limit(count, limit, score):
    assert link_score(count, limit) == pytest.approx(score)


VOLUME = [
    # (text, shouting?, evidence texts)
    ("THIS IS AN OUTRAGE", True, ["THIS IS AN OUTRAGE"]),
    ("STOP THE CUTS now please", True, ["STOP THE CUTS"]),
    ("RIDICULOUS and INCOMPETENT and SHAMEFUL", True, ["RIDICULOUS", "INCOMPETENT", "SHAMEFUL"]),
    ("sooooo bad!!!", True, ["sooooo", "!!!"]),
    ("Why??? Who decided this???", True, ["???", "???"]),
    ("nooooo way, pleeeease", True, ["nooooo", "pleeeease"]),
    # not shouting
    ("NATO and the UN met in Brussels with the CBC watching", False, []),
    ("I did NOT say that", False, []),
    ("DISGRACEFUL decision by the board", False, []),
    ("The NYT and the WSJ both ran it", False, []),
    ("Great game!", False, []),
    ("@USER @USER URL so true", False, []),
    ("#MAGA #STOPTHESTEAL rally today", False, []),
    ("Really?!", False, []),
    ("www zzz III XXX", False, []),
    ("Chapter VIII of the report, Brrr it is cold", False, ["Brrr"]),
    ("", False, []),
]


@pytest.mark.parametrize("text,shouting,evidence", VOLUME)
def test_volume(text, shouting, evidence):
    volume = measure_volume(text, acronyms=["NATO", "UN", "CBC"])
    assert [s.text for s in volume.spans] == evidence
    assert 0.0 <= volume.score <= 1.0
    if shouting:
        assert volume.score >= 0.5
    elif not evidence:
        assert volume.score == 0.0


def test_listed_acronyms_never_shout_even_in_a_run():
    listed = ["NATO", "UN", "EU", "WTO"]
    assert measure_volume("NATO UN EU WTO summit today", acronyms=listed).score == 0.0
    assert measure_volume("NATO UN EU WTO summit today", acronyms=[]).score > 0.0


def test_more_shouting_scores_higher():
    low = measure_volume("the vote was a SHAMEFUL DECISION by the council members tonight").score
    high = measure_volume("THE VOTE WAS A SHAMEFUL DECISION BY THE COUNCIL").score
    assert 0 < low < high


WORDS = [
    ("Sh1t happens", ["Sh1t"]),
    ("SHIT!", ["SHIT"]),
    ("shitake mushrooms", []),
    ("Scunthorpe United", []),
    ("son  of a\nbitch", ["son  of a\nbitch"]),
    ("Mérde alors", ["Mérde"]),
    ("merde", ["merde"]),
]


@pytest.mark.parametrize("text,found", WORDS)
def test_word_list_matches_on_word_boundaries_case_accent_and_disguise_insensitive(text, found):
    words = WordList(["shit", "cunt", "son of a bitch", "merde"])
    assert [s.text for s in words.find(text)] == found


def test_word_list_keeps_digits():
    assert [s.text for s in WordList(["88"]).find("born in 1988, age 12, code 88")] == ["88"]


@pytest.mark.parametrize("text,pieces", [
    ("Great reporting. But the mayor is a crook.", ["But the mayor is a crook."]),
    ("Go Wolves!", []),
    ("One sentence only here.", ["One sentence only here."]),
    ("What an idiot. The mayor took bribes!! f*ck this.\n\nBuy now at x dot com",
     ["What an idiot.", "The mayor took bribes!!", "Buy now at x dot com"]),
])
def test_segments_are_sentences_of_three_or_more_words(text, pieces):
    from moderation.text import segments

    assert [text[s:e] for s, e in segments(text)] == pieces


def test_the_bare_domain_scanner_finds_what_the_pattern_finds():
    from hypothesis import given, settings, strategies as st
    from moderation import signals

    pieces = st.lists(st.sampled_from(["example", "shop-x", "a", ".", " ", "com", "co", "uk", "dot", "DOT", "[", "]",
                                       "(", ")", "{", "}", "/", "-", "9", "x" * 70, "\n", "be", "path?q=1", "@", "net",
                                       "[.]", " dot ", " . ", "_", "é", ":80", "com-x"]),
                      max_size=16).map("".join)

    def check(text):
        pattern = [(m.span(), m.group("tld"), m.group("path")) for m in signals._BARE_URL_REFERENCE.finditer(text)]
        for finder in (signals._scan_bare_urls, signals._bare_urls):
            assert [((m.start, m.end), m.tld, m.path) for m in finder(text)] == pattern, text

    for text in ["x.com a[.]b[.]com", "see example dot com and shop[.]example[.]net/x", "a.b.c.co.uk", "the dot com era",
                 "x.com " + "a[.]" * 100 + "b.com"]:
        check(text)

    @settings(max_examples=2000, deadline=None)
    @given(st.one_of(pieces, st.text(max_size=60)))
    def same(text):
        check(text)
    same()


CRAFTED = {   # what makes a backtracking matcher quadratic: long chains with no top-level domain
    "a[.]": lambda n: "x.com " + "a[.]" * (n // 4),
    " a dot": lambda n: "x.com" + " a dot" * (n // 6),
    " a .": lambda n: "x.com" + " a ." * (n // 4),
    "a (dot) ": lambda n: "x.com " + "a (dot) " * (n // 8),
    "links": lambda n: "see a.com/x " * (n // 12),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_finding_links_is_linear_in_the_text(name):
    from moderation import signals

    steps = []
    for n in (5_000, 10_000, 20_000):
        signals.detect_links.cache_clear()
        signals.detect_links(CRAFTED[name](n))
        steps.append(signals.work["bare_url"])
    # Doubling the text at most doubles the scanner's work (plus a little for the prefix).
    assert steps[1] <= 2.1 * steps[0] and steps[2] <= 2.1 * steps[1], steps


def test_a_link_farm_is_read_up_to_its_first_links_in_order():
    from moderation.signals import MAX_LINKS, detect_links

    farm = " ".join(f"see shop{i}.com/x" for i in range(3 * MAX_LINKS)) + " and http://last.example.org/y"
    found = detect_links(farm)
    assert len(found) == MAX_LINKS
    assert [x.domain for x in found[:3]] == ["shop0.com", "shop1.com", "shop2.com"]
    assert found[-1].domain == f"shop{MAX_LINKS - 1}.com"


def test_stopping_at_the_first_links_finds_what_reading_them_all_finds(monkeypatch):
    from moderation import signals

    pieces = st.lists(st.sampled_from(["http://a.com/x", "www.b.org", "c.net/y", "a.com/http://b.com", "me@x.com",
                                       "d dot com", "e[.]co", "word", "the", "https://f.io", "www.g.co.uk/p",
                                       "h.ca", "http://www.i.com", "x.y"]), max_size=40).map(" ".join)

    def links(text, most):
        monkeypatch.setattr(signals, "MAX_LINKS", most)
        monkeypatch.setattr(signals, "_MATCHES", 4 * most)
        signals.detect_links.cache_clear()
        return [(x.start, x.end, x.domain) for x in signals.detect_links(text)]

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(pieces, st.integers(1, 6))
    def same(text, most):
        assert links(text, most) == links(text, 1000)[:most], text
    same()
    signals.detect_links.cache_clear()


@pytest.mark.parametrize("text,fires", [
    ("Senator Grey is a sexual predator.", True), ("The mayor is a conman and a quisling.", True),
    ("He is a terrorist sympathiser and everyone knows it.", True), ("That judge is guilty of sedition.", True),
    ("The council approved the new bus schedule.", False), ("a predator was seen near the river", False),
])
def test_a_named_actor_with_a_crime_word_is_an_accusation_cue(text, fires):
    from moderation.features.dense import CUE_COLUMNS, CUES, signals_reference

    signals = signals_reference(text, None, ())[3]
    assert (signals[CUES][CUE_COLUMNS.index("actor_wrongdoing")] > 0) == fires


@pytest.mark.parametrize("text,kinds", [
    ("The mayor took bribes from the developer.", {"money"}),
    ("He lied about the numbers and she knows it.", {"lying"}),
    ("The clerk rigged the count. The chief is a traitor.", {"cover-up", "crime"}),
    ("Senator Grey is a sexual predator.", {"violence"}),
    ("The council approved the new bus schedule.", set()),
])
def test_each_kind_of_wrongdoing_is_a_cue_column_of_its_own(text, kinds):
    from moderation.features.dense import CUE_COLUMNS, CUES, WRONG_KINDS, signals_reference

    cues = signals_reference(text, None, ())[3][CUES]
    assert {k for k in WRONG_KINDS if cues[CUE_COLUMNS.index(f"wrongdoing_{k}")] > 0} == kinds
    assert (cues[CUE_COLUMNS.index("wrongdoing")] > 0) == bool(kinds)


def test_every_wrongdoing_word_is_of_exactly_one_kind():
    from moderation.features.dense import CUE_WORDS, WRONG_KINDS

    words = [w for kind in WRONG_KINDS for w in CUE_WORDS[kind]]
    assert len(words) == len(set(words)) > 100
