"""``inferlog demo``: a small simulated inference service logging through the full pipeline.

The service is simulated (no model weights, no network) but the logging is real: every
call goes through :func:`inferlog.inference` inside a request scope, across a thread
pool, into the pipeline that :func:`inferlog.configure` installs. Afterwards the demo
reads back what was written and prints a summary, so what it reports is what is on disk.

Every record of one run carries a ``demo_run`` id, so that a second run into the same
directory reports (and ``inferlog stats --filter demo_run=...`` selects) only its own.
The service's chatter (``request received``) goes through sampling at
:data:`CHATTER_SAMPLE_RATE`; inference records and errors are always kept.
"""

from __future__ import annotations

import logging
import random
import statistics
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from inferlog import schema
from inferlog.config import configure, shutdown
from inferlog.context import request_context
from inferlog.handlers.file import log_files
from inferlog.inference import inference
from inferlog.propagation import ContextThreadPoolExecutor
from inferlog.reader import read_records

logger = logging.getLogger("inferlog.demo.service")

#: Field that tells one demo run's records from another's.
RUN_FIELD: Final = "demo_run"
#: Share of the service's own chatter kept by sampling (each kept record says so).
CHATTER_SAMPLE_RATE: Final = 0.5


@dataclass(frozen=True)
class _Model:
    model_id: str
    versions: tuple[str, ...]
    kind: str  # "llm", "tabular" or "vision"
    failure_rate: float


_MODELS = (
    _Model("chat-llm", ("2026-09-01", "2026-11-15"), "llm", 0.06),
    _Model("fraud-gbm", ("3.1.0", "3.2.0"), "tabular", 0.03),
    _Model("vision-resnet50", ("1.4.2",), "vision", 0.08),
)
_USERS = ("u-1001", "u-1002", "u-1003", "u-1004", "u-1005")
_PROMPTS = (
    "Summarise the attached support ticket in two sentences.",
    "Translate 'where is the station' into German.",
    "Write a haiku about gradient descent.",
    "My card 4111 1111 1111 1111 was charged twice, contact me at jane.doe@example.com",
    "Explain the difference between precision and recall.",
)


class ModelTimeoutError(TimeoutError):
    """The simulated backend did not answer in time."""


class ModelOverloadedError(RuntimeError):
    """The simulated backend refused the call (GPU out of memory)."""


def _simulate(model: _Model, version: str, rng: random.Random) -> tuple[Any, Any, int, int]:
    """Return (request, response, input tokens, output tokens) or raise a backend error."""
    if model.kind == "llm":
        prompt = rng.choice(_PROMPTS)
        in_tokens = len(prompt.split()) * 4 // 3 + rng.randint(20, 60)
        out_tokens = rng.randint(8, 400)
        request: Any = {"messages": [{"role": "user", "content": prompt}]}
        response: Any = {"text": f"(simulated answer of {out_tokens} tokens)"}
    elif model.kind == "tabular":
        features = {
            "amount": round(rng.uniform(1, 5000), 2),
            "country": rng.choice(["DE", "FR", "US"]),
        }
        in_tokens, out_tokens = 0, 0
        request = {"features": features}
        response = {"fraud_probability": round(rng.random(), 4)}
    else:
        in_tokens, out_tokens = 0, 0
        request = {"image": {"width": 224, "height": 224, "channels": 3}}
        response = {"label": rng.choice(["cat", "dog", "truck"]), "score": round(rng.random(), 3)}
    # Latency grows with output tokens for LLMs, which is what `inferlog stats` will tie.
    base_ms = {"llm": 40.0, "tabular": 2.0, "vision": 12.0}[model.kind]
    time.sleep((base_ms + out_tokens * 0.05) / 1000.0)
    roll = rng.random()
    if roll < model.failure_rate / 2:
        raise ModelTimeoutError(f"{model.model_id}@{version} did not answer within 30s")
    if roll < model.failure_rate:
        raise ModelOverloadedError("CUDA out of memory while allocating the KV cache")
    return request, response, in_tokens, out_tokens


