"""One recurrence behind every memory: a gated linear memory and three ways to compute it.

The state is a d_v x d_k matrix S. After the pair (k_i, v_i) it is

    S_i = S_{i-1} A_i + beta_i v_i k_i^T,        read: o_i = S_i q_i,

with the transition A_i one of
    alpha_i I                       (a scalar gate: cumulative average, exponential average,
                                     linear attention, RetNet, Mamba-2),
    diag(alpha_i)                   (a gate per key channel: GLA, RWKV-6),
    alpha_i (I - beta_i k_i k_i^T)  (the delta rule with alpha_i = 1; Gated DeltaNet).

Each row of the book's table is a `Row`: how it computes the gates (alpha_i, beta_i) from the
position i and the key k_i, and whether it is a delta rule. The outputs o_0 .. o_{n-1} of a
whole sequence can be computed three ways that give the same numbers:
    recurrent_outputs   one token at a time, O(d_k d_v) per token (what a decoder runs);
    parallel_outputs    a masked, attention-like n x n matrix, O(n^2 d) (what trains in parallel);
    chunkwise_outputs   chunks of C tokens: parallel inside, recurrent across, O(n C d + n d^2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numbers

import numpy as np

from .checks import as_pair_sequences, as_sequence, check_finite_entries, positive_int, unit_interval
from .memory import Memory

# ---------------------------------------------------------------------------------------------
# One step of the recurrence, and the delta rule as a gradient step
# ---------------------------------------------------------------------------------------------


def delta_loss(S: np.ndarray, key: np.ndarray, value: np.ndarray) -> float:
    """L(S) = 1/2 ||S k - v||^2: how badly the memory S recalls v from k."""
    error = S @ key - value
    return 0.5 * float(error @ error)


def delta_gradient(S: np.ndarray, key: np.ndarray, value: np.ndarray) -> np.ndarray:
    """dL/dS = (S k - v) k^T for L(S) = 1/2 ||S k - v||^2."""
    return np.outer(S @ key - value, key)


def gradient_step(S: np.ndarray, key: np.ndarray, value: np.ndarray, beta: float) -> np.ndarray:
    """S - beta dL/dS = S + beta (v - S k) k^T = S (I - beta k k^T) + beta v k^T: the delta rule."""
    return S - beta * delta_gradient(S, key, value)


def titans_transition(key, value, theta: float, eta: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(A_i, B_i) of one Titans step on a linear memory W with momentum Z (Behrouz et al., 2024):

        Z_i = eta Z_{i-1} - theta (W_{i-1} k - v) k^T,     W_i = (1 - alpha) W_{i-1} + Z_i,

    (the gradient of 1/2 ||W k - v||^2 at W_{i-1}) is the recurrence on the joint state [W, Z]
    (d_v x 2 d_k): [W_i, Z_i] = [W_{i-1}, Z_{i-1}] A_i + B_i with

        A_i = [[(1 - alpha) I - theta k k^T,  -theta k k^T],      B_i = theta v [k^T, k^T].
               [eta I,                          eta I      ]],
    """
    key, value = np.asarray(key, dtype=float), np.asarray(value, dtype=float)
    eye, kk = np.eye(key.shape[0]), np.outer(key, key)
    A = np.block([[(1 - alpha) * eye - theta * kk, -theta * kk], [eta * eye, eta * eye]])
    return A, theta * np.outer(value, np.concatenate([key, key]))


def step(S: np.ndarray, key: np.ndarray, value: np.ndarray, alpha, beta: float, delta: bool) -> np.ndarray:
    """S_i from S_{i-1}: decay by the gate alpha_i, then write.

    Without the delta rule: S_i = S_{i-1} diag(alpha_i) + beta_i v_i k_i^T (a scalar alpha_i
    scales the whole matrix). With it: S_i = alpha_i S_{i-1} (I - beta_i k_i k_i^T) + beta_i v_i k_i^T,
    one gradient step on 1/2 ||S k_i - v_i||^2 taken from the decayed state alpha_i S_{i-1}.
    """
    decayed = S * alpha  # alpha of shape (d_k,) scales column c of S: S diag(alpha)
    if delta:
        return gradient_step(decayed, key, value, beta)
    return decayed + beta * np.outer(value, key)


