"""Exercises of chapter 4, Forgetting on purpose."""

import numpy as np

from ..windows import exponential_average
from .spec import Exercise

EXERCISES = [
    Exercise(
        id="4.1", points=2, kind="function", name="ema_weights",
        task="return the weight of each token j = 0..i in the exponential average Mem_i",
        reference=lambda beta, i: (1 - beta) * beta ** (int(i) - np.arange(int(i) + 1)),
        cases=lambda rng: [(float(rng.uniform(0.05, 0.99)), int(rng.integers(0, 60))) for _ in range(3)],
        visible=[(0.5, 3), (0.8, 4), (0.9, 0)],  # beta = 0.8 tells beta from 1 - beta; 0.5 cannot
        wrong="    return (1 - beta) * beta ** np.arange(i + 1)",
    ),
    Exercise(
        id="4.2", points=1, kind="value", name="beta_for_window",
        task="compute the beta whose effective window is n tokens",
        reference=lambda window: 1 - 1 / window,  # inputs: kvmem.variants
        wrong="beta_for_window = 1 / 40",
    ),
    Exercise(
        id="4.3", points=2, kind="function", name="bias_corrected_ema",
        task="return the bias-corrected exponential average of x at every position",
        reference=lambda x, beta: exponential_average(x, x, beta, bias_correction=True)[0],
        cases=lambda rng: [(rng.normal(size=(n, d)), float(rng.uniform(0.1, 0.99))) for n, d in ((20, 3), (1, 2), (60, 1))],
        visible=[(np.arange(8.0).reshape(4, 2), 0.5),
                 (np.array([[1.0, -2.0], [3.0, 0.5], [-1.0, 4.0]]), 0.8)],  # 0.8 tells beta from 1 - beta
        wrong=("    out = np.zeros_like(x, dtype=float)\n"
               "    mem = np.zeros(x.shape[1])\n"
               "    for i in range(len(x)):\n"
               "        mem = beta * mem + (1 - beta) * x[i]\n"
               "        out[i] = mem\n"
               "    return out"),
    ),
    Exercise(
        id="4.4", points=1, kind="choice", name="repetition_fix",
        task="choose the change that stops the generator returning to its first theme, and justify it",
        reference="C",
        options=("A: give the theme vectors a larger dimension d",
                 "B: keep the cumulative average, in float64 instead of float32",
                 "C: replace it by an exponential average whose effective window matches the recent context",
                 "D: lengthen the prompt's first theme so the memory is better estimated"),
        rubric=(("names the mechanism: early tokens hold most of the weight, a forgetting memory lets recent ones dominate", 1),),
        wrong='repetition_fix = "B"\nrepetition_fix_why = "More precision removes the bias."',
    ),
    Exercise(
        id="4.5", points=1, kind="choice", name="emotion_memory",
        task="choose a memory for tracking a speaker's current emotion, and justify it",
        reference="B",
        options=("A: the cumulative average of every utterance so far",
                 "B: a window or exponential average over the last few utterances",
                 "C: the first utterance only",
                 "D: no memory: each utterance alone"),
        rubric=(("names the mechanism: weigh the recent utterances, forget older ones, smooth over single noisy ones", 1),),
        wrong='emotion_memory = "A"\nemotion_memory_why = "All utterances count."',
    ),
    Exercise(
        id="4.6", points=0, kind="experiment", name="plot_topic_shift",
        task="plot how fast exponential averages with three values of beta follow a topic shift",
    ),
    Exercise(
        id="4.7", points=0, kind="written", name="effective_window",
        task="derive why 1/(1 - beta) is the effective window of an exponential average",
        rubric=(("unrolls the recursion to the weight (1 - beta) beta^j of x_{i-j}, and matches the newest "
                 "weight 1 - beta with a window's 1/n_c to get n_c = 1/(1 - beta)", 1),
                ("sums the geometric series: the newest n tokens weigh 1 - beta^n", 1),
                ("takes the limit: beta^(1/(1 - beta)) = exp(ln beta / (1 - beta)) tends to 1/e, so about 63%", 1)),
    ),
]
