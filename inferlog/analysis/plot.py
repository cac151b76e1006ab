"""``inferlog stats --plot``: latency against token count, and latency per group.

matplotlib is imported here only (``pip install 'inferlog[plot]'``), with the
non-interactive Agg backend so that plotting works without a display.
"""

from __future__ import annotations

from collections import defaultdict
from types import ModuleType
from typing import Any, Final

from inferlog.analysis.errors import MissingExtraError
from inferlog.analysis.sql import StatsSpec, calls_sql

__all__ = ["MAX_POINTS", "draw_stats_plot", "matplotlib_pyplot"]

#: Calls drawn at most (a uniform sample beyond), so a plot costs the same at any size.
MAX_POINTS: Final = 20_000


def matplotlib_pyplot() -> ModuleType:
    """Import ``matplotlib.pyplot`` on the Agg backend, or raise naming the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise MissingExtraError("matplotlib", "plot") from err
    return plt  # type: ignore[no-any-return]


def draw_stats_plot(con: Any, spec: StatsSpec, source: str, path: str) -> int:
    """Draw the two panels from the calls in ``source`` into ``path``; returns points drawn."""
    plt = matplotlib_pyplot()
    aliases = spec.group_aliases()
    label = " || '@' || ".join(f"coalesce({a}, '-')" for a in aliases) if aliases else "'all'"
    rows = con.execute(
        f"SELECT {label} AS grp, latency_ms, "
        "coalesce(input_tokens, 0) + coalesce(output_tokens, 0) AS tokens, "
        "input_tokens IS NOT NULL OR output_tokens IS NOT NULL AS has_tokens "
        f"FROM ({calls_sql(spec, source)}) USING SAMPLE {MAX_POINTS} ROWS"
    ).fetchall()
    by_group: dict[str, list[tuple[float, float, bool]]] = defaultdict(list)
    for group, latency, tokens, has_tokens in rows:
        by_group[group].append((latency, tokens, has_tokens))
    figure, (scatter, spread) = plt.subplots(1, 2, figsize=(13, 5))
    for group in sorted(by_group):
        points = [(t, lat) for lat, t, has in by_group[group] if has]
        if points:
            scatter.scatter(
                [p[0] for p in points], [p[1] for p in points], s=6, alpha=0.5, label=group
            )
    scatter.set_xlabel("tokens (input + output)")
    scatter.set_ylabel("latency (ms)")
    scatter.set_title("latency against token count")
    if scatter.get_legend_handles_labels()[0]:
        scatter.legend(fontsize="small", markerscale=2)
    groups = sorted(by_group)
    if groups:
        spread.boxplot([[lat for lat, _, _ in by_group[g]] for g in groups], showfliers=False)
        spread.set_xticks(
            range(1, len(groups) + 1), groups, rotation=30, ha="right", fontsize="small"
        )
    spread.set_ylabel("latency (ms)")
    spread.set_title("latency per group")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return len(rows)
