"""The measurement package: everything that can change a logged number, and nothing else.

Protocol (:mod:`~srbench.eval.protocol`), the pure metrics (:mod:`~srbench.eval.metrics`), applying a protocol to one
SR/HR pair (:mod:`~srbench.eval.scoring`), evaluating a model on a dataset (:mod:`~srbench.eval.evaluate`), the
whole measurement of a cell (:mod:`~srbench.eval.cell`: output size, BN mode, quality, params, Mult-Adds, latency,
memory), latency (:mod:`~srbench.eval.latency`), peak memory (:mod:`~srbench.eval.memory`), devices
(:mod:`~srbench.eval.device`), the library versions a measurement depends on (:mod:`~srbench.eval.environment`) and
weights resolution and the evaluation model (:mod:`~srbench.eval.weights`), and the inference runtimes with their
fidelity gate (:mod:`~srbench.eval.runtimes`; which runtime a cell uses is chosen outside, in
:mod:`srbench.runtime_choice`, because that choice cannot move a number).

The benchmark's cell key hashes the import closure of this package (see :mod:`srbench.track.cells`), so a change to
any code that can move a number, here or in the models, data and core modules it imports, recomputes the cells.
Nothing here talks to MLflow.
"""
