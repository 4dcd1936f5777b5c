import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.moderator import Comment, Moderator
from moderation.rulebook import RULE_IDS, load_rulebook, parse_rulebook
from moderation.verdict import PUBLISH, REJECT, REVIEW

# Every verdict test runs on both scanner implementations (moderation.accel).
pytestmark = pytest.mark.usefixtures("implementation")


def rulebook_with(**changes):
    book = load_rulebook()
    data = book.to_dict()
    for rule in data["rules"]:
        for key in ("detector",):
            rule.pop(key)
        rule.update(changes.get(rule["id"], {}))
    return parse_rulebook({"rule": data["rules"]})


def test_verdict_json_has_the_contract_shape(moderator):
    verdict = moderator.check("Visit bit.ly/x2 and spam-shop.com/deal for deals!", id="c-17")
    data = json.loads(verdict.to_json())
    assert list(data) == ["id", "verdict", "flags", "scores", "model"]
    assert data["id"] == "c-17" and data["verdict"] in (PUBLISH, REVIEW, REJECT)
    assert list(data["scores"]) == list(RULE_IDS)
    assert data["model"] == {"version": moderator.version}
    links = next(f for f in data["flags"] if f["rule"] == "links")
    assert links == {"rule": "links", "rule_text": "limit links", "score": 1.0, "threshold": 1.0, "action": "review",
                     "evidence": [{"text": "bit.ly/x2", "start": 6, "end": 15},
                                  {"text": "spam-shop.com/deal", "start": 20, "end": 38}]}


def test_each_flag_says_what_it_did_and_when_its_rule_rejects(moderator):
    verdict = moderator.check("This council is full of shit and the fucking mayor knows it.")
    foul = next(f for f in verdict.flags if f.rule == "foul_language")
    assert foul.action == "reject" and verdict.verdict == REJECT and foul.matched == "lexicon"
    assert foul.reject_threshold == moderator.thresholds["foul_language"].reject
    links = next(f for f in moderator.check("see a.com/x and b.com/y").flags if f.rule == "links")
    assert links.action == "review" and links.matched is None
    assert links.reject_threshold == moderator.thresholds["links"].reject


def test_flags_are_the_rules_at_or_over_threshold_highest_first(moderator):
    verdict = moderator.check("THIS IS A DISGRACE AND AN OUTRAGE!!! see a.com/x b.com/y")
    flagged = {f.rule for f in verdict.flags}
    for rule in RULE_IDS:
        threshold = moderator.thresholds[rule].review
        assert (rule in flagged) == (threshold is not None and verdict.scores[rule] >= threshold)
    scores = [f.score for f in verdict.flags]
    assert scores == sorted(scores, reverse=True)
    assert {"links", "volume"} <= flagged
    assert verdict.verdict in (REVIEW, REJECT)
    assert verdict.scores["repeated"] == 0.0


def test_clean_comment_is_published(moderator):
    verdict = moderator.check("Thanks for the clear reporting on the school board meeting.")
    assert verdict.verdict == PUBLISH and verdict.flags == ()


def test_banned_word_rejects_and_suspect_word_reviews(tiny_artifact):
    book = rulebook_with(foul_language={"banned_words": ["frack"], "suspect_words": ["gosh darn"]},
                         respect={"action": "review"})
    moderator = Moderator(tiny_artifact, book)
    banned = moderator.check("What the FRÄCK is this council doing")
    assert banned.verdict == REJECT and banned.scores["foul_language"] == 1.0
    flag = next(f for f in banned.flags if f.rule == "foul_language")
    assert flag.evidence[0].text == "FRÄCK" and flag.evidence[0].start == 9
    assert flag.action == "reject" and flag.matched == "banned_words"
    suspect = moderator.check("gosh   darn the snow clearing was quick")
    assert suspect.verdict in (REVIEW, REJECT)
    flag = next(f for f in suspect.flags if f.rule == "foul_language")
    assert flag.evidence[0].text == "gosh   darn"
    assert flag.action == "review" and flag.matched == "suspect_words"


def test_rulebook_overrides_threshold_and_action(tiny_artifact):
    text = "see a.com/x and b.com/y"
    quiet = {r: {"action": "review"} for r in RULE_IDS}   # only links may reject below

    def links_flag(**changes):
        verdict = Moderator(tiny_artifact, rulebook_with(**{**quiet, **changes})).check(text)
        return verdict, next((f for f in verdict.flags if f.rule == "links"), None)

    verdict, flag = links_flag()
    assert flag is not None and verdict.verdict == REVIEW
    verdict, flag = links_flag(links={"action": "reject"})
    assert flag is not None and verdict.verdict == REJECT
    verdict, flag = links_flag(links={"limit": 2})
    assert flag is None and verdict.scores["links"] == pytest.approx(0.6667)
    strict = Moderator(tiny_artifact, rulebook_with(respect={"threshold": 0.0001}))
    assert strict.thresholds["respect"].review == 0.0001
    assert "respect" in {f.rule for f in strict.check("You are a complete idiot").flags}


def test_allow_listed_links_are_not_counted(tiny_artifact):
    moderator = Moderator(tiny_artifact, rulebook_with(links={"allow_domains": ["our-paper.com"]}))
    verdict = moderator.check("see our-paper.com/a and www.our-paper.com/b and other.com/c")
    assert verdict.scores["links"] == 0.5 and "links" not in {f.rule for f in verdict.flags}


