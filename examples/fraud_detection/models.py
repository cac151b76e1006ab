"""Two fraud models on the same features: production and a shadow candidate.

Both are scikit-learn models (``pip install 'inferlog[examples]'``) trained here, at
import, on the same seeded synthetic transactions, so every process that imports this
file gets the very same models: the service that logs, and ``inferlog replay``.

Each takes the request the service logs (a dict of transaction features) and answers
``{"fraud_probability": p, "decision": "approve" | "decline"}``.

- :func:`production` (logistic regression, ``fraud-logreg`` 3.1.0) is lenient: an
  ``amount`` sent as text (``"912.00"``) is converted.
- :func:`shadow` (gradient boosting, ``fraud-gbm`` 3.2.0) is strict: an amount must
  be a number, as the feature contract says.
"""

from __future__ import annotations

import random
from typing import Any, Final

from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

CATEGORIES: Final = ("grocery", "travel", "electronics", "gift_cards")
COUNTRIES: Final = ("DE", "FR", "US")
#: A transaction is declined at or above this fraud probability.
DECLINE_AT: Final = 0.5


def synthetic_transaction(rng: random.Random) -> dict[str, Any]:
    """One transaction's features, as a client sends them."""
    return {
        "amount": round(rng.lognormvariate(4.0, 1.2), 2),
        "country": rng.choice(COUNTRIES),
        "card_age_days": rng.randint(0, 2000),
        "merchant_category": rng.choice(CATEGORIES),
    }


def _vector(features: dict[str, Any], amount: float) -> list[float]:
    return [
        amount / 1000.0,
        float(features["card_age_days"]) / 1000.0,
        *(1.0 if features["country"] == c else 0.0 for c in COUNTRIES),
        *(1.0 if features["merchant_category"] == c else 0.0 for c in CATEGORIES),
    ]


def _is_fraud(features: dict[str, Any], rng: random.Random) -> int:
    risk = 0.4 * (features["amount"] > 300) + 0.3 * (features["card_age_days"] < 60)
    risk += 0.3 * (features["merchant_category"] == "gift_cards")
    return int(rng.random() < risk)


def _train() -> tuple[LogisticRegression, GradientBoostingClassifier]:
    rng = random.Random(2027)
    rows = [synthetic_transaction(rng) for _ in range(1500)]
    x = [_vector(row, row["amount"]) for row in rows]
    y = [_is_fraud(row, rng) for row in rows]
    logreg = LogisticRegression(max_iter=500).fit(x, y)
    gbm = GradientBoostingClassifier(n_estimators=40, max_depth=2, random_state=0).fit(x, y)
    return logreg, gbm


_LOGREG, _GBM = _train()


def _answer(probability: float) -> dict[str, Any]:
    return {
        "fraud_probability": round(probability, 6),
        "decision": "decline" if probability >= DECLINE_AT else "approve",
    }


def production(features: dict[str, Any]) -> dict[str, Any]:
    """The model in production; converts an amount sent as text."""
    amount = float(features["amount"])
    return _answer(float(_LOGREG.predict_proba([_vector(features, amount)])[0][1]))


def shadow(features: dict[str, Any]) -> dict[str, Any]:
    """The candidate; refuses an amount that is not a number."""
    amount = features["amount"]
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise TypeError(f"amount must be a number, got {type(amount).__name__}")
    return _answer(float(_GBM.predict_proba([_vector(features, float(amount))])[0][1]))
