"""The compiled scanner computes exactly what the Python reference does, and its screens never hide
a link or shouting."""
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from moderation import _scan_py, accel, scan
from moderation.signals import find_links, measure_volume
from moderation.text import char_ngrams, is_valid_unicode, normalize

compiled = pytest.mark.skipif("compiled" not in accel.available(), reason="moderation._scan is not built")
FUNCTIONS = ("set_fold", "normalize", "scan", "measure_volume", "grams", "grams_at", "probe", "screen", "terms_at", "set_table", "translate",
             "segment_sums", "pair_columns", "take", "top_tokens")

TRICKY = ["", "Sh1t, the mayor took bribes. Again.\n\nWhat a f*cking mess", "a$$ $hit a$$0 $$ab 5$ b!tch h3ll",
          "ÄÖÜ café naïve — ok İstanbul ß ﬁne 𝐀𝐁𝐂", "don't'' f**k*'s f***' x'** _under_score_",
          "Visit shop.example.com/a, www.EXAMPLE.org or example dot com (dot) [.] x . y hxxp://a.b",
          "STOP THE CUTS!!! Sooooo bad ‼ NASA and CNN", "@USER #MAGA ABC'DEF GHI", "@$$ @sshole x@$$ .@ss _@ss @@ss @s", "Wait...And then… next\u2003one",
          "¹²³ ½ Ⅷ 中文字 ０１２ A\u0301B", "\x00 \ud7ff \U0001F600 emoji 😀😀😀"]

letters = st.text(alphabet=st.sampled_from(list("aAbBsS xX1!$@*'’.?\n\u2026éÉ0-/[]()dotwWcmDOT")), max_size=80)
# Pieces of links, plain and disguised, shuffled together.
link_pieces = st.lists(st.sampled_from(["example", "shop", ".", " ", "  ", "com", "co", "uk", "io", "be", "at", "dot", "DOT",
                                        "Dot", "[", "]", "(", ")", "{", "}", "www", "WWW", "http", "hxxp", "://", "/",
                                        "x", "@", "-", "_", "9", "...", "\n", "bit", "ly", "it", "me"]),
                       max_size=14).map("".join)


def test_both_implementations_expose_the_same_functions():
    from pathlib import Path

    stub = (Path(accel.__file__).with_name("_scan.pyi")).read_text()
    for name in FUNCTIONS:
        assert callable(getattr(_scan_py, name)) and f"def {name}(" in stub
        for implementation in accel.IMPLEMENTATIONS.values():
            assert callable(getattr(implementation, name))


def test_use_switches_the_implementation_and_restores_it():
    before = accel.name
    with accel.use("python"):
        assert accel.name == "python" and accel._impl is _scan_py
    assert accel.name == before
    with pytest.raises(ValueError, match="implementation must be one of"):
        with accel.use("fortran"):
            pass


@compiled
def test_compiled_normalize_equals_the_reference():
    c = accel.IMPLEMENTATIONS["compiled"]
    for text in TRICKY:
        assert c.normalize(text) == normalize(text)

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(st.text(max_size=60), letters))
    def same(text):
        assert c.normalize(text) == normalize(text)
    same()


def _tokens(s):
    return [(int(d), int(a), int(b), int(h), bool(k)) for d, a, b, h, k in zip(s.doc, s.start, s.end, s.hash, s.brk)]


@compiled
def test_compiled_scan_equals_the_reference():
    with accel.use("compiled"):
        assert _tokens(scan.scan(TRICKY)) == _tokens(scan.scan_reference(TRICKY))

        @settings(max_examples=300, deadline=None)
        @given(st.lists(st.one_of(st.text(max_size=60), letters), max_size=4))
        def same(texts):
            assert _tokens(scan.scan(texts)) == _tokens(scan.scan_reference(texts))
        same()


@compiled
def test_screens_only_skip_comments_with_nothing_to_find():
    with accel.use("compiled"):
        screens_only_skip_comments_with_nothing_to_find()


def screens_only_skip_comments_with_nothing_to_find():
    result = scan.scan(TRICKY)
    assert result.may_link[TRICKY.index(TRICKY[5])] and result.may_shout[6]
    assert not result.may_link[0] and not result.may_shout[0]

    @settings(max_examples=1500, deadline=None)
    @given(st.lists(st.one_of(st.text(max_size=60), letters, link_pieces), min_size=1, max_size=4))
    def screened(texts):
        result = scan.scan(texts)
        for text, link, shout in zip(texts, result.may_link, result.may_shout):
            if not link:
                assert find_links(text) == []
            if not shout:
                assert measure_volume(text).score == 0
    screened()