# ---------------------------------------------------------------------------------------------
# The rows of the table
# ---------------------------------------------------------------------------------------------

GateFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Row:
    """A row of the table: gates(positions, keys) -> (alpha, beta) for those positions, where
    alpha has shape (n,) (a scalar gate) or (n, d_k) (a gate per key channel) and beta (n,)."""

    name: str
    gates: GateFn
    delta: bool = False

    def __call__(self, keys) -> tuple[np.ndarray, np.ndarray]:
        """The gates of a whole sequence of keys (positions 0 .. n-1)."""
        keys = as_sequence(keys, "keys")
        return self.gates(np.arange(keys.shape[0]), keys)


def _positive(x, name: str) -> float:
    """Return `x` as a float, requiring a finite x > 0 (a rate or a temperature)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {x!r}")
    return float(x)


def _constant(alpha: float, beta: float) -> GateFn:
    return lambda i, keys: (np.full(len(i), alpha), np.full(len(i), beta))


def cumulative_average() -> Row:
    """alpha_i = i/(i+1), beta_i = 1/(i+1): S_i = (1/(i+1)) sum_{j<=i} v_j k_j^T (chapters 2 and 3).

    With the constant key k_j = 1 (d_k = 1) the state is the average value itself."""
    return Row("cumulative average", lambda i, keys: (i / (i + 1.0), 1.0 / (i + 1.0)))


def exponential_average(lam: float) -> Row:
    """alpha_i = lambda, beta_i = 1 - lambda: chapter 4's exponential average (decay lambda).

    lambda = 0 (keep only the newest pair) is left out: the parallel and chunkwise forms take
    the logarithm of the gates."""
    lam = unit_interval(lam, "lam", closed_left=False)
    return Row(f"exponential average (lambda = {lam:g})", _constant(lam, 1.0 - lam))


def linear_attention() -> Row:
    """alpha_i = 1, beta_i = 1: S_i = sum_{j<=i} v_j k_j^T (Katharopoulos et al., 2020)."""
    return Row("linear attention", _constant(1.0, 1.0))


def retnet(gamma: float) -> Row:
    """alpha_i = gamma, beta_i = 1: a fixed exponential decay (RetNet, Sun et al., 2023)."""
    gamma = unit_interval(gamma, "gamma", closed_left=False, closed_right=True)
    return Row(f"RetNet (gamma = {gamma:g})", _constant(gamma, 1.0))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^{-x})."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x), without overflow."""
    return np.logaddexp(0.0, x)


def _projection(d_k: int, d_out: int, seed: int) -> np.ndarray:
    """A fixed random projection standing in for a trained one (seeded, so rows are repeatable)."""
    return np.random.default_rng(seed).normal(0.0, 1.0 / np.sqrt(d_k), (d_out, d_k))


def gla(d_k: int, tau: float = 16.0, seed: int = 0) -> Row:
    """alpha_i = sigmoid(W k_i)^(1/tau) in (0, 1)^{d_k}, beta_i = 1: a gate per key channel that
    depends on the input (GLA, Yang et al., 2024; tau = 16 as in the paper)."""
    W = _projection(positive_int(d_k, "d_k"), d_k, seed)
    tau = _positive(tau, "tau")
    return Row("GLA", lambda i, keys: (sigmoid(keys @ W.T) ** (1.0 / tau), np.ones(len(i))))


def mamba2(d_k: int, a: float = 1.0, seed: int = 0) -> Row:
    """Delta_i = softplus(w . k_i), alpha_i = exp(-a Delta_i), beta_i = Delta_i: one scalar gate
    that depends on the input (Mamba-2, Dao and Gu, 2024)."""
    w = _projection(positive_int(d_k, "d_k"), 1, seed)[0]
    a = _positive(a, "a")

    def gates(i, keys):
        step_size = softplus(keys @ w)
        return np.exp(-a * step_size), step_size

    return Row("Mamba-2", gates)