def _serve_one(index: int, seed: int) -> None:
    rng = random.Random(seed * 100_003 + index)
    model = rng.choice(_MODELS)
    version = rng.choice(model.versions)
    user = rng.choice(_USERS)
    params: dict[str, Any] = {}
    if model.kind == "llm":
        params = {"temperature": rng.choice([0.0, 0.2, 0.7]), "top_p": 0.9, "seed": index}
    with request_context(user_id=user, endpoint=f"/v1/{model.kind}"):
        logger.debug("request received", extra={"queue_depth": rng.randint(0, 5)})
        try:
            with inference(model_id=model.model_id, model_version=version, **params) as call:
                request, response, in_tokens, out_tokens = _simulate(model, version, rng)
                call.request(request)
                call.response(response)
                if in_tokens or out_tokens:
                    call.tokens(input=in_tokens, output=out_tokens)
        except (ModelTimeoutError, ModelOverloadedError):
            # The inference record (with its stack trace) is already written; a real
            # service would answer 503 here.
            logger.warning("answered 503 to the client")


@dataclass
class DemoSummary:
    """What the demo found in the files it wrote."""

    log_file: Path
    files: list[Path]
    run_id: str
    records: int
    inference_records: int
    errors: int
    by_model: dict[str, Counter[str]]
    latency_p50_ms: float
    latency_p95_ms: float


def _summarise(log_file: Path, run_id: str | None = None) -> DemoSummary:
    files = [Path(name) for name in log_files(log_file)]
    by_model: dict[str, Counter[str]] = defaultdict(Counter)
    latencies: list[float] = []
    records = inference_records = errors = 0
    for record in read_records(files):
        if run_id is not None and record.get(RUN_FIELD) != run_id:
            continue
        records += 1
        if schema.MODEL_ID not in record or schema.LATENCY_MS not in record:
            continue
        inference_records += 1
        key = f"{record['model_id']}@{record.get('model_version')}"
        by_model[key][str(record.get(schema.STATUS))] += 1
        latencies.append(float(record[schema.LATENCY_MS]))
        errors += record.get(schema.STATUS) == schema.STATUS_ERROR
    q = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else [0.0] * 19
    return DemoSummary(
        log_file=log_file,
        files=files,
        run_id=run_id or "",
        records=records,
        inference_records=inference_records,
        errors=errors,
        by_model=dict(by_model),
        latency_p50_ms=q[9],
        latency_p95_ms=q[18],
    )


def run_demo(
    requests: int = 200,
    *,
    log_dir: str | Path = "logs",
    seed: int = 7,
    workers: int = 4,
    on_call: Callable[[], None] | None = None,
) -> DemoSummary:
    """Serve ``requests`` simulated calls through the full pipeline and summarise the files.

    ``on_call`` is called after each call (a progress bar). Returns the summary of
    this run's records only; printing is left to the caller.
    """
    log_dir = Path(log_dir)
    log_file = log_dir / "inferlog.jsonl"
    run_id = uuid.uuid4().hex[:12]
    configure(
        filename=str(log_file),
        console=False,
        level="DEBUG",
        static_fields={"service": "inferlog-demo", "env": "demo", RUN_FIELD: run_id},
        sampling={"rate": 1.0, "logger_rates": {logger.name: CHATTER_SAMPLE_RATE}},
    )

    def serve(index: int) -> None:
        _serve_one(index, seed)
        if on_call is not None:
            on_call()

    try:
        with ContextThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(serve, range(requests)))
    finally:
        shutdown(timeout=10.0)
    return _summarise(log_file, run_id)


def format_summary(summary: DemoSummary) -> str:
    """Render a :class:`DemoSummary` as the short report ``inferlog demo`` prints."""
    lines = [
        f"wrote {summary.records} JSON records "
        f"({summary.inference_records} inference calls, {summary.errors} failed) to:",
        *(f"  {path.resolve()}" for path in summary.files),
        f"latency p50 {summary.latency_p50_ms:.1f} ms, p95 {summary.latency_p95_ms:.1f} ms",
        "calls by model version:",
    ]
    for key in sorted(summary.by_model):
        counts = summary.by_model[key]
        total = sum(counts.values())
        lines.append(
            f"  {key:<28} {total:>5} calls  {counts.get('error', 0):>3} errors "
            f"({100.0 * counts.get('error', 0) / total:.1f}%)"
        )
    lines.append(f"look at one: head -n 1 {summary.log_file}")
    if summary.run_id:
        lines.append(
            f"this run's records carry {RUN_FIELD}={summary.run_id}: "
            f"inferlog stats {summary.log_file.parent} --filter {RUN_FIELD}={summary.run_id}"
        )
    return "\n".join(lines)
