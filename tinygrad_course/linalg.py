"""tc.linalg, as numpy.linalg and torch.linalg: norms, inverse, determinants, linear systems,
all differentiable (the ops live in ops/matrix.py)."""
from .ops.einsum import outer, tensordot
from .ops.linalg import matmul
from .ops.matrix import (LinAlgError, SlogdetResult, det, inv, matrix_norm, norm, slogdet, solve,
                         vector_norm)

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "SlogdetResult",
           "solve", "LinAlgError", "matmul", "tensordot", "outer"]
