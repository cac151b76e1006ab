"""A fraud-scoring endpoint on Flask, logged with inferlog.

Run it with ``python examples/flask_fraud.py`` (needs ``flask``), then::

    curl -s localhost:5000/v1/score -H 'content-type: application/json' \\
         -d '{"transaction_id": "t-1", "amount": 912.0, "country": "FR",
              "card_age_days": 3, "merchant_category": "electronics"}'

``WSGIMiddleware`` gives every request an id (echoed in ``X-Request-ID``) and an access
record; each model call writes one inference record with the feature-vector length.
An unknown merchant category makes the model fail: the 500's access record and the
inference record both carry the stack trace.
"""

from __future__ import annotations

import argparse
import logging
import math
from typing import Any

from flask import Flask, got_request_exception, jsonify, request
from flask.typing import ResponseReturnValue

import inferlog
from inferlog.middleware import WSGIMiddleware, report_exception

MODEL_ID = "fraud-gbm"
MODEL_VERSION = "3.2.0"
REVIEW_THRESHOLD = 0.5
DECLINE_THRESHOLD = 0.9

log = logging.getLogger("fraud-api")

_CATEGORY_RISK = {"grocery": -1.0, "travel": 0.3, "electronics": 0.8, "gift_cards": 1.6}
_HOME_COUNTRIES = frozenset({"FR", "DE", "ES", "IT"})


class FeatureError(ValueError):
    """A feature the model needs is missing or unknown."""


def features(txn: dict[str, Any]) -> list[float]:
    """Turn a transaction into the model's feature vector."""
    category = txn.get("merchant_category")
    if category not in _CATEGORY_RISK:
        raise FeatureError(f"unknown merchant_category {category!r}")
    return [
        math.log1p(float(txn["amount"])),
        1.0 / (1.0 + float(txn.get("card_age_days", 365))),
        0.0 if txn.get("country") in _HOME_COUNTRIES else 1.0,
        _CATEGORY_RISK[category],
    ]


def predict(vector: list[float]) -> float:
    """A logistic model standing in for the real gradient-boosted one."""
    weights, bias = [0.9, 6.0, 1.5, 1.2], -7.0
    z = bias + sum(w * x for w, x in zip(weights, vector, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def create_app() -> Flask:
    """Build the Flask app with the inferlog middleware."""
    app = Flask("fraud-api")

    @app.post("/v1/score")
    def score() -> ResponseReturnValue:
        txn = request.get_json(silent=True)
        if not isinstance(txn, dict) or "amount" not in txn:
            return jsonify(error="a JSON transaction with an amount is required"), 400
        inferlog.bind(transaction_id=txn.get("transaction_id"))
        with inferlog.inference(MODEL_ID, MODEL_VERSION) as call:
            vector = features(txn)
            call.request(vector)
            probability = predict(vector)
            call.response({"score": round(probability, 4)})
            call.vectors(output=1)
        if probability >= DECLINE_THRESHOLD:
            decision = "decline"
        elif probability >= REVIEW_THRESHOLD:
            decision = "review"
        else:
            decision = "approve"
        log.info("decision", extra={"decision": decision})
        return jsonify(score=round(probability, 4), decision=decision)

    # Flask answers an unhandled exception with a 500 itself; this hands the
    # exception to the middleware so the access record carries the stack.
    got_request_exception.connect(_report, app)
    app.wsgi_app = WSGIMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _report(sender: Flask, exception: BaseException, **extra: Any) -> None:
    report_exception(exception)


def setup_logging(log_file: str, *, console: bool = True) -> None:
    """Log JSON lines to ``log_file`` (and stderr)."""
    inferlog.configure(filename=log_file, console=console, static_fields={"service": "fraud-api"})


def main() -> None:
    """Serve on 127.0.0.1 with Flask's development server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--log-file", default="logs/flask_fraud.jsonl")
    args = parser.parse_args()
    setup_logging(args.log_file)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # inferlog writes the access log
    create_app().run(host="127.0.0.1", port=args.port)
    inferlog.shutdown()


if __name__ == "__main__":
    main()
