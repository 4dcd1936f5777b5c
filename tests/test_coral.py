"""Coral Talk's external moderation phase: requests built and signed exactly as Coral builds them
(``JSON.stringify(request, null, 2)``, an HMAC-SHA256 per active secret over the raw bytes), and
each answer checked against the shapes Coral's Joi schema accepts."""
import hashlib
import hmac
import json

import pytest

from moderation.moderator import Moderator
from moderation.rulebook import load_rulebook
from moderation.store import SqliteStore
from moderation.web.coral import html_to_text
from service import create_app

SECRETS = ("signing_old_0123456789abcdef", "signing_new_fedcba9876543210")
#: Coral's external.ts: ExternalModerationResponseSchema, the values it allows.
STATUSES = {"NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"}
REASONS = {"COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"}
CODES = {"OFFENSIVE", "ABUSIVE", "SPAM", "BANNED_WORD", "AD", "ILLEGAL_CONTENT", "HARASSMENT_BULLYING",
         "MISINFORMATION", "HATE_SPEECH", "IRRELEVANT_CONTENT", "OTHER"}


def coral_request(body, action="NEW", author="u-1", story="s-1"):
    return {"action": action, "comment": {"body": body, "parentID": None},
            "author": {"id": author, "role": "COMMENTER"},
            "story": {"id": story, "url": "https://news.example.com/story"}, "site": {"id": "site-1"},
            "tenantID": "tenant-1", "tenantDomain": "comments.example.com"}


def signed(payload, secrets=SECRETS):
    raw = json.dumps(payload, indent=2, ensure_ascii=False).encode()   # JSON.stringify(data, null, 2)
    header = ",".join("sha256=" + hmac.new(s.encode(), raw, hashlib.sha256).hexdigest() for s in secrets)
    return raw, {"X-Coral-Signature": header}


@pytest.fixture
def store(tmp_path):
    return SqliteStore(tmp_path / "h.sqlite3")


@pytest.fixture
def client(tiny_artifact, store):
    moderator = Moderator(tiny_artifact, load_rulebook(), history=store)
    return create_app({"coral_secrets": SECRETS, "token": "api-token"}, moderator=moderator).test_client()


def send(client, payload, secrets=SECRETS, headers=None):
    raw, signature = signed(payload, secrets)
    return client.post("/v1/coral", data=raw, content_type="application/json",
                       headers=signature if headers is None else headers)


def assert_coral_accepts(answer):
    assert set(answer) <= {"status", "actions", "moderationAction", "tags"}
    assert answer["status"] in STATUSES
    assert answer["actions"] and all(a == {"actionType": "FLAG", "reason": a["reason"]} and a["reason"] in REASONS
                                     for a in answer["actions"])
    if "moderationAction" in answer:
        action = answer["moderationAction"]
        assert action["status"] in STATUSES and action["rejectionReason"]["code"] in CODES


def test_a_clean_comment_is_204_and_coral_goes_on(client):
    response = send(client, coral_request("Thanks for the clear reporting on the school board meeting."))
    assert response.status_code == 204 and response.data == b""


def test_a_comment_for_review_is_withheld_with_flags(client, store):
    response = send(client, coral_request("Only a moron would vote for that clown again."))
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "SYSTEM_WITHHELD" and {"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"} in \
        answer["actions"]
    assert_coral_accepts(answer)
    [queued] = store.queue_pending(0)
    assert queued.author == "u-1" and queued.thread == "s-1"


def test_a_rejected_comment_says_the_code_and_why(client):
    response = send(client, coral_request("This council is full of shit and the fucking mayor knows it."))
    answer = response.get_json()
    assert answer["status"] == "REJECTED" and answer["moderationAction"]["status"] == "REJECTED"
    reason = answer["moderationAction"]["rejectionReason"]
    assert reason["code"] == "OFFENSIVE" and "don't include foul language" in reason["detailedExplanation"]
    assert '"shit"' in reason["detailedExplanation"] or '"fucking"' in reason["detailedExplanation"]
    assert_coral_accepts(answer)


def test_html_bodies_are_read_as_text_with_their_links(client):
    body = ('<p>Great deals at <a href="https://pills-shop.com/deal">this shop</a> &amp; '
            '<a href="https://cheap-meds.net/x">https://cheap-meds.net/x</a></p><blockquote>quoted</blockquote>')
    assert html_to_text(body) == ("Great deals at this shop (https://pills-shop.com/deal) & https://cheap-meds.net/x\n"
                                  "quoted")
    answer = send(client, coral_request(body)).get_json()
    assert {"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"} in answer["actions"]


def test_a_new_comment_is_remembered_and_an_edit_is_not(client, store):
    text = "The transit board approved the cuts without a single public meeting or any survey of riders."
    assert send(client, coral_request(text, action="EDIT")).status_code in (200, 204)
    assert store.count() == 0
    send(client, coral_request(text))
    assert store.count() == 1
    again = send(client, coral_request(text, author="u-2"))
    assert again.status_code == 200 and {"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"} in \
        again.get_json()["actions"]   # a repeat


@pytest.mark.parametrize("headers", [
    {},                                                   # no signature
    {"X-Coral-Signature": "sha256=" + "0" * 64},          # a wrong one
    {"X-Coral-Signature": "md5=abc"},                     # not Coral's form
])
def test_an_unsigned_or_badly_signed_request_is_refused_before_scoring(client, headers):
    response = send(client, coral_request("Only a moron would vote for that clown again."), headers=headers)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "bad_signature"


def test_during_rotation_either_secret_signs(client):
    for secret in SECRETS:
        assert send(client, coral_request("Fine words."), secrets=(secret,)).status_code == 204
    assert send(client, coral_request("Fine words."), secrets=("another",)).status_code == 401


@pytest.mark.parametrize("change,words", [
    (lambda r: r.pop("comment"), "field 'comment' is required"),
    (lambda r: r.update(action="DELETE"), "field 'action'"),
    (lambda r: r["author"].pop("id"), "field 'author.id' is required"),
    (lambda r: r["comment"].update(body=5), "field 'comment.body'"),
])
def test_a_malformed_request_is_a_4xx_naming_the_field(client, change, words):
    payload = coral_request("hello")
    change(payload)
    response = send(client, payload)
    assert 400 <= response.status_code < 500 and words in response.get_json()["error"]["message"]
