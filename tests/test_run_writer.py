"""The one run-writing layer (srbench.track.run_writer): a run ends FINISHED only when its block completed, KILLED on
Ctrl-C, FAILED on any other error, for a bare writer and for a benchmark cell measured through it. The statuses are
read back from MLflow's store by a fresh client (the independent reference), never from the writer itself."""

from __future__ import annotations

import mlflow
import pytest

from srbench.track import tags as T, tracking
from srbench.track.experiment import load_experiment
from srbench.track.run_writer import RunWriter, end_status, finished_or_clean
from srbench.track.benchmark import run_benchmark


def _experiment_id(uri: str, name: str = "w") -> str:
    return tracking.get_or_create_experiment(tracking.client(uri), name)


@pytest.mark.parametrize("raised, status", [(None, "FINISHED"), (KeyboardInterrupt, "KILLED"),
                                            (RuntimeError, "FAILED"), (MemoryError, "FAILED")])
def test_a_run_ends_with_the_status_of_its_block(mlflow_uri, raised, status):
    client = tracking.client(mlflow_uri)
    writer = RunWriter.create(client, _experiment_id(mlflow_uri), tags={T.KIND: "test"}, run_name="r")
    try:
        with writer as run:
            run.params({"a": 1})
            run.metrics({"m": 0.5})
            run.tags({T.LABEL: "x"})
            if raised is not None:
                raise raised
    except (KeyboardInterrupt, RuntimeError, MemoryError) as exc:
        assert type(exc) is raised
    stored = mlflow.MlflowClient(mlflow_uri).get_run(writer.run_id)
    assert stored.info.status == status
    assert stored.data.params == {"a": "1"} and stored.data.metrics == {"m": 0.5}
    assert stored.data.tags[T.KIND] == "test" and stored.data.tags[T.LABEL] == "x"


def test_end_status_names():
    assert [end_status(e) for e in (None, KeyboardInterrupt(), ValueError(), SystemExit(1))] == \
        ["FINISHED", "KILLED", "FAILED", "FAILED"]


def test_resume_sets_running_and_a_missing_run_is_none(mlflow_uri):
    client = tracking.client(mlflow_uri)
    with RunWriter.create(client, _experiment_id(mlflow_uri), tags={}) as run:
        pass
    again = RunWriter.resume(client, run.run_id)
    assert mlflow.MlflowClient(mlflow_uri).get_run(run.run_id).info.status == "RUNNING"
    again.end_after(None)
    assert mlflow.MlflowClient(mlflow_uri).get_run(run.run_id).info.status == "FINISHED"
    assert RunWriter.resume(client, "0" * 32) is None


def test_finished_or_clean_deletes_unfinished_runs_of_the_key(mlflow_uri):
    client = tracking.client(mlflow_uri)
    eid = _experiment_id(mlflow_uri)
    with RunWriter.create(client, eid, tags={T.CELL_KEY: "k"}) as done:
        pass
    with pytest.raises(RuntimeError), RunWriter.create(client, eid, tags={T.CELL_KEY: "k"}) as failed:
        raise RuntimeError
    with RunWriter.create(client, eid, tags={T.CELL_KEY: "other"}):
        pass
    assert finished_or_clean(client, [eid], "k").info.run_id == done.run_id
    plain = mlflow.MlflowClient(mlflow_uri)
    assert plain.get_run(failed.run_id).info.lifecycle_stage == "deleted"
    assert finished_or_clean(client, eid, "none") is None


def _bicubic_x2(tmp_path, dataset) -> str:
    path = tmp_path / "w.yaml"
    path.write_text(f"""
name: w
datasets: [{dataset}]
scales: [2]
device: cpu
runtime: eager
measure: {{latency: false, memory: false}}
models:
  - {{model: bicubic}}
""")
    return path


@pytest.mark.parametrize("raised, status", [(KeyboardInterrupt, "KILLED"), (RuntimeError, "FAILED")])
def test_a_cell_whose_measurement_stops_is_never_finished(tmp_path, tiny_dataset, mlflow_uri, monkeypatch,
                                                          raised, status):
    """The cell's run and the invocation's parent end KILLED (Ctrl-C) or FAILED (an error) when the measurement
    raises; the next invocation deletes that run and measures the cell once, FINISHED."""
    def broken(*args, **kwargs):
        raise raised("stopped in the measurement")

    exp = load_experiment(_bicubic_x2(tmp_path, tiny_dataset))
    monkeypatch.setattr("srbench.track.benchmark.measure_and_log", broken)
    with pytest.raises(raised):
        run_benchmark(exp, tracking_uri=mlflow_uri, progress=False)
    plain = mlflow.MlflowClient(mlflow_uri)
    eid = plain.get_experiment_by_name("w").experiment_id
    runs = {r.data.tags[T.KIND]: r for r in plain.search_runs([eid])}
    assert set(runs) == {"benchmark", "cell"}
    assert runs["cell"].info.status == runs["benchmark"].info.status == status
    monkeypatch.undo()
    outcome, = run_benchmark(exp, tracking_uri=mlflow_uri, progress=False)
    assert outcome.status == "computed"
    cells = plain.search_runs([eid], filter_string="tags.`srbench.kind` = 'cell'")
    assert [r.info.status for r in cells] == ["FINISHED"] and cells[0].info.run_id != runs["cell"].info.run_id
    unknown = [k for k in cells[0].data.tags if k.startswith("srbench.") and not T.is_known(k)]
    assert not unknown, f"tags missing from srbench.track.tags: {unknown}"
    assert {T.CELL_KEY, T.MODEL, T.RUNTIME, T.MEASURE_OUT, T.env("torch")} <= set(cells[0].data.tags)


def test_writers_leave_retries_to_the_layer():
    """The house rule of issue #20: the modules that write runs call MLflow through srbench.track.run_writer, which
    retries; none wraps a client call in tracking.retrying itself."""
    from srbench.core.store import REPO_ROOT

    writers = [*(REPO_ROOT / "bench" / "track").glob("*.py"), *(REPO_ROOT / "bench" / "train").glob("*.py"),
               REPO_ROOT / "bench" / "api" / "log.py"]
    not_writers = {"tracking.py", "run_writer.py", "ui_meta.py"}  # the retry itself; experiment tags only
    offenders = [p.name for p in writers if p.name not in not_writers and "retrying(" in p.read_text()]
    assert not offenders, f"MLflow calls retried outside srbench.track.run_writer: {offenders}"
