"""Neural networks as memory: outer-product (fast-weight) memories, the delta rule, a small MLP
trained at test time, and an RNN hidden state.
"""

from __future__ import annotations

import numpy as np

from .checks import positive_int, unit_interval
from .memory import Memory


def elu_plus_one(x: np.ndarray) -> np.ndarray:
    """phi(x) = elu(x) + 1 > 0, the feature map of linear attention (Katharopoulos et al., 2020)."""
    return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))


def identity(x: np.ndarray) -> np.ndarray:
    """phi(x) = x."""
    return x


def unit_norm(x: np.ndarray) -> np.ndarray:
    """phi(x) = x / ||x||: keys of length 1, so that a delta-rule write with beta = 1 is exact."""
    norm = np.linalg.norm(x)
    return x / norm if norm > 0 else x


def unit_squares(x: np.ndarray) -> np.ndarray:
    """phi(x) = (x * x) / ||x * x||: the squared entries, of length 1; even, phi(-x) = phi(x)."""
    return unit_norm(x * x)


FEATURE_MAPS = {"elu+1": elu_plus_one, "identity": identity, "unit": unit_norm}


def _feature_map(phi):
    if callable(phi):
        return phi
    if phi not in FEATURE_MAPS:
        raise ValueError(f"unknown feature map phi={phi!r}; choose one of {sorted(FEATURE_MAPS)} or pass a function")
    return FEATURE_MAPS[phi]


class LinearAttention(Memory):
    """Fast weights: M_i = sum_{j<=i} v_j phi(k_j)^T and z_i = sum_{j<=i} phi(k_j).

    The read depends on the query: M_i phi(q) / (z_i . phi(q)) with the normaliser, or
    M_i phi(q) without it (`normalise=False`, used to study capacity with phi = identity).
    Without the normaliser no read needs z, so the memory neither keeps it nor counts it in
    its state: d_v d_phi numbers instead of d_v d_phi + d_phi.
    """

    def __init__(self, phi="elu+1", normalise: bool = True) -> None:
        super().__init__()
        self.phi = _feature_map(phi)
        self.normalise = normalise
        self.M: np.ndarray | None = None
        self.z: np.ndarray | None = None

    def _update(self, key, value) -> None:
        f = self.phi(key)
        if self.M is None:
            self.M = np.zeros((value.shape[0], f.shape[0]))
            if self.normalise:
                self.z = np.zeros(f.shape[0])
        self.M += np.outer(value, f)
        if self.normalise:
            self.z += f

    def read(self, query) -> np.ndarray:
        f = self.phi(self._check_query(query))
        out = self.M @ f
        if self.normalise:
            denominator = self.z @ f
            if abs(denominator) < 1e-12:
                raise ValueError("the normaliser z . phi(q) is 0: use a positive feature map such as 'elu+1'")
            out = out / denominator
        return out

    def _state(self) -> dict[str, np.ndarray]:
        if self.M is None:
            return {}
        return {"M": self.M, "z": self.z} if self.normalise else {"M": self.M}


class DeltaRule(Memory):
    """W_i = W_{i-1} + beta (v_i - W_{i-1} phi(k_i)) phi(k_i)^T: write the error, not the value.

    With beta = 1 and unit-length phi(k), storing (k, v) makes W phi(k) = v exactly: a new
    value overwrites the old one instead of piling up on it. Read: W phi(q).
    """

    def __init__(self, beta: float = 1.0, phi="unit") -> None:
        super().__init__()
        self.beta = unit_interval(beta, "beta", closed_left=False, closed_right=True)
        self.phi = _feature_map(phi)
        self.W: np.ndarray | None = None

    def _update(self, key, value) -> None:
        f = self.phi(key)
        if self.W is None:
            self.W = np.zeros((value.shape[0], f.shape[0]))
        with np.errstate(over="ignore", invalid="ignore"):  # a divergence is reported below
            W = self.W + self.beta * np.outer(value - self.W @ f, f)
        if not np.all(np.isfinite(W)):
            self._diverged(f)
        self.W = W

    def _diverged(self, f: np.ndarray) -> None:
        """A write scales the error along phi(k) by 1 - beta ||phi(k)||^2: above 2, it grows."""
        gain = self.beta * float(f @ f)
        raise ValueError(f"the delta rule diverged at position {self.count}: W is no longer finite. "
                         f"beta * ||phi(k)||^2 = {gain:.3g} here; above 2 each write overshoots and the "
                         "error grows. Use phi='unit' (keys of length 1) or a beta below 2 / ||phi(k)||^2")

    def read(self, query) -> np.ndarray:
        return self.W @ self.phi(self._check_query(query))

    def _state(self) -> dict[str, np.ndarray]:
        return {} if self.W is None else {"W": self.W}


