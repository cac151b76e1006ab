"""Turn inferlog's JSON-lines files into answers: stats, trace, replay and drift.

Aggregation runs in DuckDB (``pip install 'inferlog[analysis]'``), which is imported
only by the modules that run a query, so importing this package costs nothing. The
``inferlog`` command (:mod:`inferlog.cli`) is a thin layer over these modules:

- :mod:`~inferlog.analysis.stats`: calls, error rate, latency quantiles and the
  token/latency relation per group (:func:`~inferlog.analysis.stats.compute_stats`);
- :mod:`~inferlog.analysis.queries`: the same statistics as a query to run where the
  logs live (CloudWatch Logs Insights, BigQuery, DuckDB over object storage);
- :mod:`~inferlog.analysis.trace`: every record of one request, as a tree;
- :mod:`~inferlog.analysis.replay`: logged requests fed to a shadow model;
- :mod:`~inferlog.analysis.drift`: PSI and the KS statistic between two windows.
"""

from __future__ import annotations

__all__: list[str] = []
