"""A fraud-scoring service logging every call with inferlog, then a format change.

Scores ``--calls`` synthetic transactions with :func:`models.production` inside
:func:`inferlog.inference`, writing JSON lines under ``--out``. Two thirds of the way
through, a client release starts sending ``amount`` as text (``"912.00"``): production
copes, so nothing looks wrong, which is what ``inferlog replay`` against the shadow
model then finds. Run it from the repository root::

    python examples/fraud_detection/serve.py --out logs/fraud
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from models import production, synthetic_transaction  # noqa: E402

import inferlog  # noqa: E402

log = logging.getLogger("fraud-api")


def serve(calls: int, out: Path, seed: int = 11) -> Path:
    """Score ``calls`` transactions and return the log file."""
    log_file = out / "fraud.jsonl"
    inferlog.configure(filename=str(log_file), console=False)
    rng = random.Random(seed)
    change_at = calls * 2 // 3
    try:
        for index in range(calls):
            features = synthetic_transaction(rng)
            if index >= change_at:
                features["amount"] = f"{features['amount']:.2f}"  # the new client's format
            with inferlog.request_context(user_id=f"u-{rng.randint(1, 40)}"):
                with inferlog.inference(model_id="fraud-logreg", model_version="3.1.0") as call:
                    call.request(features)
                    answer = production(features)
                    call.response(answer)
                log.info("scored", extra={"decision": answer["decision"]})
    finally:
        inferlog.shutdown()
    return log_file


def main() -> int:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("logs/fraud"))
    args = parser.parse_args()
    print(f"wrote {serve(args.calls, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
