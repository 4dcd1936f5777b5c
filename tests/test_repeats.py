import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.moderator import Comment, Moderator
from moderation.fingerprints import K, kgram_hashes, winnow, words
from moderation.repeats import RepeatChecker
from moderation.rulebook import load_rulebook
from moderation.store import SqliteStore

DAY = 86400.0
OLD = ("The council has ignored the potholes on Dunmore Road for three years and nobody at city hall "
       "seems to care at all about the people who live there.")
MEDIUM = "The council has ignored the potholes on Dunmore Road for three years and nobody cares."  # 16 words
LONG_OLD = ("Residents of Harlow Bay deserve better than this. The new bus schedule cuts the evening routes that "
            "shift workers depend on, and the transit board approved it without a single public meeting or any "
            "survey of the riders who will lose their only way home after ten at night.")


class Clock:
    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def detector(tmp_path, clock):
    return RepeatChecker(SqliteStore(tmp_path / "history.sqlite3"), clock=clock)


def check(detector, text, id=None, thread=None, author=None, store=True):
    return detector.check_batch([Comment(text=text, id=id, thread=thread, author=author, store=store)])[0]


FLAGGED = [
    # (earlier comment, new comment, description)
    (dict(text=OLD, id="a1", thread="t1", author="ann"), dict(text=OLD, id="a2", thread="t2", author="ann"),
     "the same text again, same author, other thread"),
    (dict(text=OLD, id="a1", thread="t1", author="ann"),
     dict(text=OLD.upper().replace(",", "").replace(" ", "  \n"), id="a2", thread="t9", author="ann"),
     "changed case, spacing, line breaks and punctuation"),
    (dict(text=OLD, id="a1", thread="t1", author="ann"),
     dict(text=OLD.replace("three", "four").replace("care", "bother"), id="b1", thread="t1", author="bob"),
     "a few words changed, anyone in the same thread"),
    (dict(text=OLD, id="a1", thread="t1", author="ann"),
     dict(text="Posting this again because nothing has changed since yesterday, not one thing, and I mean it.\n\n"
               + OLD, id="a2", thread="t2", author="ann"),
     "pasted whole under a new first paragraph by the same author"),
    (dict(text=OLD, id="a1", thread="t1", author="ann"),
     dict(text=OLD + " Also the snow clearing is late again and the library hours were cut.", id="a2",
          thread="t1", author="carl"), "copied with a new sentence after it, same thread"),
    (dict(text=LONG_OLD, id="a1", thread="t1", author="ann"), dict(text=LONG_OLD, id="z1", thread="t7", author="zed"),
     "a long text by another author in another thread: a copy-paste campaign"),
]


@pytest.mark.parametrize("earlier,new,description", FLAGGED, ids=[f[2] for f in FLAGGED])
def test_repeats_are_flagged(detector, earlier, new, description):
    assert check(detector, **earlier).score == 0.0
    result = check(detector, **new)
    assert result.score >= detector.threshold, description
    first = result.evidence[0]
    assert first.extra["earlier"]["id"] == earlier["id"]
    assert first.extra["earlier"]["thread"] == earlier["thread"] and first.extra["earlier"]["author"] == earlier["author"]
    assert first.extra["earlier"]["when"].startswith("2027-01-15T")
    assert 0 < first.extra["earlier"]["covered"] <= 1
    for span in first.extra["spans"]:
        assert span["end"] > span["start"]
    assert new["text"][first.start:first.end] == first.text


NOT_FLAGGED = [
    (dict(text="Thank you!", id="a1", thread="t1", author="ann"), dict(text="Thank you!", id="b1", thread="t1", author="bob"),
     "a short common reply"),
    (dict(text="Well said, Margaret.", id="a1", thread="t1", author="ann"),
     dict(text="Well said, Margaret.", id="a2", thread="t1", author="ann"), "short, even by the same author"),
    (dict(text=OLD, id="a1", thread="t1", author="ann"),
     dict(text="You wrote that 'nobody at city hall seems to care at all about the people' but the works crew came "
               "out twice last month, fixed the worst holes on Elm and Dunmore, and the budget for next year doubles "
               "the road repair line, so I think that is unfair.", id="b1", thread="t1", author="bob"),
     "quoting one sentence to answer it"),
    (dict(text=OLD, id="a1", thread="t1", author="ann"), dict(text=OLD, id="a1", thread="t1", author="ann"),
     "the same id again: an edit or a retry"),
    (dict(text=MEDIUM, id="a1", thread="t1", author="ann"), dict(text=MEDIUM, id="z1", thread="t5", author="zed"),
     "shorter than a campaign, another author in another thread"),
    (dict(text=OLD, id="a1", thread="t1", author="ann"),
     dict(text="The potholes on Dunmore Road are fixed at last, and city hall deserves credit for listening to the "
               "people who live there for once.", id="b1", thread="t1", author="bob"),
     "the same topic in other words"),
]


