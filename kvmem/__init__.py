"""kvmem: fixed-size memories of keys and values, as taught in the course book.

Every memory has the same small interface (`Memory`): `update(key, value)` stores the newest
pair, `read(query)` answers a query, `state` names the arrays it holds (read-only copies) and
`state_size` counts their numbers. `run` steps a memory through a whole sequence, and with
`record=True` also returns the state after each step.
"""

from .attention import attend, attention_weights, causal_attention, softmax
from .cache import FullCache, SlidingWindow
from .cumavg import CumulativeAverage, RunningMean, cumulative_average, prefix_mean
from .hybrid import InfiniAttention, SummaryWindow
from .influence import influence
from .kv_cache import kv_bytes_per_token, memory_bytes
from .memory import AveragedPair, Memory, Trajectory, run
from .neural import DeltaRule, LinearAttention, MLPMemory, RNNMemory, mlp_loss_and_gradients
from .recurrence import GatedLinearMemory
from .segments import CompressiveMemory, FIFOMemory, KNNMemory, compress_mean_pool
from .serving import HeavyHitters, QuantisedCache, SinkWindow, bytes_held
from .summary_count import CountedSummaryWindow
from .windows import (
    ExponentialAverage,
    WeightedWindowAverage,
    WindowAverage,
    effective_window,
    exponential_average,
    half_life,
    weighted_window_average,
    window_average,
    window_weights,
)

from . import book, experiments, numerics, plots, recurrence, serving, stats, summary_count, tasks, widgets

__version__ = "0.1.0"
