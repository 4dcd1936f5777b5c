import pytest

from moderation.errors import RulebookError
from moderation.rulebook import RULE_IDS, load_rulebook, parse_rulebook


def _rules(**changes):
    rules = [{"id": r, "text": f"rule {r}", "action": "review"} for r in RULE_IDS]
    for rule in rules:
        rule.update(changes.get(rule["id"], {}))
    return {"rule": rules}


def test_packaged_rulebook_has_every_rule_with_its_published_wording():
    book = load_rulebook()
    assert list(book.to_dict()["rules"][i]["id"] for i in range(len(RULE_IDS))) == list(RULE_IDS)
    assert book["respect"].text == "be respectful of all"
    assert book["links"].settings.limit == 1
    assert book["respect"].threshold is None  # chosen from data, not written here


@pytest.mark.parametrize("changes,message", [
    ({"respect": {"action": "delete"}}, "action must be one of review, reject, got 'delete'"),
    ({"links": {"limit": -1}}, "limit must be a whole number from 0 to 199, got -1"),
    ({"links": {"limit": 500}}, "limit must be a whole number from 0 to 199, got 500"),
    ({"links": {"detector": "learned"}}, "detector is fixed to 'measured'"),
    ({"volume": {"threshold": 1.5}}, "threshold must be \"model\" or a number from 0 to 1, got 1.5"),
    ({"respect": {"banned_words": ["x"]}}, "unknown setting 'banned_words'"),
    ({"foul_language": {"banned_words": "damn"}}, "banned_words must be a list of non-empty strings"),
    ({"respect": {"text": ""}}, "text must be the rule's published wording"),
])
def test_invalid_rulebooks_name_the_setting(changes, message):
    with pytest.raises(RulebookError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rulebook(_rules(**changes))


def test_a_rule_left_out_gets_its_defaults():
    data = _rules()
    data["rule"] = [r for r in data["rule"] if r["id"] not in ("repeated", "links")]
    book = parse_rulebook(data)
    assert book["repeated"].text == "don't post the same content again" and book["repeated"].action == "review"
    assert book["repeated"].settings.min_words == 8 and book["links"].settings.limit == 1
    assert book["respect"].text == "rule respect"
    assert [r["id"] for r in parse_rulebook({}).to_dict()["rules"]] == list(RULE_IDS)


def test_a_rulebook_without_repeated_still_flags_repeats_at_the_default_threshold(tiny_artifact):
    from moderation.moderator import Moderator
    from moderation.repeats import DEFAULT_THRESHOLD

    moderator = Moderator(tiny_artifact, parse_rulebook({}))
    assert moderator.thresholds["repeated"].review == DEFAULT_THRESHOLD


def test_unknown_rule_ids_are_refused():
    data = _rules()
    data["rule"][0]["id"] = "politeness"
    with pytest.raises(RulebookError, match="id must be one of"):
        parse_rulebook(data)


def test_unreadable_and_invalid_toml_files(tmp_path):
    with pytest.raises(RulebookError, match="cannot read rulebook"):
        load_rulebook(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]\nid=")
    with pytest.raises(RulebookError, match="not valid TOML"):
        load_rulebook(bad)


def test_rulebook_from_environment(tmp_path, monkeypatch):
    book = tmp_path / "rules.toml"
    book.write_text("\n".join(f'[[rule]]\nid = "{r}"\ntext = "our {r}"\n' for r in RULE_IDS))
    monkeypatch.setenv("MODERATION_RULES", str(book))
    assert load_rulebook()["respect"].text == "our respect"