def test_token_hash_is_fnv1a_of_code_points():
    assert scan.token_hash("") == scan.FNV_OFFSET
    assert scan.token_hash("a") == ((scan.FNV_OFFSET ^ 97) * scan.FNV_PRIME) % (1 << 64)
    assert scan.token_hash("ab") != scan.token_hash("ba")


def test_reference_scan_finds_tokens_sentences_and_offsets():
    s = scan.scan_reference(["Hi there. You sh1t!", "ok"])
    assert s.doc.tolist() == [0, 0, 0, 0, 1]
    assert list(zip(s.start.tolist(), s.end.tolist()))[:4] == [(0, 2), (3, 8), (10, 13), (14, 18)]
    assert s.brk.tolist() == [False, False, True, False, False]
    assert s.hash[3] == scan.token_hash("shit")


@pytest.mark.parametrize("implementation", accel.available())
def test_volume_meter_equals_measure_volume(implementation):
    with accel.use(implementation):
        volume_meter_equals_measure_volume()


def volume_meter_equals_measure_volume():
    from moderation.rulebook import load_rulebook

    acronyms = load_rulebook()["volume"].settings.acronyms
    meter = scan.VolumeMeter(acronyms)
    samples = TRICKY + ["THIS IS OUTRAGEOUS and NASA knows", "NO WAY\nNO WAY", "VIII XXX www WWW sooo İİİ ııı",
                        "WHAT?!?! the HELL is THIS... LOL", "@USER SHUT UP NOW", "Ça SUFFIT, ÉCOUTEZ-MOI BIEN"]
    for text in samples:
        assert meter(text) == measure_volume(text, acronyms), text

    @settings(max_examples=400, deadline=None)
    @given(st.one_of(st.text(max_size=80),
                     st.text(alphabet=st.sampled_from(list("AaBbOoWwIVX '’@#!?\n.ÉéİıNASA")), max_size=80)))
    def same(text):
        assert meter(text) == measure_volume(text, acronyms)
    same()


@pytest.mark.parametrize("implementation", accel.available())
def test_grams_equal_the_python_n_grams(implementation):
    words = ["f*ck", "a", "", "naïve", "😀x"]
    with accel.use(implementation):
        owner, hashes = scan.gram_hashes(words, 2, 5)
    expected = [(i, scan.token_hash(g)) for i, w in enumerate(words) for g in char_ngrams(w, 2, 5)]
    assert list(zip(owner.tolist(), hashes.tolist())) == expected


@pytest.mark.parametrize("implementation", accel.available())
def test_hash_index_finds_every_key_and_nothing_else(implementation):
    with accel.use(implementation):
        hash_index_finds_every_key_and_nothing_else()


def hash_index_finds_every_key_and_nothing_else():
    from moderation.hashindex import HashIndex

    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 2**63, size=5000, dtype=np.uint64))
    # Keys that collide in the low bits and small consecutive keys (bigram keys look like that).
    keys = np.concatenate([keys, np.arange(1, 300, dtype=np.uint64) << np.uint64(40), np.arange(300, dtype=np.uint64)])
    index = HashIndex(keys)
    assert index.lookup(keys).tolist() == list(range(len(keys)))
    assert index.lookup_reference(keys).tolist() == list(range(len(keys)))
    absent = np.setdiff1d(rng.integers(0, 2**63, size=2000, dtype=np.uint64), keys)
    assert (index.lookup(absent) == -1).all() and (index.lookup_reference(absent) == -1).all()
    assert HashIndex(np.zeros(0, dtype=np.uint64)).lookup(keys[:3]).tolist() == [-1, -1, -1]


@pytest.mark.parametrize("implementation", accel.available())
def test_grams_at_spans_equal_grams_of_the_normalised_tokens(implementation):
    texts = ["Sh1t happens, FOO", "naïve café", "a$$ end"]
    s = scan.scan_reference(texts)
    with accel.use(implementation):
        owner, hashes = scan.gram_hashes_at(texts, s.doc, s.start, s.end, 2, 5)
    words = [normalize(texts[d])[a:b] for d, a, b in zip(s.doc.tolist(), s.start.tolist(), s.end.tolist())]
    expected_owner, expected = scan.gram_hashes(words, 2, 5)
    assert owner.tolist() == expected_owner.tolist() and hashes.tolist() == expected.tolist()


