import json

import joblib
import numpy as np
import pytest
from hypothesis import strategies as st

from moderation import artifact as artifact_module, evidence
from moderation.features.dense import LINKS
from moderation.artifact import load, metadata_path, read_card, save
from moderation.errors import DataError, ModelError
from moderation.rulebook import LEARNED_RULES
from training.train import train
from tests.conftest import TINY, TINY_CONFIG


def test_trained_model_card_records_what_it_was_built_from(tiny_artifact):
    card = tiny_artifact.card
    assert card["rules"] == list(LEARNED_RULES)
    assert card["config"]["seed"] == 7
    assert card["data"]["sources"][0]["name"] == "tiny.jsonl" and len(card["data"]["sources"][0]["sha256"]) == 64
    assert set(card["versions"]) == {"python", "scikit-learn", "numpy", "scipy", "joblib"}
    for rule in LEARNED_RULES:
        chosen = card["thresholds"][rule]
        assert 0 < chosen["review"] <= 1
        assert chosen["review_goal"] in ("maximum recall @ precision >= 0.9 and fpr <= 0.01", "maximum f1")
    assert card["thresholds"]["volume"]["review"] is not None   # chosen from the volume labels


def test_scores_are_calibrated_probabilities_and_rank_the_rule(tiny_artifact):
    model = tiny_artifact.model
    scores = model.predict_proba(["You are a complete idiot and a moron", "Thanks for the clear reporting"])
    assert scores.shape == (2, len(LEARNED_RULES))
    assert ((scores >= 0) & (scores <= 1)).all()
    respect = list(model.rules_).index("respect")
    assert scores[0, respect] > scores[1, respect]


def test_training_is_reproducible_with_the_seed(tiny_artifact, tmp_path):
    again = train([TINY], with_starter=False, config=TINY_CONFIG)
    texts = ["Councillor Reed pocketed the money", "Buy cheap meds at pills dot com", "Nice weather"]
    np.testing.assert_allclose(again.model.predict_proba(texts), tiny_artifact.model.predict_proba(texts), atol=1e-12)


def test_save_load_round_trip(tiny_artifact, tmp_path):
    path = save(tiny_artifact, tmp_path / "sub" / "m.joblib")
    loaded = load(path)
    assert loaded.version == tiny_artifact.version
    texts = ["What a load of sh1t", "The report is at https://example.org/r.pdf"]
    np.testing.assert_array_equal(loaded.model.predict_proba(texts), tiny_artifact.model.predict_proba(texts))
    assert json.loads(metadata_path(path).read_text())["sha256"] == artifact_module.sha256_file(path)


def test_tampered_model_is_refused_before_unpickling(model_copy, monkeypatch):
    with open(model_copy, "ab") as handle:
        handle.write(b"\x00")
    monkeypatch.setattr(joblib, "load", lambda *a, **k: pytest.fail("unpickled a tampered file"))
    with pytest.raises(ModelError, match="does not match the SHA-256 in its metadata.*retrain"):
        load(model_copy)


def test_model_without_metadata_is_refused(model_copy):
    metadata_path(model_copy).unlink()
    with pytest.raises(ModelError, match="no metadata file .* not written by this project"):
        load(model_copy)


@pytest.mark.parametrize("library", ["scikit-learn", "numpy", "joblib", "python"])
def test_other_library_versions_are_refused(model_copy, library):
    meta = metadata_path(model_copy)
    card = json.loads(meta.read_text())
    card["versions"][library] = "0.0.1"
    meta.write_text(json.dumps(card))
    with pytest.raises(ModelError, match=f"built with {library} 0.0.1 but .* is installed; retrain it with"):
        load(model_copy)


