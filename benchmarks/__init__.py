"""Speed and memory of tinygrad_np against hand-written NumPy and its peers (`make bench`).

benchmarks/README.md explains the method. The modules:

- ``workloads``: W1-W3 (the seeds' MLPs) and W4 (issue 14's CNN), their synthetic data and the
  initial weights every framework starts from;
- ``numpy_by_hand``: the seeds' hand-derived backprop and the CNN by hand, the matmul-only
  floors, and ``reference_loss``, the float64 referee of the training check;
- ``tinygrad_impl``, ``torch_impl``, ``peers``: the same networks as users of tinygrad_np,
  PyTorch (eager and torch.compile), JAX, MyGrad and HIPS autograd write them;
- ``rows``: the rows of the table (``Variant``: a framework, an environment, a call);
- ``child``: one (workload, row) pair in its own process, timed and checked;
- ``run``: rounds of children, alternating, behind a load gate; ``report``: the tables;
- ``micro``: per-op overhead against bare NumPy; ``profile``: where a tinygrad_np step's time
  goes.
"""
