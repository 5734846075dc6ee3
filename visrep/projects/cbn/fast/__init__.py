"""The CBN layer's fast routes: the same quantities, computed faster.

The layer's algorithm (:mod:`..cbn`, :mod:`..window`, :mod:`..pooled_norm`,
:mod:`..moment_grads`) reads without this package; it calls in where marked
"fast route":

* :mod:`.cuda_graph`: the per-channel operations of a training step
  replayed as one CUDA graph per window layout (bit for bit the eager
  operations);
* :mod:`.step_buffers`: the tensors of that step, kept in place from step
  to step (what a graph replay needs);
* :mod:`.workspace`: one scratch buffer per thread, device and dtype for
  the weight- and activation-sized temporaries;
* :mod:`.dnu_products`: ``d nu/dW`` as a batched (im2col) or Gram-matrix
  product where the patches are cheap, instead of a weight-gradient
  convolution;
* :mod:`.gpu_routes`: on a GPU, one call instead of several (the patch
  sum, the batch moments, the window's dot products);
* :mod:`.conv_pair`: ``d nu/dW`` in the convolution's backward, stacked
  with its weight gradient (``CBN(dnu_in_backward=True)``; off by default:
  measured no faster on CPU).
"""
