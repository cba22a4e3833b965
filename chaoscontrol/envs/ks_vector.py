"""Batched `KS-Control-v0`: B systems stepped by one Numba kernel call."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from chaoscontrol.envs.ks_control import KSControlEnv
from chaoscontrol.solvers.control import DIAG_MAX_ABS_U, N_DIAG, first_nonfinite_row, ks_control_interval_batch
from chaoscontrol.solvers.diagnostics import rms_distance_rows
from chaoscontrol.solvers.ks import ks_etdrk4_steps_batch
from chaoscontrol.validation import check_int

INFO_KEYS = ("t", "energy", "production", "dissipation", "power", "blowup")


class KSControlVectorEnv(VectorEnv):
    """``num_envs`` independent copies of `KS-Control-v0` advanced together.

    ``gym.make_vec("KS-Control-v0", num_envs=B, vectorization_mode="vector_entry_point", **kwargs)``
    takes every keyword of :class:`~chaoscontrol.envs.ks_control.KSControlEnv`
    (except ``render_mode``) plus ``max_episode_steps`` (400 from the
    registration; None for no limit) and ``autoreset_mode``.

    Each step is one call of
    :func:`~chaoscontrol.solvers.control.ks_control_interval_batch` (parallel
    over blocks of envs, Numba threads); resets that fall on the same step run
    their burn-in together through
    :func:`~chaoscontrol.solvers.ks.ks_etdrk4_steps_batch`. Env i reproduces a
    single `KS-Control-v0` bit for bit: same seeds, same actions, same states,
    rewards, flags and resets as ``gym.make_vec(..., vectorization_mode="sync")``.

    - Actions: ``(B, n_act)``; out-of-range values clipped; NaN/inf or a wrong
      shape raise ``ValueError`` naming the env index, before any env moves.
    - Observations ``(B, n_obs)`` float32; rewards ``(B,)`` float64.
    - ``terminated[i]`` only on a blow-up of env i (``info["blowup"][i]``); the
      others are not disturbed. ``truncated[i]`` at ``max_episode_steps``.
    - ``info``: arrays of shape (B,) for ``t``, ``energy``, ``production``,
      ``dissipation``, ``power``, ``blowup`` (and ``target_distance``), each with
      its Gymnasium mask ``_key``.
    - Autoreset (``metadata["autoreset_mode"]``): ``NEXT_STEP`` (default, as
      Gymnasium's sync vector env: the step after an episode ends resets that env,
      ignores its action and returns reward 0 and the reset info); ``SAME_STEP``
      (ended envs reset at once, the last observation and info in
      ``info["final_obs"]`` / ``info["final_info"]``); ``DISABLED`` (call
      ``reset(options={"reset_mask": mask})`` yourself).
    - Seeding: ``reset(seed=s)`` seeds env i with s + i (a list gives one seed per
      env); ``reset()`` continues each env's own stream, as the single env does.
    - Options: ``{"u0": array (B, N) or (N,)}`` sets the states exactly;
      ``{"reset_mask": bool array (B,)}`` resets only the flagged envs.

    Perturbations in batch (noise, faults): wrap with Gymnasium's
    ``VectorObservationWrapper`` / ``VectorActionWrapper`` (or SB3's
    ``VecEnvWrapper`` over :class:`chaoscontrol.agents.KSVecEnv`), acting on the
    (B, n) arrays with one generator per env derived from the env's reset seed
    (``env.unwrapped.episode_seeds``). With ``NEXT_STEP`` autoreset an env that
    returned ``terminated or truncated`` is reset by the following ``step``; the
    returned ``info["reset"]`` mask flags those envs.
    """

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 400,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ) -> None:
        check_int("num_envs", num_envs)
        if max_episode_steps is not None:
            check_int("max_episode_steps", max_episode_steps)
        try:
            autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError as exc:
            raise ValueError(
                f"autoreset_mode must be one of {[m.value for m in AutoresetMode]}, got {autoreset_mode!r}"
            ) from exc
        if render_mode is not None:
            raise ValueError(f"render_mode is not supported by the batched env (got {render_mode!r}); "
                             "render a single KS-Control-v0 instead")
        self.template = KSControlEnv(**env_kwargs)
        """A single env holding the validated configuration, coefficients and spaces (never stepped)."""
        t = self.template
        self.num_envs = int(num_envs)
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.metadata = {"render_modes": [], "autoreset_mode": autoreset_mode}
        self.render_mode = None
        self.single_observation_space = t.observation_space
        self.single_action_space = t.action_space
        self.observation_space = batch_space(t.observation_space, self.num_envs)
        self.action_space = batch_space(t.action_space, self.num_envs)

        cfg = t.config
        b = self.num_envs
        self._v = np.zeros((b, cfg.n_modes), dtype=np.complex128)
        self._u = np.zeros((b, cfg.N), dtype=np.float64)
        self._diag = np.zeros((b, N_DIAG), dtype=np.float64)
        self._zero_forcing = np.zeros((b, cfg.n_modes), dtype=np.complex128)
        self._t = np.zeros(b)
        self._elapsed = np.zeros(b, dtype=np.int64)
        self._needs_reset = np.zeros(b, dtype=bool)
        self._rngs: list[np.random.Generator | None] = [None] * b
        self.episode_seeds: list[int | None] = [None] * b
        """The seed of each env's generator (set when reset with a seed, or drawn on first use)."""
        self._dt_step = t.frame_skip * cfg.dt
        self._all = np.ones(b, dtype=bool)
        self._last_obs = np.zeros(self.observation_space.shape, dtype=self.observation_space.dtype)

    # ------------------------------------------------------------------ API

    @property
    def u(self) -> np.ndarray:
        """A copy of the full grid states (float64, shape (B, N))."""
        return self._u.copy()

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        b = self.num_envs
        seeds = self._seeds(seed)
        options = {} if options is None else options
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict or None, got {type(options).__name__}")
        unknown = set(options) - {"u0", "reset_mask"}
        if unknown:
            raise ValueError(f"options has unknown keys {sorted(unknown)}; allowed: ['reset_mask', 'u0']")
        mask = options.get("reset_mask")
        if mask is None:
            mask = self._all
        else:
            mask = np.asarray(mask)
            if mask.dtype != bool or mask.shape != (b,):
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({b},), got {mask.dtype} {mask.shape}")
            if not mask.any():
                raise ValueError("options['reset_mask'] must flag at least one env")
        idx = np.flatnonzero(mask)
        u0 = options.get("u0")
        if u0 is not None:
            n = self.template.config.N
            u0 = np.asarray(u0, dtype=np.float64)
            if u0.shape not in ((n,), (b, n)):
                raise ValueError(f"options['u0'] must have shape ({n},) or ({b}, {n}), got {u0.shape}")
            u0 = np.broadcast_to(u0, (b, n))
            checked = []
            for i in idx:  # validate every row before any env changes
                try:
                    checked.append(self.template.parse_reset_options({"u0": u0[i]}))
                except ValueError as exc:
                    raise ValueError(f"env {i}: {exc}") from exc
            u0 = np.array(checked)
        for i in idx:
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i], self.episode_seeds[i] = seeding.np_random(seeds[i])
        obs = self._last_obs.copy()  # envs not reset keep their last observation
        infos = self._reset_envs(idx, u0, obs)
        for key in [k for k in infos if k.startswith("_")]:
            infos[key] = mask.copy()
        self._needs_reset[idx] = False
        self._last_obs = obs.copy()
        return obs, infos

    def step(self, actions):
        b = self.num_envs
        a = np.asarray(actions, dtype=np.float64)
        if a.shape != self.action_space.shape:
            raise ValueError(f"actions must have shape {self.action_space.shape} (num_envs, n_act), got {a.shape}")
        mode = self.metadata["autoreset_mode"]
        resetting = self._needs_reset if mode == AutoresetMode.NEXT_STEP else np.zeros(b, dtype=bool)
        if resetting.any():
            a = a.copy()
            a[resetting] = 0.0  # ignored: these envs are reset below
        t = self.template
        if t._dynamics is not None:  # a learned surrogate instead of the solver
            bad = first_nonfinite_row(a)
            if bad < 0:
                self._u = t._dynamics.advance(self._u, a, t._forcing_basis, t.max_forcing, t._k, self._diag)
                self._v = np.fft.rfft(self._u, axis=-1)
        else:
            bad = ks_control_interval_batch(
                self._v, a, t._forcing_basis, t.max_forcing, t._coeffs, t.frame_skip, t._k, self._u, self._diag
            )
        if bad >= 0:
            raise ValueError(f"actions of env {bad} must be finite (no NaN or inf), got {a[bad]!r}")
        self._t += self._dt_step
        self._elapsed += 1
        rewards, blowup, distance = self._rewards()
        terminated = blowup.copy()
        truncated = (
            self._elapsed >= self.max_episode_steps if self.max_episode_steps is not None else np.zeros(b, dtype=bool)
        )
        obs = self.template.observe_states(self._u, blowup)
        infos = self._step_infos(blowup, distance)
        if t._dynamics is not None and t._dynamics.converged is not None:  # implicit surrogate: one solve for the batch
            infos["surrogate_converged"] = np.full(b, t._dynamics.converged)
            infos["_surrogate_converged"] = self._all.copy()
        ended = terminated | truncated
        if resetting.any():
            idx = np.flatnonzero(resetting)
            self._reset_envs(idx, None, obs, infos)
            rewards[idx] = 0.0
            terminated[idx] = False
            truncated[idx] = False
            ended[idx] = False
        infos["reset"] = resetting.copy()
        if mode == AutoresetMode.NEXT_STEP:
            self._needs_reset = ended
        elif mode == AutoresetMode.SAME_STEP and ended.any():
            idx = np.flatnonzero(ended)
            final_obs = np.full(b, None, dtype=object)
            final_info: dict[str, Any] = {}
            for i in idx:
                final_obs[i] = obs[i].copy()
            for key, value in infos.items():
                final_info[key] = ended.copy() if key.startswith("_") else value.copy()
            self._reset_envs(idx, None, obs, infos)
            infos["final_obs"], infos["_final_obs"] = final_obs, ended.copy()
            infos["final_info"], infos["_final_info"] = final_info, ended.copy()
        self._last_obs = obs.copy()
        return obs, rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        pass

    # ------------------------------------------------------------------ helpers

    def _seeds(self, seed: int | list[int | None] | None) -> list[int | None]:
        b = self.num_envs
        if seed is None:
            return [None] * b
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(b)]
        seeds = list(seed)
        if len(seeds) != b:
            raise ValueError(f"seed must be an int, None or a list of {b} seeds, got {len(seeds)} seeds")
        return seeds

    def _reset_envs(
        self, idx: np.ndarray, u0: np.ndarray | None, obs: np.ndarray, infos: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Reset envs ``idx`` (to ``u0`` rows, or random starts with a joint burn-in); write their obs and info."""
        t = self.template
        if idx.size:
            if u0 is not None:  # validated rows, one per env of idx
                for row, i in enumerate(idx):
                    self._u[i] = u0[row]
                    self._v[i] = np.fft.rfft(self._u[i])
            else:
                v = np.stack([t.random_start(self._rngs[i]) for i in idx])
                if t.burn_in_steps:
                    ks_etdrk4_steps_batch(v, self._zero_forcing[: idx.size], t._coeffs, t.burn_in_steps)
                self._v[idx] = v
                self._u[idx] = np.fft.irfft(v, t.config.N, axis=-1)
            self._t[idx] = 0.0
            self._elapsed[idx] = 0
            obs[idx] = t.observe_states(self._u[idx], True)
        if infos is None:
            infos = self._step_infos(np.zeros(self.num_envs, dtype=bool), None, empty=True)
        for i in idx:
            info = t.reset_info(self._v[i], self._u[i])
            for key, value in info.items():
                infos[key][i] = value
        return infos

    def _rewards(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        t = self.template
        blowup = ~(self._diag[:, DIAG_MAX_ABS_U] <= t.blowup_threshold)
        distance = None
        if t.objective == "dissipation":
            rewards = -(self._diag[:, 2] + self._diag[:, 3])
        else:
            distance = rms_distance_rows(self._u, t.target)
            rewards = -distance
        if blowup.any():
            rewards[blowup] = -t.blowup_penalty
            if distance is not None:
                distance[blowup] = np.inf
        return rewards, blowup, distance

    def _step_infos(self, blowup: np.ndarray, distance: np.ndarray | None, empty: bool = False) -> dict[str, Any]:
        b = self.num_envs
        columns = np.zeros((N_DIAG, b)) if empty else self._diag.T.copy()  # one copy, rows are the info arrays
        infos: dict[str, Any] = {
            "t": np.zeros(b) if empty else self._t.copy(),
            "energy": columns[0],
            "production": columns[1],
            "dissipation": columns[2],
            "power": columns[3],
            "blowup": blowup.copy(),
        }
        if self.template.target is not None:
            infos["target_distance"] = np.zeros(b) if distance is None else distance
        for key in list(infos):
            infos[f"_{key}"] = self._all.copy()
        return infos
