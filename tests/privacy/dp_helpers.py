import numpy as np

from optkit import StochasticProblem


def quadratic(centers) -> StochasticProblem:
    """f_i(w) = 1/2 ||w - c_i||^2: per-example gradients w - c_i, gradient differences w - w' (L = 1)."""
    C = np.asarray(centers, dtype=np.float64)

    def rows(idx):
        return C if idx is None else C[idx]

    def loss(w, idx):
        return float(0.5 * np.mean(np.sum((w - rows(idx)) ** 2, axis=1)))

    def per_example(w, idx):
        return w - rows(idx)

    return StochasticProblem(loss, lambda w, idx: per_example(w, idx).mean(axis=0), C.shape[0], np.zeros(C.shape[1]),
                             per_example_grads=per_example, name="quadratic")