def test_a_crash_while_writing_leaves_the_old_model_in_place(tiny_artifact, model_copy, monkeypatch):
    before = model_copy.read_bytes(), metadata_path(model_copy).read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", crash)
    with pytest.raises(OSError):
        save(tiny_artifact, model_copy)
    assert (model_copy.read_bytes(), metadata_path(model_copy).read_bytes()) == before
    assert [p.name for p in model_copy.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert read_card(model_copy)["version"] == tiny_artifact.version


def test_rule_without_positives_is_refused(tmp_path):
    data = tmp_path / "d.jsonl"
    words = "apple birch cedar delta ember fjord grove harbor island jetty kettle lumen meadow north orchard pine quarry river stone tide".split()
    rows = [{"text": f"a comment about the {words[i]}", "respect": i % 2, "accusations": 0, "foul_language": i % 2,
             "promotional": i % 2} for i in range(20)]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(DataError, match="rule 'accusations' has no positive rows"):
        train([data], with_starter=False, config=TINY_CONFIG)


def test_explain_points_at_the_words_of_the_comment(tiny_artifact):
    text = "Honestly, councillor Reed pocketed the grant money."
    spans = tiny_artifact.model.explain(text, "accusations")
    assert spans, "a positive score needs evidence"
    for start, end, weight in spans:
        assert weight > 0 and text[start:end].strip() == text[start:end]
    shown = {text[s:e].lower() for s, e, _ in spans}
    assert shown & {"pocketed", "grant", "money"}
    assert not shown & {"the"}


TRICKY = ["", "You are a complete idiot", "Buy at bit.ly/x and shop.example.com/a!!!",
          "Sh1t, the mayor took bribes. Again.\n\nWhat a f*cking mess", "ÄÖÜ café naïve — ok", "a " * 300,
          "Nice work. You are an idiot though.", "Buy meds at pills dot com now. Really cheap!",
          "One. Two three four. And five six seven!\n\nsh1t a$$ end.", "STOP THE CUTS!!! Sooooo bad",
          "Thanks for the update", "zzqx unseenword qwertyuiop. Another sentence here too.",
          # dense signals: lexicon tiers, masked words, accusation cues, questions, ignored links
          "The mayor lied about the budget. Did the council steal it? You lied too, f**k this.",
          "According to the audit the minister took bribes, I suspect. Damn. What the hell, dick?",
          "See statcan.gc.ca/table and en.wikipedia.org/wiki/X for context; also www.example-news.com/a. Thx",
          "Cheap pills at pills-now.biz/buy and bit.ly/zz. Trump is a puppet! Is Guterres bought?"]

#: Pieces that exercise every dense signal, shuffled by hypothesis.
SIGNAL_PIECES = st.lists(st.sampled_from(
    ["the", "mayor", "lied", "stole", "you", "according", "to", "I", "think", "?", "!", ".", " ", "\n",
     "fuck", "f**k", "f***ing", "shiiit", "hell", "damn", "dick", "cock", "class", "a$$", "statcan.gc.ca/x",
     "wikipedia.org/wiki/y", "example-news.com/z", "shop.example.com/a", "bit.ly/q", "www", "dot", "com"]),
    max_size=25).map(" ".join)


def test_batch_rows_equal_the_plain_rows_to_1e9(tiny_artifact):
    from hypothesis import given, settings, strategies as st

    features = tiny_artifact.model.features_
    fast, plain = features.transform(TRICKY), features.transform_reference(TRICKY)
    assert fast.shape == plain.shape == (len(TRICKY), features.n_features_)
    assert abs(fast - plain).max() <= 1e-9
    assert plain.nnz > 0

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.one_of(st.text(max_size=200), SIGNAL_PIECES), min_size=1, max_size=5))
    def same(batch):
        assert abs(features.transform(batch) - features.transform_reference(batch)).max() <= 1e-9
    same()


def test_sentence_rows_equal_the_plain_sentence_rows_to_1e9(tiny_artifact):
    from hypothesis import given, settings

    features = tiny_artifact.model.features_

    def check(batch):
        _, fast_parts, fast_owner = features.rows(features.analyse(batch))
        _, plain_parts, plain_owner = features.rows_reference(batch)
        assert fast_owner.tolist() == plain_owner.tolist()
        assert fast_parts.shape == plain_parts.shape
        if fast_parts.shape[0]:
            assert abs(fast_parts - plain_parts).max() <= 1e-9

    check(TRICKY)

    @settings(max_examples=100, deadline=None)
    @given(st.lists(SIGNAL_PIECES, min_size=1, max_size=4))
    def same(batch):
        check(batch)
    same()


def test_scores_from_the_fast_path_equal_the_plain_path_to_1e9(tiny_artifact):
    from hypothesis import given, settings, strategies as st

    model = tiny_artifact.model
    saved = model.pooled_.copy()
    model.pooled_[:] = True   # every rule pools sentences here, so the sentence path is exercised
    try:
        fast = model.predict_proba(TRICKY)
        np.testing.assert_allclose(fast, model.score_reference(TRICKY), rtol=0, atol=1e-9)
        assert fast.std(axis=0).min() > 0

        @settings(max_examples=100, deadline=None)
        @given(st.lists(st.one_of(st.text(alphabet=st.sampled_from(list("abc idot sh1t$@*. !?\nXYZé")), max_size=120),
                                  SIGNAL_PIECES), min_size=1, max_size=4))
        def same(texts):
            np.testing.assert_allclose(model.predict_proba(texts), model.score_reference(texts), rtol=0, atol=1e-9)
        same()
    finally:
        model.pooled_[:] = saved


def test_sentence_rows_are_the_sentences_of_several_sentence_comments(tiny_artifact):
    features = tiny_artifact.model.features_
    texts = ["One sentence only here", "First one is here. Second one is here!\nThird line here", "Hi. Too short"]
    a = features.analyse(texts)
    spans = [texts[d][s:e] for d, (s, e) in zip(a.part_doc.tolist(), a.part_span.tolist())]
    assert spans == ["First one is here", "Second one is here", "Third line here"]


