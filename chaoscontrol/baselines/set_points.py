"""The state a linear baseline holds: the env's own target, or a documented default.

- ``target`` an array: that field (checked by :func:`~chaoscontrol.baselines.linearization.linearise`);
- ``target`` None and the env's objective has a target (``objective_fn.target``: KS ``E1``..., Lorenz-63
  ``C+``/``C-``/``origin``, Lorenz-96 ``steady``): that target;
- otherwise (a name, or None with an objective without a target: KS dissipation, Lorenz-96 variance and energy,
  Lorenz-63 avoid) the target that the env itself resolves for ``objective="target", target=name``: the env is
  rebuilt with its dynamics' keywords and that objective, so the names and their errors are the env's own
  (None gives the env's default target: KS E1, Lorenz-63 C+, Lorenz-96 x_i = F);
- a phase-equivariant system (:func:`~chaoscontrol.baselines.phase_frame.phase_symmetry`) whose env has no
  target objective (CGLE: ``uniform`` and ``defects``) gets ``"uniform"``, the uniform unit field A = 1: CGLE's
  uniform oscillation A = e^{-i beta t} at phase 0, a relative equilibrium held in the co-rotating frame.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from chaoscontrol.baselines.phase_frame import phase_symmetry, uniform_unit_field

#: The name of the uniform oscillation of a phase-equivariant system.
UNIFORM = "uniform"


def _env_target(template: Any, name: str | None) -> np.ndarray:
    """The target of ``template``'s env class rebuilt with ``objective="target", target=name`` on the same dynamics."""
    cls = type(template)
    params = inspect.signature(cls).parameters
    if "objective" not in params or "target" not in params:
        raise ValueError(f"{cls.__name__} has no target objective")
    config = getattr(template, "truth", template.dynamics).config_dict()
    kwargs = {k: v for k, v in config.items() if k in params}
    sibling = cls(**kwargs, objective="target", target=name)
    return np.asarray(sibling.objective_fn.target, dtype=np.float64)


def resolve_set_point(template: Any, target: str | np.ndarray | None) -> tuple[np.ndarray, bool]:
    """(u*, relative): the flattened target field and whether it is a relative equilibrium (module docstring).

    :param template: a ``ControlEnv``.
    :param target: None, a name of the env's targets (or ``"uniform"``), or a field.
    :raises ValueError: for a name the env does not know, naming the ones it has.
    """
    relative = phase_symmetry(template)
    shape = tuple(template.dynamics.field_shape)
    if target is not None and not isinstance(target, str):
        return np.asarray(target, dtype=np.float64), relative
    if target is None and getattr(template.objective_fn, "target", None) is not None:
        return np.asarray(template.objective_fn.target, dtype=np.float64).reshape(-1), relative
    if relative and target in (None, UNIFORM):
        return uniform_unit_field(shape), True
    try:
        return _env_target(template, target).reshape(-1), relative
    except ValueError as exc:
        extra = f" or {UNIFORM!r}" if relative else ""
        raise ValueError(f"target={target!r} is not a target of this env{extra}: {exc}") from exc


__all__ = ["UNIFORM", "resolve_set_point"]
