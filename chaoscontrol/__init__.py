"""chaoscontrol: learning to control chaotic PDEs.

``import chaoscontrol`` registers the environments, so that
``gymnasium.make("KS-Control-v0")`` (or ``"chaoscontrol:KS-Control-v0"``) works.
Sub-packages: ``solvers`` (numerics), ``envs`` (Gymnasium), ``surrogates`` and
``agents`` (torch / Stable-Baselines3, imported only where used).
"""

from importlib.metadata import PackageNotFoundError, version

from chaoscontrol.envs.registration import register_envs

try:
    __version__ = version("chaoscontrol")
except PackageNotFoundError:  # pragma: no cover - source tree without installation
    __version__ = "0.0.0"

register_envs()

__all__ = ["__version__", "register_envs"]