@pytest.mark.parametrize("implementation", accel.available())
def test_terms_at_are_the_normalised_token_spans(implementation):
    texts = ["Sh1t happens, FOO", "naïve café", "a$$ end"]
    s = scan.scan_reference(texts)
    doc, start, end = (np.ascontiguousarray(x, dtype=np.int64) for x in (s.doc, s.start, s.end))
    with accel.use(implementation):
        terms = accel.terms_at(texts, doc, start, end)
    assert terms == [normalize(texts[d])[a:b] for d, a, b in zip(s.doc.tolist(), s.start.tolist(), s.end.tolist())]


@pytest.mark.parametrize("implementation", accel.available())
def test_translate_puts_each_text_through_the_normaliser_table(implementation):
    from moderation.normaliser import TABLE

    texts = ["plain ascii", "fu\u0441k", "caf\u00e9", "\u2019quoted\u2019", "z\u200bw", "ﬁne", "", "日本"]
    with accel.use(implementation):
        translated, reshaped = accel.translate(texts)
    for text, got, r in zip(texts, translated, reshaped):
        expected = text.translate(TABLE)
        assert got == (None if expected == text else expected)
        assert bool(r) == any(len(TABLE[ord(c)]) != 1 for c in text if ord(c) >= 128)
    assert translated[1] == "fuck" and translated[0] is None and reshaped[4] and reshaped[5]


@compiled
def test_compiled_translate_equals_the_reference():
    with accel.use("compiled"):
        reference = accel.IMPLEMENTATIONS["python"].translate

        @settings(max_examples=300, deadline=None)
        @given(st.lists(st.one_of(st.text(max_size=40), letters), max_size=4))
        def same(texts):
            assert accel.translate(texts) == reference(texts)
        same()


def test_translate_names_a_text_that_is_not_a_string():
    for implementation in accel.available():
        with accel.use(implementation), pytest.raises(TypeError, match="comment #2 is not a str"):
            accel.translate(["ok", 3])


@pytest.mark.parametrize("implementation", accel.available())
def test_segment_sums_are_the_product_of_the_0_1_matrix_exactly(implementation):
    import scipy.sparse as sp

    rng = np.random.default_rng(3)
    m, rows, k = 400, 37, 5
    group = np.sort(rng.integers(-1, rows, size=m))
    cols, cols2 = rng.integers(-1, 60, size=m), rng.integers(-1, 60, size=m)
    keep = rng.random(m) > 0.2
    ext = rng.normal(size=(60, k)) * 1e3
    with accel.use(implementation):
        got = accel.segment_sums(group, cols, cols2, keep, ext, rows)
        alone = accel.segment_sums(group, cols, None, None, ext, rows)
    # The same sums as a CSR product whose rows list each item's columns in item order.
    use = (group >= 0) & keep
    items = np.column_stack([cols, cols2])[use].ravel()
    owner = np.repeat(group[use], 2)
    valid = items >= 0
    matrix = sp.csr_matrix((np.ones(valid.sum()), items[valid],
                            np.concatenate([[0], np.cumsum(np.bincount(owner[valid], minlength=rows))])), shape=(rows, 60))
    assert np.array_equal(got, matrix @ ext)
    plain = np.zeros((rows, k))
    for g, c in zip(group, cols):
        if g >= 0 and c >= 0:
            plain[g] += ext[c]
    assert np.abs(alone - plain).max() < 1e-9


def test_segment_sums_refuse_a_column_past_the_matrix():
    for implementation in accel.available():
        with accel.use(implementation), pytest.raises(IndexError, match="column is past"):
            accel.segment_sums(np.array([0]), np.array([5]), None, None, np.ones((3, 2)), 1)