def delta_rule(beta: float = 1.0) -> Row:
    """alpha_i = 1 and A_i = I - beta k_i k_i^T: S_i = S_{i-1} + beta (v_i - S_{i-1} k_i) k_i^T
    (Widrow and Hoff, 1960; DeltaNet, Yang et al., 2024). Keys should have unit length."""
    beta = unit_interval(beta, "beta", closed_left=False, closed_right=True)
    return Row(f"delta rule (beta = {beta:g})", _constant(1.0, beta), delta=True)


def gated_deltanet(d_k: int, a: float = 1.0, seed: int = 0) -> Row:
    """alpha_i = exp(-a softplus(w . k_i)) and beta_i = sigmoid(u . k_i), both from the input:
    S_i = alpha_i S_{i-1} (I - beta_i k_i k_i^T) + beta_i v_i k_i^T (Gated DeltaNet, Yang et al., 2025)."""
    w, u = _projection(positive_int(d_k, "d_k"), 2, seed)
    a = _positive(a, "a")

    def gates(i, keys):
        return np.exp(-a * softplus(keys @ w)), sigmoid(keys @ u)

    return Row("Gated DeltaNet", gates, delta=True)


def table_rows(d_k: int) -> list[Row]:
    """One instance of every row of the table, for keys of dimension d_k."""
    return [cumulative_average(), exponential_average(0.9), linear_attention(), retnet(0.95),
            gla(d_k), mamba2(d_k), delta_rule(0.5), gated_deltanet(d_k)]


# ---------------------------------------------------------------------------------------------
# The memory: update and read like every other memory of the book
# ---------------------------------------------------------------------------------------------


class GatedLinearMemory(Memory):
    """The state S (d_v x d_k) of one row of the table, updated one pair at a time.

    update: S_i = S_{i-1} A_i + beta_i v_i k_i^T with the row's gates; read: S_i q.
    """

    def __init__(self, row: Row) -> None:
        super().__init__()
        if not isinstance(row, Row):
            raise ValueError(f"row must be a kvmem.recurrence.Row (such as retnet(0.9)); got {type(row).__name__}")
        self.row = row
        self.S: np.ndarray | None = None

    def _update(self, key, value) -> None:
        alpha, beta = self.row.gates(np.array([self.count]), key[None, :])
        if self.row.delta:
            check_delta_step_sizes(key[None, :], beta)
        if self.S is None:
            self.S = np.zeros((value.shape[0], key.shape[0]))
        self.S = step(self.S, key, value, alpha[0], float(beta[0]), self.row.delta)

    def read(self, query) -> np.ndarray:
        return self.S @ self._check_query(query)

    def _state(self) -> dict[str, np.ndarray]:
        return {} if self.S is None else {"S": self.S}

    @property
    def state_size(self) -> int:
        return 0 if self.S is None else self.S.size


# ---------------------------------------------------------------------------------------------
# Three ways to compute the outputs of a sequence
# ---------------------------------------------------------------------------------------------


def check_inputs(queries, keys, values, alpha, beta, delta: bool):
    """Check shapes and values; return float arrays (queries, keys, values, alpha, beta) with
    alpha of shape (n, 1) for a scalar gate or (n, d_k) for a gate per channel."""
    keys, values = as_pair_sequences(keys, values)
    queries = as_sequence(queries, "queries")
    n, d_k = keys.shape
    if queries.shape != keys.shape:
        raise ValueError(f"queries must have the shape of keys {keys.shape}; got {queries.shape}")
    alpha = np.asarray(alpha, dtype=float)
    beta = np.asarray(beta, dtype=float)
    if alpha.ndim == 1:
        alpha = alpha[:, None]
    if alpha.ndim != 2 or alpha.shape[0] != n or alpha.shape[1] not in (1, d_k):
        raise ValueError(f"alpha must have shape ({n},) or ({n}, {d_k}), one gate per position; got {alpha.shape}")
    if beta.shape != (n,):
        raise ValueError(f"beta must have shape ({n},), one write strength per position; got {beta.shape}")
    check_finite_entries(alpha, "alpha")
    check_finite_entries(beta, "beta")
    if np.any(beta < 0):
        raise ValueError("beta must be >= 0: it is how strongly each pair is written")
    if np.any(alpha < 0) or np.any(alpha > 1) or np.any(alpha[1:] == 0):
        raise ValueError("alpha must lie in (0, 1] (alpha_0 may be 0: it multiplies the empty state)")
    if delta:
        if alpha.shape[1] != 1:
            raise ValueError("the delta rule rows take a scalar gate alpha of shape (n,)")
        check_delta_step_sizes(keys, beta)
    return queries, keys, values, alpha, beta


