"""The robustness harness: a policy evaluated on the batched env of any registered id under a perturbation at several
levels (``--env``: default the policy's run's, else ``KS-Control-v0``).

``chaoscontrol robustness --policy {zero,random,lqg,...,PATH.zip} --perturbation NAME
--levels 0,0.05,0.1 --episodes N --seed S --out DIR`` writes

- ``DIR/robustness.csv``: one row per episode, columns
  ``level,seed,episode,return,mean_dissipation,blowup``, appended and flushed row
  by row, so an interrupted sweep keeps its rows and ``run_robustness`` resumes
  it (levels already complete are skipped; a partial level is run again and only
  its missing rows are written);
- ``DIR/robustness.png``: return and mean dissipation against the level, mean
  with a 95% confidence band (normal approximation, 1.96 standard errors);
- ``DIR/config.json``: the arguments and the package version; resuming into a
  folder whose sweep had other arguments (other than the levels) is refused.

``mean_dissipation`` is over the steps before a blow-up (NaN if the first step blew up). A system without a
``dissipation`` diagnostic (CGLE, Lorenz-63/96) has ``mean_cost`` (-reward per step, over the same steps) in its
place, in the CSV and the figure.

Episode e of every level starts from the same initial state (env seed S + e),
so the levels are compared on paired initial conditions. All N episodes of a
level run together in one batched env (:func:`~chaoscontrol.envs.registration.make_vector_env`).

One job per module: :mod:`.args` (the arguments' values), :mod:`.level` (the
episodes of one level), :mod:`.csv_rows` (the CSV and its resume), :mod:`.sweep` (the checks of what the arguments refer to, on one template env, and the sweep over the levels),
:mod:`.summary` (per-level means and confidence half-widths), :mod:`.plot` (the figure).
"""

from chaoscontrol.agents.robustness.args import HARNESS_PERTURBATIONS, RobustnessArgs
from chaoscontrol.agents.robustness.csv_rows import CSV_COLUMNS
from chaoscontrol.agents.robustness.level import evaluate_level
from chaoscontrol.agents.robustness.plot import plot_robustness
from chaoscontrol.agents.robustness.summary import summarise
from chaoscontrol.agents.robustness.sweep import run_robustness

__all__ = [
    "CSV_COLUMNS",
    "HARNESS_PERTURBATIONS",
    "RobustnessArgs",
    "evaluate_level",
    "plot_robustness",
    "run_robustness",
    "summarise",
]