@pytest.mark.parametrize("implementation", accel.available())
def test_pair_columns_are_the_known_bigrams_of_table_tokens(implementation):
    from moderation.hashindex import HashIndex

    rng = np.random.default_rng(5)
    n_tok, m = 50, 300
    keys = np.unique(rng.integers(0, n_tok * n_tok, size=400)).astype(np.uint64)
    cols = rng.permutation(len(keys)).astype(np.int64) + 7
    first_ok, second_ok = np.zeros(n_tok, dtype=bool), np.zeros(n_tok, dtype=bool)
    first_ok[(keys // n_tok).astype(np.int64)] = True
    second_ok[(keys % n_tok).astype(np.int64)] = True
    table = rng.integers(-1, n_tok, size=m)
    left = np.arange(m - 1)
    right = left + 1
    with accel.use(implementation):
        got = accel.pair_columns(table, left, right, first_ok, second_ok, HashIndex(keys), cols, n_tok)
    position = {int(k): i for i, k in enumerate(keys)}
    expected = [int(cols[position[table[a] * n_tok + table[b]]]) if table[a] >= 0 and table[b] >= 0
                and table[a] * n_tok + table[b] in position else -1 for a, b in zip(left, right)]
    assert got.tolist() == expected and (got >= 0).sum() > 0 and (got < 0).sum() > 0


@pytest.mark.parametrize("implementation", accel.available())
def test_take_reads_a_number_of_each_row_and_zero_for_no_row(implementation):
    ext = np.arange(20.0).reshape(5, 4)
    with accel.use(implementation):
        got = accel.take(ext, np.array([0, 4, -1, 2]), np.array([3, 0, 2, 1]))
        assert got.tolist() == [3.0, 16.0, 0.0, 9.0]
        with pytest.raises(IndexError, match="out of range"):
            accel.take(ext, np.array([5]), np.array([0]))


@compiled
def test_compiled_text_kgram_digests_cross_blake2b_block_boundaries_as_hashlib_does():
    import hashlib

    c = accel.IMPLEMENTATIONS["compiled"]
    for length in (1, 127, 128, 129, 255, 256, 257, 1000):   # one word of each length, k = 1
        word = ("é" * length)[: length // 2] + "x" * (length - length // 2)
        digests, grams, counts = c.text_kgram_digests([word], 1)
        assert grams == counts == [1] and digests == hashlib.blake2b(word.encode(), digest_size=8).digest()
    assert c.text_kgram_digests(["", "a", "a b"], 2) == (hashlib.blake2b(b"a b", digest_size=8).digest(),
                                                         [0, 0, 1], [0, 1, 2])

_WORDY = st.text(st.sampled_from(list("ab Zé_-1٣\u00a0\u200b.\U0001d400ßİ\n")), max_size=80) | st.text(max_size=40)


@compiled
@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDY, max_size=6), st.integers(1, 6))
def test_compiled_text_kgram_digests_split_words_as_the_python_twin_does(texts, k):
    texts = [t for t in texts if is_valid_unicode(t)]
    assert accel.IMPLEMENTATIONS["compiled"].text_kgram_digests(texts, k) == \
        accel.IMPLEMENTATIONS["python"].text_kgram_digests(texts, k)


def test_text_kgram_digests_are_the_digests_of_the_text_s_alphanumeric_runs():
    import hashlib

    text = "Don't_stop: 3 rue de l'Été, 42!"
    words = ["don", "t", "stop", "3", "rue", "de", "l", "été", "42"]
    expected = b"".join(hashlib.blake2b(" ".join(words[i:i + 5]).encode(), digest_size=8).digest() for i in range(5))
    for name, impl in accel.IMPLEMENTATIONS.items():
        assert impl.text_kgram_digests([text.lower(), "", "one two"], 5) == (expected, [5, 0, 0], [9, 0, 2]), name


@compiled
def test_compiled_text_kgram_digests_are_hashlib_s_across_lanes_and_block_boundaries():
    """Four one-block k-grams are hashed at once; longer ones alone; a text's last one to three
    as they come: every digest must still be hashlib's."""
    import hashlib

    c = accel.IMPLEMENTATIONS["compiled"]
    for n_words in range(1, 12):   # remainders of 0 to 3 lanes
        for width in (1, 24, 25, 26, 40):   # 5-grams of 124, 128 (4 spaces) and 129+ bytes
            words = [chr(ord("a") + i % 26) * width + ("é" if i % 3 == 0 else "") for i in range(n_words)]
            digests, grams, counts = c.text_kgram_digests([" ".join(words), "", "a"], 5)
            expected = b"".join(hashlib.blake2b(" ".join(words[i:i + 5]).encode(), digest_size=8).digest()
                                for i in range(max(n_words - 4, 0)))
            assert digests == expected and grams == [max(n_words - 4, 0), 0, 0] and counts == [n_words, 0, 1]


@compiled
@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.sampled_from(list("ab *#%&^@$!.\u00e9")), max_size=20), max_size=6))
def test_the_compiled_scanner_marks_exactly_the_texts_a_masked_word_could_begin_in(texts):
    from moderation.detectors.foul import MASKED

    with accel.use("compiled"):
        found = scan.scan(texts)
    runs = [re.findall(r"[*#@$%&^!]{3,}", t) for t in texts]
    assert found.may_mask.tolist() == [any(set(run) & set("*#%&^") for run in found_) for found_ in runs]
    # a text it leaves out holds no masked word; the twin marks every text
    assert all(found.may_mask[d] or not MASKED.search(t) for d, t in enumerate(texts))
    with accel.use("python"):
        assert scan.scan(texts).may_mask.all() or not texts
