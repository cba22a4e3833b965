"""Pure numerics: KS coefficients, Numba ETDRK4 kernels, actuation, diagnostics, equilibria.

No gymnasium and no torch are imported here.
"""

from chaoscontrol.solvers.actuation import (
    actuator_centres,
    forcing_basis_spectral,
    forcing_law,
    fourier_interpolation_matrix,
    gaussian_actuator_shapes,
    sensor_positions,
)
from chaoscontrol.solvers.attractor import attractor_rms
from chaoscontrol.solvers.diagnostics import energy_budget, ks_energy_budget
from chaoscontrol.solvers.equilibria import ks_equilibria, ks_equilibrium, ks_residual
from chaoscontrol.solvers.etdrk4 import etdrk4_coefficients
from chaoscontrol.solvers.ks import (
    KSConfig,
    ks_coefficients,
    ks_etdrk4_step_reference,
    ks_etdrk4_steps,
    ks_etdrk4_steps_batch,
    ks_linear_rates,
    to_physical,
    to_spectral,
)
from chaoscontrol.solvers.lyapunov import leading_lyapunov_exponent

__all__ = [
    "KSConfig",
    "actuator_centres",
    "attractor_rms",
    "energy_budget",
    "etdrk4_coefficients",
    "forcing_basis_spectral",
    "forcing_law",
    "fourier_interpolation_matrix",
    "gaussian_actuator_shapes",
    "ks_coefficients",
    "ks_energy_budget",
    "ks_equilibria",
    "ks_equilibrium",
    "ks_etdrk4_step_reference",
    "ks_etdrk4_steps",
    "ks_etdrk4_steps_batch",
    "ks_linear_rates",
    "ks_residual",
    "leading_lyapunov_exponent",
    "sensor_positions",
    "to_physical",
    "to_spectral",
]
