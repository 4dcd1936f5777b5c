"""``GET /v1/model`` (the model card) and ``GET /v1/rules`` (the rulebook)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from .state import state

CARD_KEYS = ("version", "created", "origin", "rules", "thresholds", "metrics", "data", "versions")

blueprint = Blueprint("model", __name__)


@blueprint.get("/v1/model")
def model_card():
    card = state().moderator.artifact.card
    return jsonify({k: card[k] for k in CARD_KEYS if k in card})


@blueprint.get("/v1/rules")
def rules():
    return jsonify(state().moderator.rulebook.to_dict())
