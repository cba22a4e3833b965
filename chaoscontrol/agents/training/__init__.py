"""Training of SB3 agents on the batched KS env (truth or surrogate), with evaluation on the truth and resumable runs.

``chaoscontrol train --algo ppo --seed 0 --timesteps 200000 --out runs/ppo`` writes the run folder of
:mod:`.run_folder` (configuration, checkpoints, evaluations on the truth, models, timing, status); ``--resume``
continues from the newest checkpoint with its replay buffer, normalisation statistics and step counter, to the
(possibly larger) ``timesteps``.

One job per module: :mod:`.args` (the arguments, and the checks of what they refer to), :mod:`.run_folder` (the
run folder's files), :mod:`.checkpoints` (checkpoints and resuming), :mod:`.signals` (SIGTERM as Ctrl-C),
:mod:`.callback` (checkpoints, evaluations and progress every few env steps), :mod:`.loop` (the training loop).
"""

from chaoscontrol.agents.training.args import EVAL_SEED_OFFSET, AgentTrainArgs
from chaoscontrol.agents.training.callback import evaluate_on
from chaoscontrol.agents.training.checkpoints import has_checkpoint, save_checkpoint
from chaoscontrol.agents.training.loop import train_agent
from chaoscontrol.agents.training.run_folder import run_status

__all__ = ["AgentTrainArgs", "EVAL_SEED_OFFSET", "evaluate_on", "has_checkpoint", "run_status", "save_checkpoint", "train_agent"]
