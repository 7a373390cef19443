"""Reports: the papers' tables and figures, generated from MLflow alone (``srbench report``).

Modules: :mod:`~bench.report.collect` (MLflow -> tidy frames, newest-wins selection, per-image values: the report's
MLflow reads, with :mod:`~bench.report.crop_data` for the crop images), :mod:`~bench.report.tables` (the tables:
pure functions of those frames, one module per kind), :mod:`~bench.report.render` (Markdown / LaTeX booktabs / CSV),
:mod:`~bench.report.figures` (matplotlib, one module per kind), :mod:`~bench.report.bootstrap` (paired bootstrap CIs), :mod:`~bench.report.reference` (published
values with their sources), :mod:`~bench.report.readme` (README) and :mod:`~bench.report.build` (the whole report).
Nothing heavy is imported here.
"""

#: Where ``srbench report`` and the benchmark summaries go by default: a git-ignored folder, so that running the
#: benchmark and rendering the report never rewrites the committed ``reports/`` (``make report-commit`` does that).
LOCAL_OUT = "reports/local"
