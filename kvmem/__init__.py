"""kvmem: fixed-size memories of keys and values, as taught in the course book.

Every memory has the same small interface (`Memory`): `update(key, value)` stores the newest
pair, `read(query)` answers a query, `state_size` counts the numbers held. `run` steps a memory
through a whole sequence.
"""

from .attention import attend, attention_weights, causal_attention, softmax
from .cache import FullCache, SlidingWindow
from .cumavg import CumulativeAverage, RunningMean, cumulative_average, prefix_mean
from .hybrid import InfiniAttention, SummaryWindow
from .influence import influence
from .kv_cache import kv_bytes_per_token, memory_bytes
from .memory import AveragedPair, Memory, run
from .neural import DeltaRule, LinearAttention, MLPMemory, RNNMemory, mlp_loss_and_gradients
from .segments import CompressiveMemory, FIFOMemory, KNNMemory, compress_mean_pool
from .serving import HeavyHitters, QuantisedCache, SinkWindow, bytes_held
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

from . import book, experiments, numerics, plots, serving, tasks, widgets

__version__ = "0.1.0"