def check_delta_step_sizes(keys: np.ndarray, beta: np.ndarray) -> None:
    """The delta rule's step beta_i ||k_i||^2 must lie in [0, 2], or the state blows up."""
    step_sizes = beta * np.einsum("ij,ij->i", keys, keys)
    if np.any(step_sizes < 0) or np.any(step_sizes > 2 + 1e-12):
        raise ValueError("the delta rule needs 0 <= beta_i ||k_i||^2 <= 2 (or the state blows up): "
                         "normalise the keys to unit length and take beta in [0, 1]")


def recurrent_outputs(queries, keys, values, alpha, beta, delta: bool = False) -> np.ndarray:
    """o_i = S_i q_i with S_i = step(S_{i-1}, ...): one token at a time, O(n d_k d_v)."""
    queries, keys, values, alpha, beta = check_inputs(queries, keys, values, alpha, beta, delta)
    S = np.zeros((values.shape[1], keys.shape[1]))
    out = np.empty((keys.shape[0], values.shape[1]))
    scalar = alpha.shape[1] == 1
    for i in range(keys.shape[0]):
        S = step(S, keys[i], values[i], alpha[i, 0] if scalar else alpha[i], beta[i], delta)
        out[i] = S @ queries[i]
    return out


def log_decay(alpha: np.ndarray) -> np.ndarray:
    """l_i = sum_{m=1}^{i} log alpha_m, so that prod_{m=j+1}^{i} alpha_m = exp(l_i - l_j).

    alpha_0 multiplies the empty state S_{-1} = 0, so it never matters and is left out."""
    return np.cumsum(np.log(without_first_gate(alpha)), axis=0)


def without_first_gate(alpha: np.ndarray) -> np.ndarray:
    """A copy of alpha with alpha_0 = 1: alpha_0 multiplies S_{-1} = 0, so its value never matters."""
    alpha = np.array(alpha, dtype=float)
    alpha[0] = 1.0
    return alpha


def decayed_scores(queries, keys, lq, lk, first_query: int = 0) -> np.ndarray:
    """P_ij = sum_c q_ic k_jc exp(lq_ic - lk_jc) for j <= first_query + i, else 0.

    With a scalar gate (lq, lk of shape (., 1)) this is D_ij (q_i . k_j), where D_ij is the
    product of the gates between j and i; with a gate per channel each channel decays on its own
    (O(rows x cols x d_k) memory). Leading batch dimensions (one per chunk) are allowed."""
    rows, cols = queries.shape[-2], keys.shape[-2]
    future = np.arange(cols)[None, :] > first_query + np.arange(rows)[:, None]
    if lq.shape[-1] == 1:
        exponent = lq - np.swapaxes(lk, -1, -2)
        exponent[..., future] = -np.inf  # before the exp, so that exp never overflows
        return np.exp(exponent) * (queries @ np.swapaxes(keys, -1, -2))
    exponent = lq[..., :, None, :] - lk[..., None, :, :]
    exponent[..., future, :] = -np.inf
    return np.einsum("...ic,...jc,...ijc->...ij", queries, keys, np.exp(exponent))


def delta_system(keys, beta, decay) -> np.ndarray:
    """I + diag(beta) strict_lower(D * K K^T): the delta rule's writes u_i = beta_i (v_i - alpha_i S_{i-1} k_i)
    solve this lower-triangular system, since alpha_i S_{i-1} k_i = sum_{j<i} D_ij (k_i . k_j) u_j."""
    C = keys.shape[-2]
    system = decay * (keys @ np.swapaxes(keys, -1, -2)) * np.tri(C, k=-1) * beta[..., :, None]
    return system + np.eye(C)


