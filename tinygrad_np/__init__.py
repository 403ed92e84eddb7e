"""tinygrad_np: reverse-mode automatic differentiation on NumPy, small enough to read."""

from . import data, errors, nn, optim
from .errors import (
    AnomalyError,
    CheckpointError,
    DataError,
    DTypeError,
    GradcheckError,
    GraphError,
    OptimizerError,
    OutOfRangeError,
    ShapeError,
    TinygradError,
)
from .gradcheck import gradcheck
from .memory import retain_freed_memory
from .ops import concatenate, cross_entropy, linear, log_softmax, softmax
from .random import get_rng, manual_seed
from .tensor import (
    Tensor,
    detect_anomaly,
    get_default_dtype,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
    toposort,
)
from .viz import draw_graph

__version__ = "0.1.0"
