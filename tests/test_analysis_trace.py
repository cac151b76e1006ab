"""trace: one request's records across files and processes, as a tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferlog.analysis.trace import build_tree, find_request, walk
from inferlog.cli import EXIT_FOUND, main
from tests.analysis_logs import call, stamp, write


def access(seconds: float, request_id: str, **extra: object) -> dict[str, object]:
    return {
        "timestamp": stamp(seconds),
        "level": "ERROR",
        "logger": "inferlog.access",
        "message": "POST /v1/score 500",
        "request_id": request_id,
        "method": "POST",
        "path": "/v1/score",
        "status_code": 500,
        "latency_ms": 30.0,
        "status": "error",
        **extra,
    }


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    # Process A (gateway) and process B (model server) both logged request "req-7".
    gateway = [
        {
            "timestamp": stamp(1.0),
            "level": "INFO",
            "logger": "api",
            "message": "request received",
            "request_id": "req-7",
            "span_id": "aaaa",
        },
        access(1.5, "req-7", span_id="aaaa"),
        {
            "timestamp": stamp(2.0),
            "level": "INFO",
            "logger": "api",
            "message": "other",
            "request_id": "req-8",
        },
    ]
    server = [
        call(
            1,
            request_id="req-7",
            span_id="bbbb",
            status="error",
            exception={"type": "TimeoutError", "message": "too slow", "stack": []},
        ),
        access(1.4, "req-7", span_id="bbbb", parent_span_id="aaaa"),
    ]
    server[0]["timestamp"] = stamp(1.2)
    write(tmp_path / "gateway.20270115T080000.000000Z.jsonl.gz", gateway)
    write(tmp_path / "server.jsonl", server, tail="{torn")
    return tmp_path


def test_records_of_one_request_across_files_form_a_tree(logs: Path) -> None:
    records = find_request([str(logs)], "req-7", on_invalid=lambda _line: None)
    assert [r["timestamp"][-7:] for r in records] == ["01.000Z", "01.200Z", "01.400Z", "01.500Z"]
    tree = [
        (depth, node.record["logger"], node.record.get("span_id"))
        for depth, node in walk(build_tree(records))
    ]
    assert tree == [
        (0, "inferlog.access", "aaaa"),
        (1, "api", "aaaa"),
        (1, "inferlog.access", "bbbb"),
        (2, "inferlog.inference", "bbbb"),
    ]


def test_trace_command_prints_the_tree_and_marks_errors(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", "req-7", str(logs)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "request req-7: 4 records, 3 with errors"
    assert "POST /v1/score -> 500" in lines[1]
    assert lines[1].endswith("✗")
    assert "└─ " in lines[2]
    assert "request received" in lines[2]
    assert "TimeoutError: too slow" in lines[4]
    assert "1 unreadable line(s) (1 torn)" in captured.err


def test_trace_json_lines_carry_depth(logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "req-7", str(logs), "--format", "json"]) == 0
    depths = [json.loads(line)["depth"] for line in capsys.readouterr().out.splitlines()]
    assert depths == [0, 1, 1, 2]


def test_an_unknown_request_exits_1(logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "nope", str(logs)]) == EXIT_FOUND
    assert "no record has request_id 'nope'" in capsys.readouterr().err


def test_without_an_access_record_the_records_are_flat(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", [call(1, request_id="x"), call(2, request_id="x")])
    nodes = list(walk(build_tree(find_request(str(tmp_path), "x"))))
    assert [depth for depth, _ in nodes] == [0, 0]


def test_a_first_line_after_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    line = json.dumps({**call(0, latency=1.0), "request_id": "r0"})
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\n")
    assert ["r0"] == [r["request_id"] for r in find_request(str(tmp_path), "r0")]


def test_a_file_that_cannot_be_read_is_named_not_passed_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Plain text under a .gz name: no record comes out of it, and trace must say why.
    line = json.dumps({**call(0, latency=1.0), "request_id": "r0"})
    (tmp_path / "app.jsonl.gz").write_text(line + "\n")
    assert main(["trace", "r0", str(tmp_path)]) == EXIT_FOUND
    err = capsys.readouterr().err
    assert "app.jsonl.gz: <compressed data unreadable from here on" in err
    assert "unreadable line(s)" not in err  # the note is no line