def test_vocabularies_survive_the_compact_pickle(tiny_artifact, tmp_path):
    import pickle

    features = tiny_artifact.model.features_
    copy = pickle.loads(pickle.dumps(features))
    assert copy.char_vocabulary_ == features.char_vocabulary_
    assert copy.terms_ == features.terms_
    assert isinstance(features.terms_, list)   # pickling did not pack the live object
    texts = ["You are a complete idiot", "see a.com/x"]
    assert abs(copy.transform(texts) - features.transform(texts)).max() == 0


def test_token_weights_add_up_to_the_decision_value(tiny_artifact):
    model = tiny_artifact.model
    _, scored = model.score(TRICKY)
    a = scored.analysis
    for i in range(len(TRICKY)):
        span = a.tokens_of(i)
        tokens = np.arange(span.start, span.stop)
        weights = np.array([evidence.token_weights(scored, tokens, np.full(len(tokens), j)).sum()
                            for j in range(len(model.rules_))])
        links = scored.signal_rows[i, LINKS] @ model.compiled_.links
        np.testing.assert_allclose(weights + links, scored.z[i], rtol=0, atol=1e-9)


def test_batch_evidence_equals_the_word_by_word_evidence(tiny_artifact, implementation):
    model = tiny_artifact.model
    texts = TRICKY + ["Honestly, councillor Reed pocketed the grant money.", "the the the idiot the",
                      "Reed stole it. Reed stole it again!", "cheap pills at www.pills.example.com/buy now buy now",
                      "see http://a.example.org/x?y=1 and bit.ly/abc, idiot"]
    _, scored = model.score(texts)
    flags = [(i, rule) for i in range(len(texts)) for rule in model.rules_]
    batch = model.evidence_batch(scored, flags, k=3)
    assert sum(map(len, batch)) > 10
    for (i, rule), found in zip(flags, batch):
        plain = evidence.choose_one(scored, i, model.rules_.index(rule), 3)
        assert [(s, e) for s, e, _ in found] == [(s, e) for s, e, _ in plain], (texts[i], rule)
        np.testing.assert_allclose([w for *_, w in found], [w for *_, w in plain], rtol=1e-12)


def test_the_compiled_top_tokens_equal_the_python_twin_on_every_flag(tiny_artifact):
    from moderation import accel

    if "compiled" not in accel.available():
        pytest.skip("moderation._scan is not built")
    model = tiny_artifact.model
    texts = TRICKY + ["Honestly, councillor Reed pocketed the grant money.", "the the the idiot the", "",
                      "Reed stole it. Reed stole it again! " * 30, "idiot " * 3 + "moron"]
    _, scored = model.score(texts)
    a, c = scored.analysis, scored.compiled
    first = a.first_tokens()
    unit_token, unit_share = evidence._units(scored)
    docs = np.repeat(np.arange(len(texts)), len(model.rules_))
    rules = np.tile(np.arange(len(model.rules_)), len(texts))
    # In comment order (each search starts where the last began) and shuffled (each starts afresh).
    shuffled = np.random.default_rng(3).permutation(len(docs))
    found = {}
    for name in ("compiled", "python"):
        for order in ("sorted", "shuffled"):
            flags = slice(None) if order == "sorted" else shuffled
            for k in (1, 3, 50):
                with accel.use(name):
                    found[name, order, k] = accel.top_tokens(
                        first[docs[flags]], first[docs[flags] + 1], rules[flags], k, a.unigram, a.pair_left,
                        a.pair_right, a.pair_col, a.table, a.ext, a.keep, a.scan.doc, a.scan.hash,
                        evidence._STOP_INDEX, c.word_ext, c.token_ext, scored.oov_token, scored.word_norm,
                        scored.char_norm, unit_token, unit_share)
    for order in ("sorted", "shuffled"):
        for k in (1, 3, 50):
            (o1, t1, w1), (o2, t2, w2) = found["compiled", order, k], found["python", order, k]
            assert len(o1) > len(texts) and o1.tolist() == o2.tolist() and t1.tolist() == t2.tolist()
            np.testing.assert_allclose(w1, w2, rtol=0, atol=1e-9)
            assert np.bincount(o1).max() <= k
    # The same tokens for each flag whatever the order the flags came in.
    o, t, _ = found["compiled", "shuffled", 3]
    o_sorted, t_sorted, _ = found["compiled", "sorted", 3]
    assert sorted(zip(shuffled[o].tolist(), t.tolist())) == sorted(zip(o_sorted.tolist(), t_sorted.tolist()))


