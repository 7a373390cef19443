"""Vocabularies that several layers share (the protocol declares them, datasets and models check them)."""

#: BatchNorm statistics: ``eval`` (running statistics) or ``batch`` (each image's own; see srbench.models.bn).
BN_MODES = ("eval", "batch")
#: Where an LR image comes from: the shipped file when present, or always generated from HR (MATLAB-compatible
#: ``generate``, or another library's bicubic: srbench.data.lr_generators).
LR_SOURCES = ("file", "generate", "pil", "opencv", "torch", "torch_aa")
#: Scales with an upsampling head in every model.
SCALES = (2, 3, 4)
#: LPIPS input ranges: ``minus_one_one`` (its documented input) or ``zero_one`` (torchvision ``ToTensor()``).
LPIPS_INPUTS = ("minus_one_one", "zero_one")
