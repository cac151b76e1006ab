"""Labels and insert ids of Cloud Logging entries (inferlog/handlers/_gcp_labels.py)."""

from __future__ import annotations

import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.handlers._gcp_labels import (
    MAX_LABEL_KEY_BYTES,
    MAX_LABEL_VALUE_BYTES,
    MAX_LABELS,
    InsertIds,
    string_labels,
)


def test_record_labels_win_over_handler_labels_and_become_strings() -> None:
    labels, left_out = string_labels(
        {"service": "s", "n": "handler"}, {"n": 3, "ok": True, "none": None, 5: 1.5}
    )
    assert labels == {"service": "s", "n": "3", "ok": "true", "none": "null", "5": "1.5"}
    assert left_out == 0


def test_labels_beyond_the_limit_are_left_out_and_counted() -> None:
    labels, left_out = string_labels({f"k{i}": "v" for i in range(MAX_LABELS + 6)})
    assert len(labels) == MAX_LABELS
    assert left_out == 6


def test_long_label_values_are_cut_with_a_marker() -> None:
    labels, _ = string_labels({"big": "x" * (MAX_LABEL_VALUE_BYTES + 100)})
    assert len(labels["big"].encode()) <= MAX_LABEL_VALUE_BYTES
    assert "truncated" in labels["big"]


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.one_of(st.text(max_size=600), st.integers(), st.none()),
        st.one_of(st.text(max_size=50), st.integers(), st.floats(), st.booleans(), st.none()),
        max_size=80,
    )
)
def test_any_labels_become_at_most_64_str_pairs_within_the_limits(
    labels: dict[object, object],
) -> None:
    out, left_out = string_labels({"service": "s"}, labels)
    assert len(out) <= MAX_LABELS
    assert (
        left_out == max(0, len({"service": 1, **{str(k): 1 for k in labels}}) - MAX_LABELS)
        or left_out >= 0
    )
    for key, value in out.items():
        assert isinstance(key, str)
        assert isinstance(value, str)
        assert len(key.encode("utf-8")) <= MAX_LABEL_KEY_BYTES
        assert len(value.encode("utf-8")) <= MAX_LABEL_VALUE_BYTES


def test_insert_ids_are_unique_and_a_forked_child_draws_another_prefix() -> None:
    ids = InsertIds()
    first = [ids.next() for _ in range(1000)]
    assert len(set(first)) == 1000
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        os.write(write, ids.next().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_id.split("-")[0] != first[0].split("-")[0]


def test_insert_ids_are_unique_across_threads() -> None:
    ids = InsertIds()
    found: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def take(slot: list[str]) -> None:
        start.wait(10)
        slot.extend(ids.next() for _ in range(2_000))

    threads = [threading.Thread(target=take, args=(slot,)) for slot in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    every = [item for slot in found for item in slot]
    assert len(every) == len(set(every)) == 16_000
