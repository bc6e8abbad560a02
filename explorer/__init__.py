"""How we search: the engines that read a Spec, what runs many of them, what writes their results.

* ``engines/``: explicit-state search (``bfs.py``, the reference; ``compiled/``, the spec compiled to C),
  liveness on the explored graph (``liveness/``), Z3 (``smt/``: encoding, BMC, layer counts, induction),
  and which witnesses a search reached (``witnesses.py``). They read ``spec/lang.py``, nothing above.
* ``runs/``: the expected-verdict matrix and its expectations and saved results (``results.py``), the
  named queries, the crosschecks (BFS against Z3, our engine against Spin), worker processes.
* ``outputs/``: counterexample traces (text, ITF, DOT), replay, the design-review report, and the TLA+
  and Promela exports.
* ``commands/``: one module per command; ``cli.py`` is the table of every command and ``main``;
  ``cli_common.py`` what the commands share (exit statuses, argument types, ``UsageError``, ``load``).

Arrows go down only, and no model module is imported directly: models are loaded by name
(``spec.config.import_model``). ``tests/test_layout.py`` checks both.
"""
