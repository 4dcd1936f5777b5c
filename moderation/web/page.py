"""``GET /review``: the moderators' page. The pending queue, each comment's text with each flag's
evidence marked in it (the mark's colour names the rule), the rule's wording, score and action,
and approve / reject buttons (the flagged rules preselected) that post to ``/v1/decisions``.

Server-rendered HTML and a few lines of plain JavaScript: no build step, nothing fetched from
elsewhere. Every text is escaped. With a service token, the page needs it like every API route, and
the page's own requests carry it.
"""
from __future__ import annotations

import html
import json
import time

from flask import Blueprint, Response

from ..detectors import RULE_IDS
from .state import history, state

blueprint = Blueprint("page", __name__)

#: One colour per rule (readable on white, distinct for common colour blindness where possible).
COLOURS = {"respect": "#f4a261", "accusations": "#e9c46a", "foul_language": "#e76f51", "links": "#8ecae6",
           "volume": "#b5a8f0", "promotional": "#90be6d", "repeated": "#cdb4db"}
PAGE_SIZE = 100


def _marked(text: str, flags: list[dict]) -> str:
    """``text`` escaped, with each flag's evidence spans marked (the first flag's where they overlap)."""
    spans = sorted({(e["start"], e["end"], f["rule"]) for f in flags for e in f.get("evidence", ())
                    if 0 <= e.get("start", -1) < e.get("end", -1) <= len(text)})
    out, at = [], 0
    for start, end, rule in spans:
        if start < at:
            continue   # overlaps a span already marked
        out.append(html.escape(text[at:start]))
        out.append(f'<mark class="r-{rule}" title="{html.escape(rule)}">{html.escape(text[start:end])}</mark>')
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def _item(item) -> str:
    verdict = item.verdict
    flags = verdict.get("flags", [])
    rows = "".join(
        f'<li><span class="chip r-{f["rule"]}">{html.escape(f["rule"])}</span> {html.escape(f.get("rule_text", ""))}'
        f' — score {f["score"]:.2f}, {html.escape(f.get("action", "review"))}</li>' for f in flags)
    boxes = "".join(
        f'<label><input type="checkbox" name="rule" value="{rule}"{" checked" if rule in item.rules else ""}> '
        f'{rule}</label> ' for rule in RULE_IDS)
    who = " · ".join(html.escape(x) for x in (item.author or "", item.thread or "") if x)
    return (f'<article class="item" data-id="{html.escape(item.item_id, quote=True)}">'
            f'<header><b>{html.escape(verdict.get("verdict", ""))}</b> · {html.escape(item.item_id)}'
            f'{" · " + who if who else ""}</header>'
            f'<p class="text">{_marked(item.text, flags)}</p><ul>{rows}</ul>'
            f'<form><div class="rules">{boxes}</div>'
            f'<button type="button" class="approve">Approve</button> '
            f'<button type="button" class="reject">Reject</button> <span class="status"></span></form></article>')


_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
.item { border: 1px solid #ccc; border-radius: 6px; padding: .8em 1em; margin: 1em 0; }
.item.done { opacity: .45; }
.text { white-space: pre-wrap; font-size: 16px; }
mark { border-radius: 3px; padding: 0 .1em; }
.chip { border-radius: 3px; padding: 0 .35em; font-size: 13px; }
.rules label { margin-right: .6em; font-size: 13px; }
button { font-size: 14px; padding: .25em .9em; }
.legend span { margin-right: .8em; }
""" + "".join(f".r-{rule} {{ background: {colour}; }}\n" for rule, colour in COLOURS.items())

_SCRIPT = """
document.querySelectorAll('.item').forEach(function (item) {
  function decide(decision) {
    var rules = decision === 'reject'
      ? Array.from(item.querySelectorAll('input[name=rule]:checked')).map(function (b) { return b.value; })
      : [];
    var status = item.querySelector('.status');
    var headers = {'Content-Type': 'application/json'};
    if (TOKEN) { headers['Authorization'] = 'Bearer ' + TOKEN; }
    fetch('/v1/decisions', {method: 'POST', headers: headers,
                            body: JSON.stringify({id: item.dataset.id, decision: decision, rules: rules})})
      .then(function (r) { return r.json().then(function (body) { return [r.status, body]; }); })
      .then(function (answer) {
        if (answer[0] === 201) { item.classList.add('done'); status.textContent = decision + 'ed'; }
        else { status.textContent = answer[1].error.message; }
      })
      .catch(function (e) { status.textContent = 'not sent: ' + e; });
  }
  item.querySelector('.approve').addEventListener('click', function () { decide('approve'); });
  item.querySelector('.reject').addEventListener('click', function () { decide('reject'); });
});
"""


@blueprint.get("/review")
def review_page():
    moderator = state().moderator
    items = history().queue_pending(time.time() - moderator.rulebook.queue_days * 86400, limit=PAGE_SIZE)
    legend = "".join(f'<span class="chip r-{rule}">{rule}</span>' for rule in RULE_IDS)
    body = "".join(_item(i) for i in items) or "<p>Nothing is waiting for a decision.</p>"
    token = json.dumps(state().settings.token or "").replace("<", "\\u003c")   # no "</script>" inside
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Review queue</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
            f'<body><h1>Review queue</h1><p class="legend">{legend}</p>'
            f'<p>{len(items)} comment{"s" if len(items) != 1 else ""} waiting, newest first.</p>{body}'
            f'<script>var TOKEN = {token};{_SCRIPT}</script></body></html>')
    return Response(page, mimetype="text/html")