def test_top_tokens_refuses_a_flag_past_the_last_token(tiny_artifact, implementation):
    from moderation import accel

    model = tiny_artifact.model
    _, scored = model.score(["the mayor lied"])
    a, c = scored.analysis, scored.compiled
    with pytest.raises(IndexError, match="out of range"):
        accel.top_tokens(np.array([0]), np.array([len(a.unigram) + 1]), np.array([0]), 3, a.unigram, a.pair_left,
                         a.pair_right, a.pair_col, a.table, a.ext, a.keep, a.scan.doc, a.scan.hash,
                         evidence._STOP_INDEX, c.word_ext, c.token_ext, scored.oov_token, scored.word_norm,
                         scored.char_norm, *evidence._units(scored))


def test_scores_are_rounded_as_python_rounds_them():
    from moderation.moderator import _rounded

    rng = np.random.default_rng(1)
    values = np.concatenate([rng.random(20000), np.arange(0, 1, 1e-5) + 5e-5, [0.12345, 0.99995, 1.0, 0.0]])
    values = values.reshape(-1, 1)
    assert _rounded(values).ravel().tolist() == [round(v, 4) for v in values.ravel().tolist()]


def test_loaded_lookup_tables_are_read_only_copies_that_score_the_same(tiny_model_path, tmp_path):
    import pickle

    from moderation import memory

    texts = ["The mayor took bribes and lied about it.", "Lovely park, thanks for the story", "f*ck this idiot"]
    loaded = load(tiny_model_path)
    model = loaded.model
    plain = pickle.loads(pickle.dumps(model))   # unpickled, not relocated
    before = [getattr(h, n).copy() for h, n in plain.lookup_tables()]
    moved = [getattr(h, n) for h, n in model.lookup_tables()]
    if memory.supported():
        assert all(not a.flags.writeable for a in moved)
        # the copies are exact: every table, and every score
        assert all(np.array_equal(a, b) for a, b in zip(moved, before))
    assert np.array_equal(model.score(texts)[0], plain.score(texts)[0])
    # a relocated model pickles like any other
    assert np.array_equal(pickle.loads(pickle.dumps(model)).score(texts)[0], model.score(texts)[0])


def test_relocating_nothing_moves_nothing():
    from moderation import memory

    class Holder:
        values = [1, 2]

    assert memory.relocate([]) == 0 and memory.relocate([(Holder(), "values")]) == 0


def test_freed_memory_is_kept_where_malloc_is_glibc_s():
    import platform
    import sys

    from moderation import memory

    kept = memory.keep_freed_memory()
    assert memory.keep_freed_memory() is kept   # once per process
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert kept


def test_log_ratio_scale_lifts_the_columns_one_class_uses_and_leaves_the_signals():
    import scipy.sparse as sp
    from moderation.model import log_ratio_scale

    # columns: only in positives, only in negatives, in both alike; then one dense signal
    X = sp.csr_matrix(np.array([[1.0, 0, 1, 5], [1, 0, 1, 5], [0, 1, 1, 5], [0, 1, 1, 5]]))
    y = np.array([1, 1, 0, 0])
    scale = log_ratio_scale(X, y, n_text=3, alpha=0.1, power=1.0)
    assert scale[0] == pytest.approx(scale[1]) and scale[0] > 2.5
    assert scale[2] == pytest.approx(0.0, abs=1e-12) and scale[3] == 1.0
    assert log_ratio_scale(X, y, n_text=3, alpha=0.5, power=0.5)[0] == pytest.approx(
        log_ratio_scale(X, y, n_text=3, alpha=0.5, power=1.0)[0] ** 0.5)
    assert log_ratio_scale(X, y, n_text=3, alpha=0.0, power=1.0) is None


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_coefficients_fitted_on_scaled_columns_score_the_unscaled_rows_alike_to_1e9(tiny_artifact, alpha):
    import scipy.sparse as sp
    from sklearn.base import clone
    from moderation.model import log_ratio_scale

    model = clone(tiny_artifact.model).set_params(nb_alpha=alpha)
    model.features_ = tiny_artifact.model.features_
    texts = [row["text"] for row in map(json.loads, TINY.read_text().splitlines())]
    X = model.features_.transform(texts)
    y = np.arange(len(texts)) % 3 == 0
    coef, intercept = model._fit_rule(X, y.astype(int))
    scale = log_ratio_scale(X, y.astype(int), model.features_.n_word_ + model.features_.n_char_, alpha, model.nb_power)
    plain = model._classifier().fit(X if scale is None else X @ sp.diags(scale), y.astype(int))
    unscaled = np.asarray(X @ coef).ravel() + intercept
    assert np.allclose(unscaled, plain.decision_function(X if scale is None else X @ sp.diags(scale)), atol=1e-9)
    if scale is not None:   # the scale changed what was learned, not only how it is stored
        assert not np.allclose(unscaled, model._classifier().fit(X, y.astype(int)).decision_function(X), atol=1e-3)
