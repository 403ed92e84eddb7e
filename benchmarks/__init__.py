"""Speed and memory of tinygrad_np against hand-written NumPy and PyTorch (`make bench`).

- ``workloads``: the three seed configurations (W1, W2, W3), their synthetic data and the
  initial weights every framework starts from;
- ``numpy_by_hand``: the seeds' hand-derived backprop, written once, plus the matmul-only floor;
- ``torch_impl``: the same networks as a PyTorch user writes them;
- ``tinygrad_impl``: the same networks as a tinygrad_np user writes them;
- ``micro``: per-op overhead (forward + backward of add, matmul, relu) against bare NumPy;
- ``run``: runs each framework in its own process, alternating, and prints the table.
"""
