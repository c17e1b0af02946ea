"""A small model trained on multi-query associative recall (MQAR), with each memory as its layer.

    e_t = E[x_t]                                          token embedding, d_model numbers
    q_t = W_q e_t,   k_t = W_k e_{t-1},   v_t = W_v e_t    (e_{-1} = 0)
    o_t = read of the memory of (k_0, v_0) .. (k_t, v_t) with the query q_t
    logits_t = W_o o_t + b_o                              a score for every token

The key of position t comes from the token before it (a token shift; the models of Arora et al.
2023 use a short convolution for the same job), so the pair written at a value token is
(key token, value token): one memory layer can then answer a query by reading that pair back.

Every memory layer is written in batch form (all positions at once) with `autograd.numpy`, so
that `autograd` differentiates it; tests check each against the streaming memory of kvmem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad

from . import tasks
from .cache import FullCache, SlidingWindow
from .checks import positive_int
from .cumavg import CumulativeAverage
from .neural import DeltaRule, LinearAttention
from .stats import mean_and_interval
from .windows import ExponentialAverage

MEMORIES = ("cumavg", "ema", "linear", "linear_identity", "linear_unit", "delta", "gated_delta", "window", "full")

#: Linear attention with three feature maps (phi, normalised read?): the read of Katharopoulos et
#: al. (2020) with phi = elu + 1 and its normaliser; phi(k) = k, the outer-product memory of
#: chapter 6's capacity study (a normaliser z . phi(q) could be 0); phi(k) = k / ||k||, the unit
#: keys of the delta rule, so that linear_unit and delta differ only in what they write.
LINEAR_FEATURE_MAPS = {"linear": ("elu+1", True), "linear_identity": ("identity", False),
                       "linear_unit": ("unit", False)}


# ---- the memory layers: (B, T, d) queries, keys, values -> (B, T, d_v) reads -----------------

def lags(T: int) -> np.ndarray:
    """lag[t, j] = t - j: how far back position j lies from position t (negative: the future)."""
    return np.arange(T)[:, None] - np.arange(T)[None, :]


def decay_weights(T: int, alpha=1.0):
    """D[t, j] = alpha^(t - j) for j <= t and 0 for j > t: the weight of pair j in memory t."""
    lag = lags(T)
    return anp.where(lag >= 0, alpha ** np.maximum(lag, 0), 0.0)


def cumulative_average_layer(values):
    """o_t = (1/(t+1)) sum_{j<=t} v_j: attention over the single averaged pair returns v_bar."""
    T = values.shape[1]
    return (decay_weights(T) / np.arange(1, T + 1)[:, None]) @ values


def exponential_average_layer(values, beta: float):
    """o_t = sum_{j<=t} (1 - beta) beta^(t-j) v_j: the averaged value, whatever the query."""
    return ((1 - beta) * decay_weights(values.shape[1], beta)) @ values


def softmax_attention_layer(queries, keys, values, n_c: int | None = None):
    """o_t = sum_j softmax_j(q_t . k_j / sqrt(d)) v_j over j <= t (full attention), or over the
    last n_c positions t - n_c < j <= t (the sliding window)."""
    lag = lags(keys.shape[1])
    visible = (lag >= 0) if n_c is None else (lag >= 0) & (lag < n_c)
    scores = queries @ anp.swapaxes(keys, 1, 2) / np.sqrt(keys.shape[2])
    scores = anp.where(visible, scores, -np.inf)
    weights = anp.exp(scores - anp.max(scores, axis=2, keepdims=True))
    return (weights / anp.sum(weights, axis=2, keepdims=True)) @ values


def elu_plus_one(x):
    """phi(x) = elu(x) + 1, the feature map of kvmem.LinearAttention."""
    return anp.where(x > 0, x + 1.0, anp.exp(anp.minimum(x, 0.0)))


def feature_map(x, phi: str):
    """phi(x) along the last axis: 'elu+1', 'identity' or 'unit' (x / ||x||), as in kvmem.neural."""
    if phi == "elu+1":
        return elu_plus_one(x)
    if phi == "identity":
        return x
    if phi == "unit":
        return unit_rows(x)
    raise ValueError(f"unknown feature map {phi!r}; choose 'elu+1', 'identity' or 'unit'")


def linear_attention_layer(queries, keys, values, phi: str = "elu+1", normalise: bool = True):
    """o_t = sum_{j<=t} (phi(q_t) . phi(k_j)) v_j = M_t phi(q_t), divided by
    sum_{j<=t} phi(q_t) . phi(k_j) = z_t . phi(q_t) when `normalise`."""
    scores = feature_map(queries, phi) @ anp.swapaxes(feature_map(keys, phi), 1, 2)
    scores = scores * decay_weights(keys.shape[1])  # causal: future pairs weigh 0
    reads = scores @ values
    return reads / anp.sum(scores, axis=2, keepdims=True) if normalise else reads


def unit_rows(x):
    """x / ||x|| along the last axis (kvmem's phi = 'unit'); a zero row stays zero."""
    return x / anp.sqrt(anp.sum(x**2, axis=-1, keepdims=True) + 1e-12)


def delta_rule_layer(queries, keys, values, beta, alpha=1.0):
    """The (gated) delta rule  W_t = alpha W_{t-1} + beta_t (v_t - alpha W_{t-1} k_t) k_t^T,  o_t = W_t q_t,
    with unit keys and queries; alpha = 1 is the delta rule, alpha < 1 the gated delta rule.

    Parallel form: W_t = sum_{j<=t} alpha^(t-j) u_j k_j^T, where the written errors u_t solve the
    lower-triangular system  u_t + beta_t sum_{j<t} alpha^(t-j) (k_j . k_t) u_j = beta_t v_t,
    and then o_t = sum_{j<=t} alpha^(t-j) (k_j . q_t) u_j.  `beta` has shape (B, T).
    """
    keys, queries = unit_rows(keys), unit_rows(queries)
    T = keys.shape[1]
    decay = decay_weights(T, alpha)
    earlier = decay * (lags(T) > 0) * (keys @ anp.swapaxes(keys, 1, 2))  # alpha^(t-j) k_t . k_j, j < t
    system = np.eye(T) + beta[:, :, None] * earlier
    errors = anp.linalg.solve(system, beta[:, :, None] * values)
    return (decay * (queries @ anp.swapaxes(keys, 1, 2))) @ errors


# ---- the model ---------------------------------------------------------------------------

class Dims(NamedTuple):
    d_k: int
    d_v: int
    n_c: int | None  # the window's size in positions; None for the other memories


def memory_dims(name: str, d: int) -> Dims:
    """Sizes that give every fixed-size memory the state of a d x d matrix (d^2 numbers):
    the averaged pairs use d_k = d_v = d^2/2, the window holds n_c = d/2 pairs of 2d numbers."""
    check_memory(name)
    if name in ("cumavg", "ema"):
        return Dims(d * d // 2, d * d // 2, None)
    return Dims(d, d, d // 2 if name == "window" else None)


def check_memory(name: str) -> str:
    if name not in MEMORIES:
        raise ValueError(f"unknown memory {name!r}; choose one of {MEMORIES}")
    return name


@dataclass(frozen=True)
class RecallConfig:
    """One MQAR training run: the task, the model's sizes and the optimiser."""
    n_pairs: int = 8
    vocab_size: int = 80
    d_model: int = 16     # token embeddings
    d: int = 16           # d_k = d_v of the matrix memories (their state is d^2 numbers)
    steps: int = 300
    batch: int = 32
    lr: float = 0.01
    ema_beta: float = 0.9
    n_test: int = 256
    schedule: str = "constant"  # or "cosine": the rate falls from lr to 0 over the steps

    @property
    def n_queries(self) -> int:
        return self.n_pairs

    @property
    def seq_len(self) -> int:
        return 2 * self.n_pairs + self.n_queries

    def sample(self, n_sequences: int, rng) -> tasks.MQAR:
        return tasks.mqar(self.vocab_size, self.n_pairs, self.seq_len, self.n_queries, n_sequences, rng)


def init_params(name: str, config: RecallConfig, rng: np.random.Generator) -> dict:
    """Gaussian weights scaled by 1/sqrt(fan-in), zero biases."""
    d_k, d_v, _ = memory_dims(name, config.d)
    m, vocab = config.d_model, config.vocab_size

    def normal(*shape):
        return rng.normal(0, 1 / np.sqrt(shape[0]), shape)

    params = {"embed": rng.normal(0, 1, (vocab, m)), "W_q": normal(m, d_k), "W_k": normal(m, d_k),
              "W_v": normal(m, d_v), "W_o": normal(d_v, vocab), "b_o": np.zeros(vocab)}
    if name in ("delta", "gated_delta"):
        params |= {"w_beta": np.zeros(m), "b_beta": np.zeros(1)}  # beta_t = sigmoid(e_t . w_beta + b_beta)
    if name == "gated_delta":
        params["a_alpha"] = np.array([3.0])                        # alpha = sigmoid(a_alpha), learned
    return params


def sigmoid(x):
    return 1 / (1 + anp.exp(-x))


def memory_reads(name: str, params: dict, embeddings, config: RecallConfig):
    """o_t for every position: project the embeddings to q, k (shifted by one), v; read the memory."""
    B, _, m = embeddings.shape
    previous = anp.concatenate([np.zeros((B, 1, m)), embeddings[:, :-1]], axis=1)
    queries, keys, values = embeddings @ params["W_q"], previous @ params["W_k"], embeddings @ params["W_v"]
    if name == "cumavg":
        return cumulative_average_layer(values)
    if name == "ema":
        return exponential_average_layer(values, config.ema_beta)
    if name in LINEAR_FEATURE_MAPS:
        return linear_attention_layer(queries, keys, values, *LINEAR_FEATURE_MAPS[name])
    if name in ("window", "full"):
        return softmax_attention_layer(queries, keys, values, memory_dims(name, config.d).n_c)
    beta = sigmoid(embeddings @ params["w_beta"] + params["b_beta"])
    alpha = sigmoid(params["a_alpha"][0]) if name == "gated_delta" else 1.0
    return delta_rule_layer(queries, keys, values, beta, alpha)


def logits(name: str, params: dict, inputs: np.ndarray, config: RecallConfig):
    """logits_t = W_o o_t + b_o, shape (B, T, vocab_size)."""
    reads = memory_reads(name, params, params["embed"][inputs], config)
    return reads @ params["W_o"] + params["b_o"]


def recall_loss(name: str, params: dict, task: tasks.MQAR, config: RecallConfig):
    """Mean cross-entropy -log p(value | sequence so far) over the query positions."""
    rows, cols = np.nonzero(task.targets >= 0)
    scores = logits(name, params, task.inputs, config)[rows, cols]
    top = anp.max(scores, axis=1, keepdims=True)
    log_p = scores - top - anp.log(anp.sum(anp.exp(scores - top), axis=1, keepdims=True))
    return -anp.mean(log_p[np.arange(rows.size), task.targets[rows, cols]])


def recall_accuracy(name: str, params: dict, task: tasks.MQAR, config: RecallConfig) -> float:
    """The fraction of queries whose highest-scoring token is the stored value."""
    rows, cols = np.nonzero(task.targets >= 0)
    guess = np.argmax(logits(name, params, task.inputs, config)[rows, cols], axis=1)
    return float(np.mean(guess == task.targets[rows, cols]))


def learning_rate(lr: float, t: int, steps: int, schedule: str = "constant") -> float:
    """The rate of step t = 1..steps: lr throughout ('constant'), or the cosine decay
    lr (1 + cos(pi (t - 1) / steps)) / 2 from lr at the first step towards 0 at the last ('cosine')."""
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        return lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / steps))
    raise ValueError(f"unknown schedule {schedule!r}; choose 'constant' or 'cosine'")


def adam(loss_and_grad, params: dict, steps: int, lr: float, b1=0.9, b2=0.999, eps=1e-8,
         schedule: str = "constant"):
    """Adam (Kingma and Ba, 2015): steps along the bias-corrected mean gradient, each entry
    scaled by its root-mean-square gradient, at the rate `learning_rate` gives for each step.
    loss_and_grad(params, step) -> (loss, grads)."""
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    losses = []
    for t in range(1, steps + 1):
        loss, grads = loss_and_grad(params, t)
        losses.append(float(loss))
        rate = learning_rate(lr, t, steps, schedule)
        for k, g in grads.items():
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g**2
            params[k] = params[k] - rate * (m[k] / (1 - b1**t)) / (np.sqrt(v[k] / (1 - b2**t)) + eps)
    return params, np.array(losses)


def train(name: str, config: RecallConfig, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Train the model around memory `name` on fresh MQAR batches; return (params, losses)."""
    check_memory(name)
    positive_int(config.steps, "steps")
    rng = np.random.default_rng([seed, 0])  # training stream; the test stream is [seed, 1]
    params = init_params(name, config, rng)
    gradient = value_and_grad(lambda p, task: recall_loss(name, p, task, config))
    return adam(lambda p, t: gradient(p, config.sample(config.batch, rng)), params, config.steps, config.lr,
                schedule=config.schedule)


def held_out_accuracy(name: str, params: dict, config: RecallConfig, seed: int = 0) -> float:
    """Accuracy on n_test sequences from a random stream that training never draws from."""
    return recall_accuracy(name, params, config.sample(config.n_test, np.random.default_rng([seed, 1])), config)


def most_common_value_accuracy(task: tasks.MQAR, n_pairs: int) -> float:
    """The expected accuracy of answering every query with a most frequent value among the stored
    pairs (ties broken uniformly at random): an answer that does not depend on the query."""
    hits = []
    for inputs, targets in zip(task.inputs, task.targets):
        tokens, counts = np.unique(inputs[1:2 * n_pairs:2], return_counts=True)
        modes = tokens[counts == counts.max()]
        asked = targets[targets >= 0]
        hits.append(np.isin(asked, modes) / modes.size)
    return float(np.mean(np.concatenate(hits)))


def query_blind_accuracy(config: RecallConfig, seed: int = 0) -> float:
    """most_common_value_accuracy on the held-out sequences of `held_out_accuracy`."""
    return most_common_value_accuracy(config.sample(config.n_test, np.random.default_rng([seed, 1])), config.n_pairs)


def streaming_twin(name: str, config: RecallConfig, beta: float = 1.0):
    """The kvmem streaming memory that each layer computes in batch form (for the gated delta
    rule: the delta rule, which holds the same d_k x d_v matrix; alpha is a weight, not state)."""
    dims = memory_dims(name, config.d)
    return {
        "cumavg": CumulativeAverage,
        "ema": lambda: ExponentialAverage(config.ema_beta),
        **{name: (lambda phi=phi, normalise=normalise: LinearAttention(phi=phi, normalise=normalise))
           for name, (phi, normalise) in LINEAR_FEATURE_MAPS.items()},
        "delta": lambda: DeltaRule(beta=beta, phi="unit"),
        "gated_delta": lambda: DeltaRule(beta=beta, phi="unit"),
        "window": lambda: SlidingWindow(dims.n_c),
        "full": FullCache,
    }[name]()


def state_size(name: str, config: RecallConfig) -> int:
    """The numbers the memory holds after a whole sequence, counted by kvmem's `state_size`."""
    dims = memory_dims(name, config.d)
    memory = streaming_twin(name, config)
    rng = np.random.default_rng(0)
    for _ in range(config.seq_len):
        memory.update(rng.normal(size=dims.d_k), rng.normal(size=dims.d_v))
    return memory.state_size


def t_interval(samples, level: float = 0.95) -> tuple[float, float]:
    """(mean, half-width) of the t-interval over a 1-D array of n >= 2 samples."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 1:
        raise ValueError(f"a t-interval needs a 1-D array of samples; got shape {samples.shape}")
    mean, half = mean_and_interval(samples, level=level)
    return float(mean), float(half)
