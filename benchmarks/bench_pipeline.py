"""End to end: what one inference record costs, every stage on, beside the peers.

Each setup runs in a fresh process (so no setup warms another's caches or leaves a
thread behind) with the same inference record (11 extra fields, a 2 KB prompt holding
one e-mail address and one card number, a 1 KB response; fixed seed), after a
warm-up. Setups run interleaved ``--rounds`` times; the tables show the median, the
min-max and a ratio: of the medians for setups measured in separate processes, the
median of each round's ratio for pairs measured in the same process.

Total CPU per record, **until every record is on disk** (``--records`` records):

* **floor**: ``logger.info(extra=...)`` to a ``NullHandler``: what ``logging`` itself
  costs, which no library can avoid;
* **A**: stdlib ``FileHandler`` + python-json-logger's ``JsonFormatter`` (no queue);
* **C**: structlog with orjson and a ``BytesLogger`` (no stdlib logging);
* **inferlog full**: the README's ``dictConfig`` (context, sampling that keeps the
  record, redaction with the default detectors, JSON, queue, rotating file);
* **inferlog no redaction**: the same without the redaction filter.

The other targets of the performance issue, each pair in one process:

* **caller**: the calling thread's cost through the full pipeline's queue (large
  enough never to block) against ``logger.info`` to a ``NullHandler``: p50 and p99 of
  per-call ``perf_counter_ns``, in bursts taking turns, the listener thread running
  (the method of ``bench_queue.py``, whose helpers it uses);
* **sampling**: a success record dropped by ``SamplingFilter(rate=0.0)`` on the full
  pipeline's queue against ``logger.debug`` on a logger at INFO (filtered by level):
  best mean ns per call;
* **redaction-32k**: ``Redactor().redact`` on a 32 KB prompt without PII against each
  built-in detector's own regex run over it in turn (``bench_redaction.py``'s naive
  redactor, which gives the same output): best mean µs per call;
* **throughput**: records per second one listener thread ships to a file, wall time
  from the first record logged (one thread, as fast as it can) until the queue is
  drained: inferlog full against the stdlib ``QueueHandler``/``QueueListener`` with
  python-json-logger's ``JsonFormatter`` to a ``FileHandler``.

Run: ``.venv/bin/python benchmarks/bench_pipeline.py`` (``--json out.json`` writes
the figures; ``--setups`` runs some of them; ``--records``, ``--rounds`` and
``--warm-up`` size the run: ``benchmarks/run_all.py`` runs it smaller).
``tests/test_output_identity.py`` runs :func:`inferlog_config`, the configuration
measured here.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import logging
import logging.config
import logging.handlers
import os
import platform
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

#: Total CPU per record until drained, one setup per process, ratio to A.
CPU_SETUPS = ("floor", "A", "C", "inferlog-full", "inferlog-no-redaction")
#: Pairs measured in one process each.
PAIR_SETUPS = ("caller", "sampling", "redaction-32k")
#: Records per second through one listener thread, one setup per process.
THROUGHPUT_SETUPS = ("throughput-stdlib", "throughput-inferlog")
SETUPS = CPU_SETUPS + PAIR_SETUPS + THROUGHPUT_SETUPS
LABELS = {
    "floor": "`logger.info(extra=...)` to a NullHandler (floor)",
    "A": "A: stdlib FileHandler + python-json-logger JsonFormatter",
    "C": "C: structlog, orjson, BytesLogger (no stdlib)",
    "inferlog-full": "inferlog, full pipeline from dictConfig",
    "inferlog-no-redaction": "inferlog, the same without redaction",
    "throughput-stdlib": "stdlib QueueHandler + QueueListener, python-json-logger, FileHandler",
    "throughput-inferlog": "inferlog, full pipeline from dictConfig (every stage on)",
}
WARM_UP = 2_000
#: Records per burst in the caller setup; untimed drain between bursts.
BURST = 500
#: Timing repeats inside one process (sampling, redaction); the best is kept.
REPEATS = 5
#: The issue's targets, each a ratio measured in the same run.
TARGET_FULL_TO_A = 1.0
TARGET_CALLER_P50 = 1.5
TARGET_CALLER_P99 = 1.2
TARGET_SAMPLING = 3.0
TARGET_REDACTION_SPEEDUP = 10.0


def _record_fields(seed: int) -> tuple[str, dict[str, Any]]:
    rng = random.Random(seed)
    words = ["model", "token", "latency", "user", "context", "answer", "prompt", "vector"]
    prompt = " ".join(rng.choice(words) for _ in range(300))[:1900]
    prompt += " contact ada.lovelace@example.com card 4111 1111 1111 1111"
    response = " ".join(rng.choice(words) for _ in range(150))[:1024]
    extra = {
        "request_id": "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b",
        "user_id": "u-42",
        "model_id": "chat-llm",
        "model_version": "2026-11-15",
        "latency_ms": 412.5,
        "input_token_count": 512,
        "output_token_count": 128,
        "temperature": 0.7,
        "top_p": 0.95,
        "seed": 1234567890123,
        "status": "ok",
        "request_payload": {"prompt": prompt},
        "response_payload": {"text": response},
    }
    # 11 extra fields besides the two payloads, as the record.
    return "inference", extra


def inferlog_config(
    path: Path,
    queue_size: int,
    *,
    redact: bool = True,
    logger: str = "bench",
    sampling_rate: float = 1.0,
) -> dict[str, Any]:
    """The README's ``dictConfig`` that the inferlog setups measure, writing to ``path``.

    Context and sampling (keeping every record by default) on the queue (the caller's thread),
    redaction (when ``redact``) on the rotating file handler behind it (the listener).
    ``tests/test_output_identity.py`` runs this same configuration.
    """
    filters: dict[str, dict[str, Any]] = {
        "context": {"()": "inferlog.ContextFilter"},
        "sampling": {"()": "inferlog.SamplingFilter", "rate": sampling_rate},
    }
    file_filters = []
    if redact:
        filters["redact"] = {"()": "inferlog.RedactionFilter"}
        file_filters = ["redact"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": filters,
        "formatters": {"json": {"()": "inferlog.JsonFormatter"}},
        "handlers": {
            "file": {
                "()": "inferlog.handlers.RotatingJsonFileHandler",
                "filename": str(path),
                "formatter": "json",
                "filters": file_filters,
            },
            "queue": {
                "()": "inferlog.QueueHandler",
                "handlers": ["file"],
                "filters": ["context", "sampling"],
                "queue_size": queue_size,
            },
        },
        "loggers": {logger: {"level": "INFO", "handlers": ["queue"], "propagate": False}},
    }


def _run_setup(setup: str, records: int, warm_up: int, out: Path) -> float:
    """Configure ``setup``, log, drain; return process CPU seconds for ``records``."""
    import logging
    import logging.config

    message, extra = _record_fields(7)
    path = out / "out.jsonl"
    if setup == "C":
        import orjson
        import structlog

        fh = path.open("wb")
        structlog.configure(
            processors=[
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.add_log_level,
                structlog.processors.JSONRenderer(serializer=orjson.dumps),
            ],
            logger_factory=structlog.BytesLoggerFactory(fh),
            cache_logger_on_first_use=True,
        )
        log = structlog.get_logger("bench")
        for _ in range(warm_up):
            log.info(message, **extra)
        start = time.process_time()
        for _ in range(records):
            log.info(message, **extra)
        fh.flush()
        os.fsync(fh.fileno())
        elapsed = time.process_time() - start
        fh.close()
        return elapsed

    logger = logging.getLogger("bench")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    if setup == "floor":
        logger.addHandler(logging.NullHandler())
    elif setup == "A":
        from pythonjsonlogger.json import JsonFormatter

        sink = logging.FileHandler(path)
        sink.setFormatter(JsonFormatter())
        logger.addHandler(sink)
    else:
        logging.config.dictConfig(
            inferlog_config(path, records + warm_up, redact=setup == "inferlog-full")
        )
    for _ in range(warm_up):
        logger.info(message, extra=extra)
    for handler in logger.handlers:
        handler.flush()
    start = time.process_time()
    for _ in range(records):
        logger.info(message, extra=extra)
    for handler in logger.handlers:
        shutdown = getattr(handler, "shutdown", None)
        if shutdown is not None:
            shutdown(60)  # drained: every record is in the file
        handler.flush()
    return time.process_time() - start


def _full_pipeline(out: Path, queue_size: int, **options: Any) -> tuple[logging.Logger, Any]:
    """Configure :func:`inferlog_config` writing to ``out``; the logger and its queue."""
    logging.config.dictConfig(inferlog_config(out / "out.jsonl", queue_size, **options))
    logger = logging.getLogger("bench")
    (handler,) = logger.handlers
    return logger, handler


def _lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def _caller(records: int, warm_up: int, out: Path) -> dict[str, float]:
    """p50/p99 of one ``logger.info`` through the full pipeline's queue and to a NullHandler."""
    from bench_queue import Case, percentile, run_burst

    message, extra = _record_fields(7)
    queued, handler = _full_pipeline(out, records + warm_up)
    null = logging.getLogger("bench-null")
    null.propagate = False
    null.setLevel(logging.INFO)
    null.handlers = [logging.NullHandler()]

    def nothing() -> None:
        pass

    # Timed through bench_queue's burst loop; the partial adds well under 0.1 µs to
    # each call of both cases, about 1% of the NullHandler's.
    cases = [
        Case(
            "null", null, nothing, nothing, call=functools.partial(null.info, message, extra=extra)
        ),
        Case(
            "queue",
            queued,
            lambda: handler.flush(60),
            nothing,
            call=functools.partial(queued.info, message, extra=extra),
        ),
    ]
    burst = min(BURST, records)
    for case in cases:
        run_burst(case, warm_up)
        case.samples.clear()
    for _ in range(max(1, records // burst)):
        for case in cases:  # taking turns, so that outside load hits both alike
            run_burst(case, burst)
    handler.shutdown(60)
    written = _lines(out / "out.jsonl")
    if written != warm_up + len(cases[1].samples):
        raise RuntimeError(f"caller setup: {written} lines written, records were lost")
    result = {}
    for case in cases:
        for name, fraction in (("p50", 0.50), ("p99", 0.99)):
            result[f"{case.label}_{name}_us"] = percentile(case.samples, fraction) / 1000
    for name in ("p50", "p99"):
        result[f"ratio_{name}"] = result[f"queue_{name}_us"] / result[f"null_{name}_us"]
    return result


def _best_of(cases: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Best of ``REPEATS`` of each case's seconds per call, repeats taking turns."""
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(REPEATS):
        for name, measure in cases.items():
            best[name] = min(best[name], measure())
    return best


def _per_call(method: Callable[..., None], message: str, extra: Any, number: int) -> float:
    """Seconds per ``method(message, extra=extra)`` over ``number`` calls, collector off.

    Called in a plain loop rather than through a wrapper: a level-filtered call costs
    about 150 ns, which a wrapper's own call would inflate by half.
    """
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            method(message, extra=extra)
        return (time.perf_counter() - start) / number
    finally:
        gc.enable()


def _sampling(records: int, warm_up: int, out: Path) -> dict[str, float]:
    """A success record dropped by sampling (rate 0.0) against one filtered out by level."""
    from inferlog import SampledLogger

    message, extra = _record_fields(7)
    logger, handler = _full_pipeline(out, 1_000, sampling_rate=0.0)
    # The opt-in early decision, with the queue's own sampling filter.
    early = SampledLogger.from_logger(logger)
    for method in (logger.debug, logger.info, early.info):
        _per_call(method, message, extra, warm_up)
    best = _best_of(
        {
            "level": functools.partial(_per_call, logger.debug, message, extra, records),
            "sampled": functools.partial(_per_call, logger.info, message, extra, records),
            "early": functools.partial(_per_call, early.info, message, extra, records),
        }
    )
    handler.shutdown(60)
    path = out / "out.jsonl"
    if path.exists() and path.stat().st_size:
        raise RuntimeError("sampling setup: a record meant to be dropped was written")
    return {
        "level_ns": best["level"] * 1e9,
        "sampled_ns": best["sampled"] * 1e9,
        "ratio": best["sampled"] / best["level"],
        "early_ns": best["early"] * 1e9,
        "early_ratio": best["early"] / best["level"],
    }


def _redaction(records: int, warm_up: int, out: Path) -> dict[str, float]:
    """``Redactor().redact`` on 32 KB without PII against each detector's regex in turn."""
    from bench_redaction import PROMPT_32K, NaiveRedactor, best_mean

    from inferlog import Redactor

    redactor = Redactor()
    naive = NaiveRedactor(redactor)
    if naive.redact(PROMPT_32K) != redactor.redact(PROMPT_32K):
        raise RuntimeError("redaction setup: the naive redactor's output differs")
    # The naive loop costs hundreds of times the redactor: fewer calls of it.
    number = max(2, records // 1_000)
    best = _best_of(
        {
            "ours": functools.partial(
                best_mean, functools.partial(redactor.redact, PROMPT_32K), number * 20, 1
            ),
            "naive": functools.partial(
                best_mean, functools.partial(naive.redact, PROMPT_32K), number, 1
            ),
        }
    )
    return {
        "redactor_us": best["ours"] * 1e6,
        "naive_us": best["naive"] * 1e6,
        "speedup": best["naive"] / best["ours"],
    }


def _throughput(setup: str, records: int, warm_up: int, out: Path) -> dict[str, float]:
    """Records per second from the first record logged until every one is in the file."""
    message, extra = _record_fields(7)
    path = out / "out.jsonl"
    if setup == "throughput-inferlog":
        logger, handler = _full_pipeline(out, records + warm_up)
        start_listener: Callable[[], None] = lambda: None  # noqa: E731  (starts by itself)
        drain: Callable[[], None] = lambda: handler.shutdown(60)  # noqa: E731
        settle: Callable[[], None] = lambda: handler.flush(60)  # noqa: E731
    else:
        from pythonjsonlogger.json import JsonFormatter

        sink = logging.FileHandler(path)
        sink.setFormatter(JsonFormatter())
        records_queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        listener = logging.handlers.QueueListener(records_queue, sink)
        logger = logging.getLogger("bench")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.handlers = [logging.handlers.QueueHandler(records_queue)]
        listener.start()
        start_listener = listener.start
        drain = listener.stop  # returns once the listener has handled every record
        settle = listener.stop
    info = logger.info
    for _ in range(warm_up):
        info(message, extra=extra)
    settle()
    start_listener()
    start = time.perf_counter()
    for _ in range(records):
        info(message, extra=extra)
    drain()
    wall = time.perf_counter() - start
    if _lines(path) != records + warm_up:
        raise RuntimeError(f"{setup}: {_lines(path)} lines written, records were lost")
    return {"records_per_s": records / wall, "wall_s": wall}


def run_child(setup: str, records: int, warm_up: int) -> dict[str, float]:
    """Run one setup in this process and return its figures."""
    with tempfile.TemporaryDirectory(prefix="inferlog-bench-") as directory:
        out = Path(directory)
        if setup in CPU_SETUPS:
            cpu = _run_setup(setup, records, warm_up, out)
            return {"cpu_us_per_record": cpu / records * 1e6}
        if setup in THROUGHPUT_SETUPS:
            return _throughput(setup, records, warm_up, out)
        measure = {"caller": _caller, "sampling": _sampling, "redaction-32k": _redaction}
        return measure[setup](records, warm_up, out)


def _child(setup: str, records: int, warm_up: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", setup]
    command += ["--records", str(records), "--warm-up", str(warm_up)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"setup {setup} failed:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


# --- the tables ----------------------------------------------------------------------


class Figures:
    """Every round's figures of every setup: ``runs[setup][name] == [value per round]``."""

    def __init__(self, setups: tuple[str, ...]) -> None:
        self.runs: dict[str, dict[str, list[float]]] = {setup: {} for setup in setups}

    def add(self, setup: str, figures: dict[str, float]) -> None:
        """Record one round of ``setup``."""
        for name, value in figures.items():
            self.runs[setup].setdefault(name, []).append(value)

    def median(self, setup: str, name: str) -> float:
        """The median over rounds."""
        return statistics.median(self.runs[setup][name])

    def cell(self, setup: str, name: str, digits: int = 1) -> str:
        """``median | min-max`` for a table."""
        values = self.runs[setup][name]
        low, high = min(values), max(values)
        return f"{self.median(setup, name):,.{digits}f} | {low:,.{digits}f}-{high:,.{digits}f}"

    def summary(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{setup: {figure: {runs, median, min, max}}}`` for the JSON output."""
        return {
            setup: {
                name: {
                    "runs": values,
                    "median": statistics.median(values),
                    "min": min(values),
                    "max": max(values),
                }
                for name, values in figures.items()
            }
            for setup, figures in self.runs.items()
        }


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _target(what: str, value: float, bound: float, unit: str = "x", at_most: bool = True) -> str:
    met = value <= bound if at_most else value >= bound
    word = "at most" if at_most else "at least"
    return f"- {what}, {word} {bound:g}{unit}: {value:.2f}{unit}, **{'met' if met else 'missed'}**"


def _cpu_table(figures: Figures, setups: list[str], out: list[str]) -> dict[str, float]:
    ratios: dict[str, float] = {}
    name = "cpu_us_per_record"
    base = figures.median("A", name) if "A" in setups else None
    out += [_row("setup", "µs per record (median)", "min-max", "ratio to A")]
    out += [_row("---", "---:", "---:", "---:")]
    for setup in setups:
        median = figures.median(setup, name)
        if base:
            ratios[f"{setup}_to_A"] = median / base
        ratio = f"{median / base:.2f}" if base else "-"
        out.append(_row(LABELS[setup], figures.cell(setup, name), ratio))
    out.append("")
    if "inferlog-full_to_A" in ratios:
        out.append(_target("Full pipeline to A", ratios["inferlog-full_to_A"], TARGET_FULL_TO_A))
    if "C" in setups and "inferlog-no-redaction" in setups:
        bare, c = figures.median("inferlog-no-redaction", name), figures.median("C", name)
        ratios["inferlog-no-redaction_to_C"] = bare / c
        out.append(_target("Without redaction to C", bare / c, 1.0))
    return ratios


def _caller_table(figures: Figures, out: list[str]) -> dict[str, float]:
    p50, p99 = figures.median("caller", "ratio_p50"), figures.median("caller", "ratio_p99")
    out += [
        "\n**Caller-thread cost through the queue, same record** (µs per call)\n",
        _row("case", "p50 (median)", "min-max", "p99 (median)", "min-max"),
        _row("---", "---:", "---:", "---:", "---:"),
    ]
    for case, label in (("null", LABELS["floor"]), ("queue", LABELS["inferlog-full"])):
        cells = [figures.cell("caller", f"{case}_{p}_us", 2) for p in ("p50", "p99")]
        out.append(_row(label, *cells))
    ratio_cells = [figures.cell("caller", f"ratio_{p}", 2) for p in ("p50", "p99")]
    out += [_row("ratio, queue to NullHandler (each round's)", *ratio_cells), ""]
    out.append(_target("p50 to the NullHandler's", p50, TARGET_CALLER_P50))
    out.append(_target("p99 to the NullHandler's", p99, TARGET_CALLER_P99))
    return {"caller_p50_to_null": p50, "caller_p99_to_null": p99}


class _Target(NamedTuple):
    """One target of a pair setup: the ratio it is about and its bound."""

    ratio: str  # the figure holding each round's ratio
    ratio_key: str  # its name in the JSON's "ratios"
    label: str
    bound: float
    at_most: bool


class _TableSpec(NamedTuple):
    """How to print one pair setup: its rows, and the ratios its targets are about."""

    title: str
    unit: str
    rows: list[tuple[str, str, int]]  # (label, figure, digits)
    targets: list[_Target]


_PAIR_TABLES = {
    "sampling": _TableSpec(
        "A record dropped by sampling against one filtered out by level",
        "ns per call",
        [
            ("`logger.debug` on a logger at INFO", "level_ns", 0),
            ("success record dropped by `SamplingFilter(rate=0.0)` on the queue", "sampled_ns", 0),
            ("ratio, dropped to level-filtered (each round's)", "ratio", 2),
            ("opt-in: skipped by `SampledLogger` before the record is built", "early_ns", 0),
            ("ratio, skipped to level-filtered (each round's)", "early_ratio", 2),
        ],
        [
            _Target(
                "ratio",
                "sampled_to_level",
                "Dropped by sampling to filtered by level",
                TARGET_SAMPLING,
                True,
            ),
            # The alternative: an opt-in way that decides before the record exists.
            _Target(
                "early_ratio",
                "skipped_early_to_level",
                "Opt-in, skipped by `SampledLogger` to filtered by level",
                TARGET_SAMPLING,
                True,
            ),
        ],
    ),
    "redaction-32k": _TableSpec(
        "Redaction of a 32 KB prompt without PII",
        "µs per call",
        [
            ("`Redactor().redact`", "redactor_us", 1),
            ("each built-in detector's regex in turn (stdlib `re`)", "naive_us", 1),
            ("speed-up (each round's)", "speedup", 1),
        ],
        [_Target("speedup", "redaction_32k_speedup", "Speed-up", TARGET_REDACTION_SPEEDUP, False)],
    ),
}


def _pair_tables(figures: Figures, setups: list[str], out: list[str]) -> dict[str, float]:
    ratios: dict[str, float] = {}
    for setup in setups:
        if setup == "caller":
            ratios |= _caller_table(figures, out)
            continue
        spec = _PAIR_TABLES[setup]
        out += [
            f"\n**{spec.title}** ({spec.unit})\n",
            _row("case", f"{spec.unit} (median)", "min-max"),
        ]
        out.append(_row("---", "---:", "---:"))
        out += [_row(label, figures.cell(setup, name, digits)) for label, name, digits in spec.rows]
        out.append("")
        for target in spec.targets:
            ratio = figures.median(setup, target.ratio)
            out.append(_target(target.label, ratio, target.bound, at_most=target.at_most))
            ratios[target.ratio_key] = ratio
    return ratios


def _throughput_table(figures: Figures, setups: list[str], out: list[str]) -> dict[str, float]:
    name = "records_per_s"
    stdlib = "throughput-stdlib"
    base = figures.median(stdlib, name) if stdlib in setups else None
    out += [
        "\n**Throughput: records per second one listener thread ships to a file**\n",
        _row("setup", "records/s (median)", "min-max", "ratio to stdlib"),
        _row("---", "---:", "---:", "---:"),
    ]
    ratios: dict[str, float] = {}
    for setup in setups:
        median = figures.median(setup, name)
        if base and setup != stdlib:
            ratios["throughput_inferlog_to_stdlib"] = median / base
        ratio = f"{median / base:.2f}" if base else "-"
        out.append(_row(LABELS[setup], figures.cell(setup, name, 0), ratio))
    return ratios


def report(figures: Figures, setups: tuple[str, ...]) -> tuple[str, dict[str, float]]:
    """The Markdown tables of the setups run, and the ratios they show."""
    out: list[str] = []
    ratios: dict[str, float] = {}
    groups = [
        (CPU_SETUPS, _cpu_table),
        (PAIR_SETUPS, _pair_tables),
        (THROUGHPUT_SETUPS, _throughput_table),
    ]
    for group, table in groups:
        chosen = [setup for setup in group if setup in setups]
        if chosen:
            ratios |= table(figures, chosen, out)
    return "\n".join(out), ratios


def main() -> int:
    """Run every setup ``--rounds`` times, interleaved; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="records per setup run")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per setup")
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="untimed records first")
    parser.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS))
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--child", choices=SETUPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.records < 1 or args.rounds < 1 or args.warm_up < 0:
        parser.error("--records and --rounds must be positive, --warm-up not negative")
    if args.child:
        print(json.dumps(run_child(args.child, args.records, args.warm_up)))
        return 0
    setups = tuple(setup for setup in SETUPS if setup in args.setups)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    figures = Figures(setups)
    for _ in range(args.rounds):
        for setup in setups:
            figures.add(setup, _child(setup, args.records, args.warm_up))
    tables, ratios = report(figures, setups)
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
        f"{args.records:,} records per run after {args.warm_up:,} warm-up, {args.rounds} rounds, "
        f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end, "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    print(tables)
    if args.json:
        cpu = [setup for setup in setups if setup in CPU_SETUPS]
        document = {
            "python": platform.python_version(),
            "records": args.records,
            "rounds": args.rounds,
            "warm_up": args.warm_up,
            "load_average": load,
            "runs": {setup: figures.runs[setup]["cpu_us_per_record"] for setup in cpu},
            "medians": {setup: figures.median(setup, "cpu_us_per_record") for setup in cpu},
            "setups": figures.summary(),
            "ratios": ratios,
        }
        args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
