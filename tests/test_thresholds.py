import numpy as np
import pytest

from moderation.errors import ConfigError
from moderation.thresholds import Goal, choose_rule_thresholds, choose_threshold, operating_points, parse_goal


@pytest.mark.parametrize("text,goal", [
    ("maximum recall @ precision >= 0.9", Goal("recall", (("precision", ">=", 0.9),))),
    ("Maximum Precision @ recall >= 0.75", Goal("precision", (("recall", ">=", 0.75),))),
    ("maximum recall @ fpr <= 0.05", Goal("recall", (("fpr", "<=", 0.05),))),
    ("maximum recall @ precision >= 0.9 AND fpr <= 0.01",
     Goal("recall", (("precision", ">=", 0.9), ("fpr", "<=", 0.01)))),
    ("maximum f1", Goal("f1")),
])
def test_parse_goal(text, goal):
    assert parse_goal(text) == goal


@pytest.mark.parametrize("text", ["best recall", "maximum accuracy", "maximum recall @ precision >= 1.5",
                                  "maximum recall @ auc >= 0.5", "", "maximum recall @ precision >= 0.9 or fpr <= 0.1",
                                  "maximum recall @ precision >= 0.9 and"])
def test_bad_goals_say_how_to_write_one(text):
    with pytest.raises(ConfigError):
        parse_goal(text)


SCORES = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
LABELS = np.array([1, 1, 1, 0, 1, 0, 1, 0, 0, 0])


def test_maximum_recall_at_precision():
    # At 0.8: 3/3 precision; at 0.6: 4/5 = 0.8; at 0.4: 5/7. Precision >= 0.8 -> lowest is 0.6.
    choice = choose_threshold(SCORES, LABELS, parse_goal("maximum recall @ precision >= 0.8"))
    assert choice.threshold == 0.6 and choice.recall == pytest.approx(0.8) and choice.precision == pytest.approx(0.8)
    strict = choose_threshold(SCORES, LABELS, parse_goal("maximum recall @ precision >= 0.95"))
    assert strict.threshold == 0.8 and strict.recall == pytest.approx(0.6)


def test_every_constraint_must_hold():
    # fpr at 0.8 is 0/5, at 0.6 is 1/5: adding fpr <= 0.1 moves the choice up from 0.6 to 0.8.
    assert choose_threshold(SCORES, LABELS, parse_goal("maximum recall @ precision >= 0.8")).threshold == 0.6
    both = choose_threshold(SCORES, LABELS, parse_goal("maximum recall @ precision >= 0.8 and fpr <= 0.1"))
    assert both.threshold == 0.8 and both.fpr == 0.0
    assert str(parse_goal("maximum recall @ precision >= 0.8 and fpr <= 0.1")) == \
        "maximum recall @ precision >= 0.8 and fpr <= 0.1"


def test_unreachable_goal_gives_none_and_zero_never_flags():
    assert choose_threshold([0.2, 0.1], [0, 0], parse_goal("maximum recall @ precision >= 0.5")) is None
    assert all(p.threshold > 0 for p in operating_points([0.0, 0.0, 0.3], [1, 0, 1]))


def test_rule_thresholds_fall_back_and_say_so():
    noisy = choose_rule_thresholds([0.9, 0.8, 0.7, 0.6], [0, 1, 0, 1], "maximum recall @ precision >= 0.99",
                                   "maximum recall @ precision >= 0.995", "maximum f1")
    assert noisy["review_goal_met"] is False and noisy["review_goal"] == "maximum f1"
    assert noisy["review"] is not None and noisy["reject"] is None
    clean = choose_rule_thresholds(SCORES, LABELS, "maximum recall @ precision >= 0.8",
                                   "maximum recall @ precision >= 0.95", "maximum f1")
    assert clean["review"] == 0.6 and clean["reject"] == 0.8 and clean["review_goal_met"]


def test_the_best_f1_of_all_thresholds_is_reported_with_its_threshold():
    from training.metrics import best_f1, rule_metrics

    scores, y = [0.9, 0.8, 0.3, 0.2], [1, 0, 1, 0]
    assert best_f1(scores, y) == {"best_f1": 0.8, "best_f1_threshold": 0.3}
    metrics = rule_metrics(scores, y, threshold=0.85)
    assert metrics["f1"] == 0.6667 and metrics["best_f1"] == 0.8   # the threshold, not the ranking, is off
