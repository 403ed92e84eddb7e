"""The exceptions tinygrad_np raises on purpose.

Each one subclasses the built-in exception a NumPy or PyTorch user would expect (a shape error is
still a ``ValueError``), so ``except ValueError`` keeps working, while ``except TinygradError``
catches everything the library reports itself.
"""

import errno
import os


class TinygradError(Exception):
    """Base class of every error tinygrad_np raises on purpose."""


class ShapeError(TinygradError, ValueError):
    """Shapes that do not fit together: matmul, broadcasting, reshape, one-hot width."""


class DTypeError(TinygradError, TypeError):
    """A dtype that cannot be used here: integer data with requires_grad, an unknown dtype."""


class OutOfRangeError(TinygradError, IndexError):
    """An index or axis out of range, or a label outside the number of classes."""


class ArgumentError(TinygradError, ValueError, TypeError):
    """An argument of the wrong kind or value (an unknown reduction or activation, a list where a
    Tensor is needed, ``axis=`` together with ``dim=``). It is both a ``ValueError`` and a
    ``TypeError``, so code written for NumPy's or PyTorch's choice of the two keeps working."""


class DivisionByZeroError(TinygradError, ZeroDivisionError):
    """An integer ``//`` or ``%`` by zero (NumPy would give 0 with a warning; PyTorch raises)."""


class GraphError(TinygradError, RuntimeError):
    """Misuse of the autodiff graph: backward on a non-scalar, backward through a freed graph,
    an in-place edit of an array a live graph still needs, a custom op's backward that returns
    the wrong gradients."""


class AnomalyError(GraphError):
    """A NaN or Inf found by ``detect_anomaly()``, in an op's output or in a gradient."""


class GradcheckError(TinygradError, AssertionError):
    """Autodiff and central differences disagree (raised by ``gradcheck``, ``check_op`` and
    ``check_graph``). ``diagnosis`` names the likely cause (``autograd.checks.DIAGNOSES``);
    ``node`` is the failing op's output in a ``check_graph``, for ``draw_graph(highlight=)``."""

    diagnosis = "wrong"
    op = node = input = element = analytic = numeric = None


class CheckpointError(TinygradError, ValueError):
    """A state dict or checkpoint file that does not match, or cannot be read."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """``nn.load`` of a file that does not exist. It is still a ``FileNotFoundError`` (with
    ``errno`` and ``filename`` set), as ``open()`` raises."""

    def __init__(self, message: str, filename: str):
        super().__init__(message)
        # ValueError comes first in the bases, so OSError's own argument parsing never runs
        self.errno, self.strerror, self.filename = errno.ENOENT, os.strerror(errno.ENOENT), filename

    def __str__(self) -> str:  # OSError's would print "[Errno 2] ...", the message without it
        return self.args[0]


class NotDefinedError(TinygradError, NotImplementedError):
    """A method your subclass must define and does not: ``Module.forward``,
    ``Function.forward``/``backward``, a scheduler's learning-rate rule."""


class MissingDependencyError(TinygradError, ImportError):
    """An optional library a feature needs is not installed; the message names the extra."""


class DataError(TinygradError, ValueError):
    """A data file that is missing, corrupt, truncated, or fails its checksum."""


class OptimizerError(TinygradError, ValueError):
    """Bad optimizer settings, or a non-finite gradient that would poison the weights."""
