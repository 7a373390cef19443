"""Training: recipes (:mod:`~srbench.train.config`), patch data and its prefetching (:mod:`~srbench.train.data`),
losses (:mod:`~srbench.train.losses`), precision (:mod:`~srbench.train.precision`: the ``amp`` knob, CPU bf16), the
resumable tracked trainer (:mod:`~srbench.train.trainer`) and declared ablation sweeps over it, with seeds
(:mod:`~srbench.train.ablate`)."""