def test_batch_gives_the_same_verdicts_as_one_at_a_time(moderator):
    texts = ["You are a complete idiot and everyone knows it.",
             "The mayor took bribes. Also, what a load of sh1t. Buy meds at pills4u dot com",
             "Thanks for the update.", "THIS IS AWFUL!!!", "", "see a.com/x and b.com/y",
             "Councillor Reed pocketed the grant money.\n\nOtherwise a fine piece."]
    batch = moderator.check_batch([Comment(text=t, id=str(i)) for i, t in enumerate(texts)])
    single = [moderator.check(t, id=str(i)) for i, t in enumerate(texts)]
    assert [v.to_dict() for v in batch] == [v.to_dict() for v in single]
    assert moderator.check_batch([]) == []


def test_evidence_spans_are_slices_of_the_comment(moderator):
    text = "Honestly, councillor Reed pocketed the grant money. You're an idiot, f*ck off. Join bit.ly/x now"
    verdict = moderator.check(text)
    assert verdict.flags
    for flag in verdict.flags:
        for item in flag.evidence:
            assert text[item.start:item.end] == item.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_any_string_gets_a_valid_verdict(moderator, text):
    verdict = moderator.check(text)
    data = json.loads(verdict.to_json())
    assert data["verdict"] in (PUBLISH, REVIEW, REJECT)
    assert set(data["scores"]) == set(RULE_IDS)
    assert all(0.0 <= s <= 1.0 for s in data["scores"].values())
    assert (data["verdict"] == PUBLISH) == (data["flags"] == [])
    for flag in data["flags"]:
        for item in flag["evidence"]:
            assert text[item["start"]:item["end"]] == item["text"]


def test_a_batch_leaves_the_garbage_collector_as_it_found_it(moderator):
    import gc

    assert gc.isenabled()
    moderator.check_batch(["one", "two"])
    assert gc.isenabled()
    gc.disable()
    try:
        moderator.check_batch(["one"])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_batch_moves_its_survivors_to_the_oldest_generation_and_keeps_others_frozen(moderator):
    import gc

    gc.collect()
    verdicts = moderator.check_batch([f"comment number {i}, the mayor lied" for i in range(50)])
    # Handed back in the oldest generation, not walked by a young collection: the young one is empty.
    assert gc.get_count()[0] < 50 and gc.is_tracked(verdicts[0])
    assert gc.get_freeze_count() == 0
    # Objects someone else froze (a server before forking) stay frozen through a batch.
    kept = [[] for _ in range(10)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        moderator.check_batch(["one", "two"])
        # (a frozen object freed by reference counting leaves the count: it may only go down)
        assert 0 < gc.get_freeze_count() <= frozen and gc.isenabled()
    finally:
        gc.unfreeze()
    del kept


def test_a_reference_cycle_made_in_a_batch_is_still_collected():
    import gc
    import weakref

    from moderation.moderator import _gc_paused

    class Node:
        pass

    with _gc_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
    assert alive() is not None   # reference counting alone cannot free a cycle
    gc.collect()
    assert alive() is None


def test_the_python_twin_gives_the_same_verdicts_as_the_compiled_scanner(moderator, implementation):
    from moderation import accel

    texts = ["You are a complete idiot!!! STOP LYING", "Buy now at shop.example.com/deal and bit.ly/x",
             "Thanks for the update, naïve café owner.", "The mayor pocketed the grant money. Sh1t.", "",
             "See www.example-news.com/a and example dot com, THIS IS A DISGRACE. Reed stole it. Reed stole it!"]
    here = [v.to_dict() for v in moderator.check_batch(texts)]
    with accel.use("python"):
        plain = [v.to_dict() for v in type(moderator)(moderator.artifact, moderator.rulebook).check_batch(texts)]
    assert plain == here
    assert any(v["flags"] for v in plain)


def test_verdict_bytes_are_its_dict_in_field_order_for_one_and_for_a_batch(moderator):
    from moderation.verdict import batch_bytes

    verdicts = moderator.check_batch(["You moron, buy at a.com/x now!!!", "Thanks for the clear report."])
    one = verdicts[0].to_bytes()
    assert json.loads(one) == verdicts[0].to_dict()
    assert list(json.loads(one)) == ["id", "verdict", "flags", "scores", "model"]
    assert list(json.loads(one)["flags"][0])[:5] == ["rule", "rule_text", "score", "threshold", "action"]
    assert json.loads(batch_bytes(verdicts)) == {"results": [v.to_dict() for v in verdicts]}
    assert json.loads(verdicts[1].to_bytes()) == verdicts[1].to_dict() and verdicts[1].flags == ()
    # to_dict's scores are the caller's own: changing them changes no verdict
    given = verdicts[1].to_dict()
    given["scores"]["respect"] = 7.0
    assert verdicts[1].scores["respect"] != 7.0 and list(given) == ["id", "verdict", "flags", "scores", "model"]


def test_the_score_dicts_are_the_rules_zipped_with_each_row():
    from moderation.detectors import RULE_IDS
    from moderation.moderator import _dicts_of, _score_dicts

    rows = [[i / 10 + j for j in range(len(RULE_IDS))] for i in range(3)]
    assert _score_dicts(rows) == [dict(zip(RULE_IDS, row)) for row in rows]
    assert list(_score_dicts(rows)[0]) == list(RULE_IDS)
    assert _dicts_of(("a", "b"))([(1, 2)]) == [{"a": 1, "b": 2}] and _dicts_of(("a",))([(1,)]) == [{"a": 1}]