def parallel_outputs(queries, keys, values, alpha, beta, delta: bool = False, block: int | None = None) -> np.ndarray:
    """O = (D * Q K^T) U with D_ij = prod_{m=j+1}^{i} alpha_m for j <= i (else 0) and U = diag(beta) V.

    The masked matrix plays the role of the attention matrix: O(n^2 d) time. For the delta rule
    U solves a triangular n x n system (`delta_system`; numpy has no triangular solver, so
    this costs O(n^3) here). With `block`, the masked matrix is built `block` query rows at a
    time, so that its memory stays O(block x n); the work is the same.

    The pairs j <= i that output i sums over are all there at once: no state is carried."""
    queries, keys, values, alpha, beta = check_inputs(queries, keys, values, alpha, beta, delta)
    n = keys.shape[0]
    logs = log_decay(alpha)
    if delta:
        decay = decayed_scores(np.ones((n, 1)), np.ones((n, 1)), logs, logs)  # D itself
        U = np.linalg.solve(delta_system(keys, beta, decay), beta[:, None] * values)
    else:
        U = beta[:, None] * values
    block = n if block is None else positive_int(block, "block")
    out = np.empty((n, values.shape[1]))
    for start in range(0, n, block):
        stop = min(start + block, n)
        scores = decayed_scores(queries[start:stop], keys[:stop], logs[start:stop], logs[:stop], start)
        out[start:stop] = scores @ U[:stop]
    return out


def chunkwise_outputs(queries, keys, values, alpha, beta, delta: bool = False, chunk: int = 64,
                      group: int = 16) -> np.ndarray:
    """Chunks of C tokens: the parallel form inside a chunk, the recurrence across chunks.

    For position r = 0 .. C-1 of chunk t, which starts from the state S_[t] left by the chunks
    before it, with g_r = alpha_{tC} ... alpha_{tC+r} the product of the chunk's gates up to r
    (gain) and u_s = beta_s v_s (or the delta rule's writes):
        o_r     = g_r S_[t] q_r + sum_{s<=r} (g_r / g_s) (q_r . k_s) u_s,
        S_[t+1] = g_{C-1} S_[t] + sum_s (g_{C-1} / g_s) u_s k_s^T.
    With a gate per channel, g_r is a vector and the ratios scale the key channels.
    Everything except the n/C steps S_[t] -> S_[t+1] is done for `group` chunks at once (a
    group's temporaries, group x C x C numbers, stay small enough to be cached and reused).
    Time O(n C d + n d^2)."""
    queries, keys, values, alpha, beta = check_inputs(queries, keys, values, alpha, beta, delta)
    n = keys.shape[0]
    C = min(positive_int(chunk, "chunk"), n)
    group = positive_int(group, "group")
    Q, K, V, alpha, beta = to_chunks(C, queries, keys, values, without_first_gate(alpha), beta)
    out = np.empty_like(V)
    S = np.zeros((V.shape[2], K.shape[2]))
    for first in range(0, Q.shape[0], group):
        g = slice(first, first + group)
        out[g], S = chunk_group(Q[g], K[g], V[g], alpha[g], beta[g], delta, S)
    return out.reshape(-1, V.shape[2])[:n]


