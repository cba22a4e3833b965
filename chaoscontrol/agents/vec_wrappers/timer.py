"""``VecTimer``: the wall time spent inside the wrapped SB3 ``VecEnv``."""

from __future__ import annotations

import time

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from chaoscontrol.surrogates.threads import torch_threads_kept


class VecTimer(VecEnvWrapper):
    """Accumulates the wall time spent in ``reset`` and ``step`` of the wrapped env (``seconds``) and the steps.

    It also restores torch's thread count after every env call: Numba's OpenMP layer resets it to the
    core count on its first parallel kernel (see :mod:`chaoscontrol.surrogates.threads`), which would
    make a run started with ``OMP_NUM_THREADS=1`` oversubscribe a shared machine.

    :param venv: the env to time (the batched env, at the bottom of the stack).
    """

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.seconds = 0.0
        self.steps = 0

    def _timed(self, fn, *args):
        t0 = time.perf_counter()
        with torch_threads_kept():
            out = fn(*args)
        self.seconds += time.perf_counter() - t0
        return out

    def reset(self):
        return self._timed(self.venv.reset)

    def step_async(self, actions: np.ndarray) -> None:
        self._timed(self.venv.step_async, actions)

    def step_wait(self):
        out = self._timed(self.venv.step_wait)
        self.steps += self.num_envs
        return out


__all__ = ["VecTimer"]