@pytest.mark.parametrize("earlier,new,description", NOT_FLAGGED, ids=[f[2] for f in NOT_FLAGGED])
def test_not_repeats(detector, earlier, new, description):
    check(detector, **earlier)
    result = check(detector, **new)
    assert result.score < detector.threshold, description
    assert result.evidence == []


def test_an_edit_is_not_flagged_against_later_reposts_of_itself(detector):
    check(detector, OLD, id="a1", thread="t1", author="ann")
    assert check(detector, OLD, id="a2", thread="t2", author="ann").score == 1.0
    assert check(detector, OLD + " (edited)", id="a1", thread="t1", author="ann").score == 0.0


def test_store_false_checks_without_remembering(detector):
    check(detector, OLD, id="a1", author="ann", store=False)
    assert check(detector, OLD, id="a2", author="ann").score == 0.0
    assert check(detector, OLD, id="a3", author="ann", store=False).score == 1.0


def test_retention_window_and_pruning(detector, clock):
    check(detector, OLD, id="a1", author="ann")
    clock.now += 29 * DAY
    assert check(detector, OLD, id="a2", author="ann", store=False).score == 1.0
    clock.now += 2 * DAY    # a1 is now 31 days old; the pruning runs at most hourly and is due
    assert check(detector, OLD, id="a3", author="ann", store=False).score == 0.0
    assert detector.store.count() == 0


def test_repeats_within_one_batch(detector):
    results = detector.check_batch([Comment(OLD, id="a1", author="ann"), Comment(OLD, id="a2", author="ann")])
    assert [r.score for r in results] == [0.0, 1.0]


def test_winnowing_guarantees_a_shared_fingerprint_for_eight_shared_words():
    shared = "alpha bravo charlie delta echo foxtrot golf hotel".split()
    a = words(" ".join(["one", "two", "three"] + shared + ["four"]))
    b = words(" ".join(["five", "six"] + shared + ["seven", "eight", "nine"]))
    assert set(winnow(kgram_hashes(a))) & set(winnow(kgram_hashes(b)))
    assert len(kgram_hashes(a)) == len(a) - K + 1


# --- the store failing ------------------------------------------------------------------------

@pytest.fixture
def moderator_with(tiny_artifact):
    def make(store):
        book = load_rulebook()
        return Moderator(tiny_artifact, book, history=store)
    return make


def test_corrupt_store_still_gives_a_verdict_and_is_left_alone(tmp_path, moderator_with):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database, but it is somebody's file" * 100)
    before = path.read_bytes()
    verdict = moderator_with(SqliteStore(path)).check(Comment(OLD, id="a1", author="ann"))
    assert verdict.unavailable == ("repeated",) and verdict.scores["repeated"] == 0.0
    assert verdict.to_dict()["unavailable"] == ["repeated"]
    assert path.read_bytes() == before


def test_locked_store_gives_a_verdict_then_recovers_with_nothing_lost(tmp_path, moderator_with):
    path = tmp_path / "history.sqlite3"
    moderator = moderator_with(SqliteStore(path, timeout=0.2))
    assert moderator.check(Comment(OLD, id="a1", author="ann")).unavailable == ()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        verdict = moderator.check(Comment(OLD, id="a2", author="ann"))
        assert verdict.unavailable == ("repeated",) and verdict.verdict in ("publish", "review", "reject")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    again = moderator.check(Comment(OLD, id="a3", author="ann"))
    assert again.unavailable == () and again.scores["repeated"] == 1.0   # a1 is still there


def test_unreachable_store(tmp_path, moderator_with):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    moderator = moderator_with(SqliteStore(blocker / "history.sqlite3"))
    assert moderator.check("hello there").unavailable == ("repeated",)
    with pytest.raises(Exception):
        moderator.ready()


# --- properties -------------------------------------------------------------------------------

WORD = st.from_regex(r"[a-z]{3,9}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(WORD, min_size=10, max_size=40), st.lists(WORD, max_size=40), st.lists(WORD, max_size=40),
       st.booleans())
def test_property_a_comment_pasted_inside_new_text_is_found(comment, before, after, upper):
    detector = RepeatChecker(SqliteStore(":memory:"))
    original = " ".join(comment)
    check(detector, original, id="old", thread="t1", author="ann")
    pasted = " ".join(before) + "\n" + (original.upper() if upper else original) + ". " + " ".join(after)
    result = check(detector, pasted, id="new", thread="t2", author="ann")
    assert result.score >= detector.threshold
    assert result.evidence[0].extra["earlier"]["id"] == "old"