def chunk_group(Q, K, V, alpha, beta, delta: bool, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs of consecutive chunks (arrays of shape (chunks, C, .)) that start from the state
    S, and the state after the last of them: `chunkwise_outputs`' formulas."""
    logs = np.cumsum(np.log(alpha), axis=1)          # log g_r inside each chunk
    gain = np.exp(logs)                               # g_r
    to_end = np.exp(logs[:, -1:, :] - logs)           # g_{C-1} / g_s
    writes = beta[..., None] * V                      # beta_s v_s
    if delta:
        # u = T (beta V) - T (beta g K) S^T with T the inverse of the delta system: the part that
        # needs the chunk's incoming state S is one matrix product inside the loop.
        system = delta_system(K, beta, decayed_scores(np.ones_like(logs), np.ones_like(logs), logs, logs))
        solved = np.linalg.solve(system, np.concatenate([writes, beta[..., None] * gain * K], axis=2))
        writes, state_part = solved[..., : V.shape[2]], solved[..., V.shape[2]:]
    states = np.empty((Q.shape[0],) + S.shape)        # S_[t], the state before chunk t
    U = np.empty_like(V)
    for t in range(Q.shape[0]):                       # the only sequential part: one step per chunk
        states[t] = S
        U[t] = writes[t] - state_part[t] @ S.T if delta else writes[t]
        S = S * gain[t, -1] + U[t].T @ (K[t] * to_end[t])
    out = (Q * gain) @ np.swapaxes(states, 1, 2) + decayed_scores(Q, K, logs, logs) @ U
    return out, S


def to_chunks(C: int, queries, keys, values, alpha, beta) -> tuple[np.ndarray, ...]:
    """Arrays of shape (n/C, C, .): the sequence cut into chunks, the last one padded with
    positions that change nothing (zero query, key and value, alpha = 1, beta = 0)."""
    pad = -keys.shape[0] % C

    def cut(x, fill):
        x = np.concatenate([x, np.full((pad,) + x.shape[1:], fill)]) if pad else x
        return x.reshape((-1, C) + x.shape[1:])

    return cut(queries, 0.0), cut(keys, 0.0), cut(values, 0.0), cut(alpha, 1.0), cut(beta, 0.0)


FORMS = {"recurrent": recurrent_outputs, "parallel": parallel_outputs, "chunkwise": chunkwise_outputs}


def outputs(row: Row, queries, keys, values, form: str = "chunkwise", **options) -> np.ndarray:
    """o_0 .. o_{n-1} of a row of the table, computed in the named form."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {sorted(FORMS)}; got {form!r}")
    alpha, beta = row(keys)
    return FORMS[form](queries, keys, values, alpha, beta, row.delta, **options)


def pair_weights(alpha, beta) -> np.ndarray:
    """W_ij = beta_j prod_{m=j+1}^{i} alpha_m (j <= i, else 0): the weight of pair j in S_i for a
    scalar gate without the delta rule, S_i = sum_j W_ij v_j k_j^T. For the cumulative average
    the product telescopes to 1/(i+1) (chapter 3)."""
    alpha = np.asarray(alpha, dtype=float).reshape(-1, 1)
    beta = np.asarray(beta, dtype=float)
    n = alpha.shape[0]
    logs = log_decay(alpha)
    return decayed_scores(np.ones((n, 1)), np.ones((n, 1)), logs, logs) * beta[None, :]


# ---------------------------------------------------------------------------------------------
# The associative operator: the recurrence as a scan
# ---------------------------------------------------------------------------------------------


def combine(earlier: tuple, later: tuple) -> tuple:
    """(A, B) o (A', B') = (A A', B A' + B'): two steps S -> S A + B done as one.

    The operator is associative, so a scan (a parallel prefix computation) can evaluate
    S_i = (A_0, B_0) o ... o (A_i, B_i) in O(log n) rounds on enough cores. With A = 1 it is the
    prefix sum of chapter 2."""
    A, B = earlier
    A2, B2 = later
    return A @ A2, B @ A2 + B2


def transitions(keys, values, alpha, beta, delta: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """(A_i, B_i) for each position: S_i = S_{i-1} A_i + B_i, as explicit d_k x d_k and d_v x d_k matrices."""
    keys, values = as_pair_sequences(keys, values)
    alpha = np.asarray(alpha, dtype=float)
    d_k = keys.shape[1]
    steps = []
    for i in range(keys.shape[0]):
        A = np.eye(d_k) * alpha[i]  # alpha_i I, or diag(alpha_i) for a gate per channel
        if delta:
            A = A @ (np.eye(d_k) - beta[i] * np.outer(keys[i], keys[i]))
        steps.append((A, beta[i] * np.outer(values[i], keys[i])))
    return steps


def scan(steps: list, op=combine) -> list:
    """Inclusive prefix 'sums' x_0, x_0 o x_1, ... with an associative op, the way a parallel scan
    does it (Hillis and Steele): in round r every element combines with the one 2^r places
    before it, so there are ceil(log2 n) rounds of independent work."""
    prefix = list(steps)
    offset = 1
    while offset < len(prefix):
        prefix = [prefix[i] if i < offset else op(prefix[i - offset], prefix[i]) for i in range(len(prefix))]
        offset *= 2
    return prefix
