"""Training: recipes (:mod:`~srbench.train.config`), patch data (:mod:`~srbench.train.data`), losses
(:mod:`~srbench.train.losses`), the resumable tracked trainer (:mod:`~srbench.train.trainer`) and declared ablation
sweeps over it (:mod:`~srbench.train.ablate`)."""