@settings(max_examples=60, deadline=None)
@given(st.lists(WORD, min_size=10, max_size=40), st.lists(WORD, min_size=10, max_size=40))
def test_property_distinct_comments_are_not_repeats(first, second):
    a, b = words(" ".join(first)), words(" ".join(second))
    shared_runs = {tuple(w[0] for w in a[i:i + K]) for i in range(len(a) - K + 1)} & \
                  {tuple(w[0] for w in b[i:i + K]) for i in range(len(b) - K + 1)}
    detector = RepeatChecker(SqliteStore(":memory:"))
    check(detector, " ".join(first), id="a", thread="t", author="ann")
    result = check(detector, " ".join(second), id="b", thread="t", author="ann")
    if not shared_runs:
        assert result.score == 0.0 and result.evidence == []


def _reference(text):
    """The definition, one comment at a time."""
    from moderation.fingerprints import codes_and_keys

    return (len(words(text)), *codes_and_keys(kgram_hashes(words(text))))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b", " ", "c", "é", ".", "É", "!", "\n", "dé", "ÀB", "x_y", "1"]),
                         max_size=60).map("".join), max_size=8))
def test_a_batch_is_printed_as_each_comment_is_on_its_own(texts):
    from moderation.fingerprints import print_batch

    assert [(p.n_words, p.codes, p.keys) for p in print_batch(texts)] == [_reference(t) for t in texts]


def test_a_batch_of_short_long_and_empty_comments_is_printed_as_each_alone():
    from moderation.fingerprints import print_batch

    texts = ["", "one", "one two three four five", "one two three four five six", "a b c d e f g h",
             "Ünïcode wörds, with accents: café CAFÉ", "x " * 3000, "The same five words here. " * 40]
    assert [(p.n_words, p.codes, p.keys) for p in print_batch(texts)] == [_reference(t) for t in texts]


def test_a_long_comment_with_thousands_of_fingerprints_is_found_again(tmp_path):
    # One lookup statement holds at most 100 fingerprints; this comment has about 1,300.
    long_text = " ".join(f"word{i} other{i % 7} thing{i % 11}" for i in range(1300))
    detector = RepeatChecker(SqliteStore(tmp_path / "h.sqlite3"))
    detector.check_batch([Comment(long_text, id="a", thread="t", author="ann")])
    assert detector.check_batch([Comment(long_text, id="b", thread="t", author="ann")])[0].score == 1.0


def test_warm_up_builds_the_lazy_tables_and_remembers_nothing(tmp_path, moderator_with, tiny_model_path):
    import json
    import subprocess
    import sys

    from moderation.moderator import WARM_UP

    # In a process of its own: the tables are process-wide, and other tests have built them.
    probe = (
        "import json, sys\n"
        "from moderation import normaliser\n"
        "from moderation.artifact import load\n"
        "from moderation.features import vocabulary\n"
        "from moderation.moderator import Moderator\n"
        "from moderation.rulebook import load_rulebook\n"
        "m = Moderator(load(sys.argv[1]), load_rulebook())\n"
        "before = [normaliser._confusables.cache_info().currsize, len(m.lexicon._spelled),\n"
        "          vocabulary._both_lexicons.cache_info().currsize]\n"
        "m.warm_up()\n"
        "print(json.dumps([before, [normaliser._confusables.cache_info().currsize, len(m.lexicon._spelled),\n"
        "                  vocabulary._both_lexicons.cache_info().currsize]]))\n")
    out = subprocess.run([sys.executable, "-c", probe, str(tiny_model_path)], capture_output=True, text=True, check=True)
    before, after = json.loads(out.stdout)
    # Confusable letters read, a spaced-out word spelled, an unseen word classified.
    assert before == [0, 0, 0] and after[0] == 1 and after[1] >= 1 and after[2] >= 1
    store = SqliteStore(tmp_path / "history.sqlite3")
    moderator = moderator_with(store)
    cold = [moderator_with(None).check(Comment(t, store=False)).to_dict() for t in WARM_UP]
    moderator.warm_up()
    # Nothing stored or queued: the same texts are no repeats, the review queue is empty, and the
    # verdicts are those of a moderator that was not warmed up.
    assert store.queue_pending(0) == []
    after = [moderator.check(Comment(t, store=False)).to_dict() for t in WARM_UP]
    assert all(v["scores"]["repeated"] == 0 for v in after)
    assert [{**v, "unavailable": []} for v in after] == [{**v, "unavailable": []} for v in cold]
