"""tc.linalg, as numpy.linalg and torch.linalg: norms, inverse, determinants, linear systems,
all differentiable (the ops live in ops/linalg.py)."""
from .ops.linalg import (LinAlgError, SlogdetResult, det, inv, matmul, matrix_norm, norm, outer,
                         slogdet, solve, tensordot, vector_norm)

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "SlogdetResult",
           "solve", "LinAlgError", "matmul", "tensordot", "outer"]
