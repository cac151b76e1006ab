"""docs/alerting.md: its dictConfig example runs as printed and does what the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "alerting.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_dictconfig_example_fires_once_as_the_page_says(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    (example,) = _blocks("python")
    exec(compile(example, str(PAGE), "exec"), {})
    out = capsys.readouterr().out
    assert out == "[('firing', 'error_rate', '3.2.0')]\n"
    assert "This prints `[('firing', 'error_rate', '3.2.0')]`" in PAGE.read_text(encoding="utf-8")


def test_the_event_example_is_the_shape_to_dict_gives() -> None:
    import json

    from inferlog.alerting import AlertEvent

    (shown,) = _blocks("json")
    documented = json.loads(shown)
    event = AlertEvent("firing", "error_rate", "error_rate", {}, 0.1, 0.02, 100, 300, 0, "m")
    assert list(documented) == list(event.to_dict())
