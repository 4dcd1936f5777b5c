"""The contract every history store keeps, as tests any implementation runs.

A store's test module subclasses ``StoreContract`` and gives the fixture ``make_store``: a function
returning a new store object on one shared history (as two service workers, or two hosts, have).
"""
import threading

import pytest

from moderation.moderator import Comment
from moderation.fingerprints import codes_and_keys, kgram_hashes, words
from moderation.repeats import RepeatChecker

T0 = 1_800_000_000.0
TEXT = ("Residents of Harlow Bay deserve better than this. The new bus schedule cuts the evening routes that "
        "shift workers depend on, and the transit board approved it without a single public meeting.")


def _kept(text):
    """(codes, keys) of a text, as the repeat checker hands them to a store."""
    return codes_and_keys(kgram_hashes(words(text)))


def _add(store, comment_id, text=TEXT, created=T0, thread="t1", author="ann"):
    codes, keys = _kept(text)
    with store.transaction():
        store.add(comment_id, thread, author, created, codes, keys)
    return codes, keys


class StoreContract:
    @pytest.fixture
    def store(self, make_store):
        return make_store()

    def test_a_stored_comment_is_a_candidate_with_its_codes_and_details(self, store):
        codes, keys = _add(store, "c1")
        with store.transaction():
            found = store.candidates(keys, since=T0 - 1)
        assert len(found) == 1
        stored, shared = found[0]
        assert (stored.comment_id, stored.thread, stored.author, stored.created) == ("c1", "t1", "ann", T0)
        assert list(stored.codes) == codes and shared == len(set(keys))

    def test_keys_grow_with_time_and_an_unknown_id_has_none(self, store):
        _add(store, "c1")
        _add(store, "c2", created=T0 + 1)
        assert store.key_of("c2") > store.key_of("c1")
        assert store.key_of("never") is None

    def test_the_same_id_again_replaces_the_comment_in_place(self, store):
        _add(store, "c1")
        key = store.key_of("c1")
        other, other_keys = _add(store, "c1", text="An entirely different comment about the library opening "
                                 "hours downtown.", created=T0 + 50, thread="t2")
        assert store.key_of("c1") == key
        with store.transaction():
            found = store.candidates(other_keys, since=T0 - 1)
            old = store.candidates(_kept(TEXT)[1], since=T0 - 1)
        assert [(s.key, s.thread, s.created, list(s.codes)) for s, _ in found] == [(key, "t2", T0, other)]
        assert old == []

    def test_comments_older_than_since_are_not_candidates_and_prune_forgets_them(self, store):
        _, keys = _add(store, "old", created=T0)
        _add(store, "new", created=T0 + 100)
        with store.transaction():
            assert [s.comment_id for s, _ in store.candidates(keys, since=T0 + 50)] == ["new"]
        assert store.prune(T0 + 50) == 1   # in a transaction of its own
        assert store.key_of("old") is None and store.key_of("new") is not None

    def test_prune_forgets_the_oldest_first_at_most_its_limit(self, store):
        for i in range(5):
            _add(store, f"c{i}", created=T0 + i)
        assert store.prune(T0 + 100, limit=2) == 2
        assert [store.key_of(f"c{i}") is None for i in range(5)] == [True, True, False, False, False]
        assert store.prune(T0 + 100, limit=10) == 3

    def test_a_failed_transaction_keeps_nothing(self, store):
        codes, keys = _kept(TEXT)
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.add("c1", "t1", "ann", T0, codes, keys)
                raise RuntimeError("the check failed half-way")
        assert store.key_of("c1") is None

    def test_another_store_on_the_same_history_sees_what_one_added(self, make_store):
        first, second = make_store(), make_store()
        _, keys = _add(first, "c1")
        with second.transaction():
            assert [s.comment_id for s, _ in second.candidates(keys, since=T0 - 1)] == ["c1"]

    def test_an_erased_author_s_comments_are_found_no_more(self, store):
        _, keys = _add(store, "c1")
        _add(store, "c2", text="Another comment entirely, by someone else, about the ferry timetable change.",
             author="bob")
        assert store.erase_author("ann")["history"] == 1
        with store.transaction():
            assert store.candidates(keys, since=T0 - 1) == []
        assert store.key_of("c1") is None and store.key_of("c2") is not None

    def test_a_fresh_store_answers_ping_and_reopens_after_close(self, store):
        store.ping()
        _add(store, "c1")
        store.close()
        assert store.key_of("c1") is not None

    def test_of_two_identical_comments_at_the_same_moment_the_second_is_flagged(self, make_store):
        barrier = threading.Barrier(2)
        results, errors = {}, []

        def post(name):
            try:
                checker = RepeatChecker(make_store())
                barrier.wait()
                results[name] = checker.check_batch([Comment(TEXT, id=name, thread="t1", author=name)])[0].score
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=post, args=(n,)) for n in ("w1", "w2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and sorted(results.values()) == [0.0, 1.0]

    def test_newest_gives_each_fingerprint_its_newest_comments_first_at_most_the_limit(self, store):
        for i in range(5):
            _add(store, f"c{i}", created=T0 + i)
        keys = _kept(TEXT)[1]
        with store.transaction():
            newest = store.newest(sorted(set(keys)), per_fingerprint=3)
        expected = [store.key_of(f"c{i}") for i in (4, 3, 2)]
        assert sorted(newest) == sorted(set(keys)) and all(found == expected for found in newest.values())
        with store.transaction():
            assert store.newest([12345], per_fingerprint=3) == {}

    def test_a_batch_finds_what_its_comments_checked_one_at_a_time_find(self, make_store):
        """The batch looks the whole batch's fingerprints up at once; each comment must still see
        the comments stored before it, those of its own batch included, and an edit's new text."""
        other = "An entirely different comment about the library opening hours downtown, and the parking too."
        batch = [(f"p{i}", TEXT if i % 3 else f"Word {i}: " + TEXT, f"t{i % 2}", "ann" if i % 2 else "bob")
                 for i in range(40)]   # one phrase posted forty times: more than a fingerprint's 32 newest
        batch[20] = ("p3", other, "t1", "ann")   # an edit of p3 inside the batch
        batch += [("q1", other, "t1", "ann"), ("q2", TEXT, "t9", "cy")]

        store = make_store()

        def results(each):
            checker = RepeatChecker(store, clock=lambda: T0)
            comments = [Comment(text, id=i, thread=t, author=a) for i, text, t, a in batch]
            found = [r for c in comments for r in checker.check_batch([c])] if each else checker.check_batch(comments)
            return [(r.score, [(e.extra["earlier"]["id"], e.extra["earlier"]["covered"]) for e in r.evidence])
                    for r in found]

        one_by_one = results(each=True)
        assert store.prune(T0 + 1) == 41   # the history empty again
        assert results(each=False) == one_by_one
        assert sum(score >= 0.5 for score, _ in one_by_one) >= 35   # it is a test of repeats found

    # --- queue and decisions -------------------------------------------------------------------

    def test_queued_items_come_newest_first_until_decided(self, store):
        from moderation.store import Decision, QueueItem

        items = [QueueItem(f"q{i}", "t", "ann" if i % 2 else "bob", f"text {i}", {"verdict": "review"},
                           ("respect",) if i % 2 else ("links",), T0 + i) for i in range(4)]
        store.queue_add(items)
        assert [i.item_id for i in store.queue_pending(T0)] == ["q3", "q2", "q1", "q0"]
        assert [i.item_id for i in store.queue_pending(T0, rule="links")] == ["q2", "q0"]
        assert [i.item_id for i in store.queue_pending(T0, before=(T0 + 2, "q2"))] == ["q1", "q0"]
        assert store.queue_get("q1").text == "text 1" and store.queue_get("zz") is None
        store.decide(Decision("q3", "reject", ("respect",), ("respect",), "mo", "t", "ann", "text 3", T0 + 10))
        assert [i.item_id for i in store.queue_pending(T0)] == ["q2", "q1", "q0"]
        assert [d.item_id for d in store.decisions()] == ["q3"]
        assert store.erase_author("ann") == {"history": 0, "queue": 2, "decisions": 1}
        assert store.decisions()[0].text is None
        assert store.prune_queue(T0 + 1) == 1   # q0

    def test_the_schema_is_versioned_and_a_newer_one_refused(self, store, make_store):
        from moderation.store import StoreUnavailable

        assert store.upgrade() == 2
        self.make_newer(store)
        with pytest.raises(StoreUnavailable, match="newer than this code"):
            make_store().upgrade()
