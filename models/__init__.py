"""Super-resolution models: a timm-style registry (``create_model``), the architectures, weights and complexity.

Importing the package registers every architecture (cheap: module definitions only, nothing is built or loaded).
"""

from srbench.models import bicubic, carn, ecdn, zoo  # noqa: F401  (import for registration)
from srbench.models.bn import has_batchnorm, set_bn_mode
from srbench.models.registry import create_model, input_range, list_models, model_code, model_info, register_model

__all__ = ["create_model", "has_batchnorm", "input_range", "list_models", "model_code", "model_info", "register_model",
           "set_bn_mode"]