def mlp_forward(params: dict, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M(k) = W2 a + b2 with the hidden units a = tanh(W1 k + b1); returns (M(k), a)."""
    hidden = np.tanh(params["W1"] @ key + params["b1"])
    return params["W2"] @ hidden + params["b2"], hidden


def mlp_loss_and_gradients(params: dict, key: np.ndarray, value: np.ndarray) -> tuple[float, dict]:
    """l = ||M(k) - v||^2 and its gradients, written out by hand (backpropagation).

        e = 2 (M(k) - v)                 dl/dW2 = e a^T,     dl/db2 = e
        delta = (W2^T e) * (1 - a^2)     dl/dW1 = delta k^T, dl/db1 = delta
    where a = tanh(W1 k + b1) are the hidden units (tanh' = 1 - tanh^2).
    """
    output, hidden = mlp_forward(params, key)
    error = 2.0 * (output - value)
    delta = (params["W2"].T @ error) * (1.0 - hidden**2)
    grads = {"W1": np.outer(delta, key), "b1": delta, "W2": np.outer(error, hidden), "b2": error}
    return float(np.sum((output - value) ** 2)), grads


class MLPMemory(Memory):
    """A two-layer MLP trained at test time on each new pair (Titans / TTT style).

    For each (k_i, v_i), with the gradient g of ||M(k_i) - v_i||^2:
        S_i = eta S_{i-1} - theta g          (momentum: the "surprise")
        W_i = (1 - alpha) W_{i-1} + S_i      (decay: forgetting)
    The read is M(q). W1 starts random (entries of variance 1/d_k); W2 starts with entries of
    standard deviation output_scale / sqrt(d_hidden): with the default output_scale = 0 an empty
    memory reads 0, as the matrix memories do, instead of a random function of the query that
    every write must first overcome. The defaults are the best of benchmarks/tune_neural.py with
    128 hidden units (associative recall, d = 32, keys of length sqrt(d)).
    With train_first_layer=False only W2 and b2 are trained: the hidden units are then a fixed
    random feature map, which separates what the trained first layer adds.
    """

    def __init__(self, d_hidden: int = 128, theta: float = 0.001, eta: float = 0.2,
                 alpha: float = 0.0, steps: int = 1, seed: int = 0, output_scale: float = 0.0,
                 train_first_layer: bool = True) -> None:
        super().__init__()
        self.d_hidden = positive_int(d_hidden, "d_hidden")
        self.theta = float(theta)
        if not self.theta > 0:
            raise ValueError(f"the learning rate theta must be > 0; got {theta}")
        self.eta = unit_interval(eta, "eta")
        self.alpha = unit_interval(alpha, "alpha")
        self.steps = positive_int(steps, "steps")
        self.output_scale = float(output_scale)
        if not (np.isfinite(self.output_scale) and self.output_scale >= 0):
            raise ValueError(f"output_scale must be a finite number >= 0; got {output_scale}")
        self.trained = ("W1", "b1", "W2", "b2") if train_first_layer else ("W2", "b2")
        self.rng = np.random.default_rng(seed)
        self.params: dict | None = None
        self.momentum: dict | None = None

    def _init_params(self, d_k: int, d_v: int) -> None:
        h = self.d_hidden
        self.params = {
            "W1": self.rng.normal(0, 1 / np.sqrt(d_k), (h, d_k)), "b1": np.zeros(h),
            "W2": self.rng.normal(0, self.output_scale / np.sqrt(h), (d_v, h)), "b2": np.zeros(d_v),
        }
        self.momentum = {name: np.zeros_like(self.params[name]) for name in self.trained}

    def _update(self, key, value) -> None:
        if self.params is None:
            self._init_params(key.shape[0], value.shape[0])
        for _ in range(self.steps):
            _, grads = mlp_loss_and_gradients(self.params, key, value)
            for name in self.trained:
                g = grads[name]
                self.momentum[name] = self.eta * self.momentum[name] - self.theta * g
                self.params[name] = (1 - self.alpha) * self.params[name] + self.momentum[name]

    def read(self, query) -> np.ndarray:
        return mlp_forward(self.params, self._check_query(query))[0]

    def _state(self) -> dict[str, np.ndarray]:
        """The weights, and their momentum S when eta > 0: what the next update and read need.

        With eta = 0 the update S_i = -theta g does not depend on S_{i-1}, so the momentum is
        not carried from one step to the next and is not part of the state.
        """
        if self.params is None:
            return {}
        if self.eta == 0:
            return dict(self.params)
        return {**self.params, **{f"S_{name}": s for name, s in self.momentum.items()}}


class RNNMemory(Memory):
    """An RNN state as memory: r_i = tanh(W_r r_{i-1} + W_k k_i + W_v v_i), with d_hidden units.

    The weights are random and fixed (seeded), with W_r scaled to spectral radius `rho` < 1 so
    that old inputs fade. The read W_o r_i ignores the query: an untrained cell has no way to
    choose what to read; training all four matrices is what makes an RNN useful.
    """

    def __init__(self, d_hidden: int = 64, rho: float = 0.9, seed: int = 0) -> None:
        super().__init__()
        self.d_hidden = positive_int(d_hidden, "d_hidden")
        self.rho = unit_interval(rho, "rho")
        self.rng = np.random.default_rng(seed)
        self.r: np.ndarray | None = None

    def _init_weights(self, d_k: int, d_v: int) -> None:
        d_r = self.d_hidden
        W_r = self.rng.normal(0, 1, (d_r, d_r))
        self.W_r = W_r * self.rho / np.max(np.abs(np.linalg.eigvals(W_r)))
        self.W_k = self.rng.normal(0, 1 / np.sqrt(d_k), (d_r, d_k))
        self.W_v = self.rng.normal(0, 1 / np.sqrt(d_v), (d_r, d_v))
        self.W_o = np.linalg.pinv(self.W_v)  # reads back the value direction of the input
        self.r = np.zeros(d_r)

    def _update(self, key, value) -> None:
        if self.r is None:
            self._init_weights(key.shape[0], value.shape[0])
        self.r = np.tanh(self.W_r @ self.r + self.W_k @ key + self.W_v @ value)

    def read(self, query) -> np.ndarray:
        self._check_query(query)
        return self.W_o @ self.r

    def _state(self) -> dict[str, np.ndarray]:
        return {} if self.r is None else {"r": self.r}
