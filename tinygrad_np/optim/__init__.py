"""tinygrad_np.optim: optimizers and learning-rate schedulers, as torch.optim.

``optimizer.py`` holds the base class (param groups, the fused or per-parameter step, state
dicts), ``optimizers.py`` the update rules (SGD, Adam, AdamW, RMSprop, Adagrad) and
``lr_scheduler.py`` the schedulers; all of them are importable from here, and
``optim.lr_scheduler.StepLR`` works as in PyTorch.
"""

from ..errors import OptimizerError
from . import lr_scheduler
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from .optimizer import Optimizer
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop

__all__ = [
    "SGD", "Adagrad", "Adam", "AdamW", "CosineAnnealingLR", "ExponentialLR", "LRScheduler",
    "LambdaLR", "LinearLR", "MultiStepLR", "OneCycleLR", "Optimizer", "OptimizerError", "RMSprop",
    "ReduceLROnPlateau", "StepLR", "lr_scheduler",
]
