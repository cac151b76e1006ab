"""Running other projects' test suites against inferlog (``make compat``)."""
