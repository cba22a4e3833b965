"""Training of SB3 agents on the batched env of any registered id (truth or surrogate), with evaluation on the truth
and resumable runs.

``chaoscontrol train --env ID --algo ppo --seed 0 --timesteps 200000 --out runs/ppo`` (``--env``: any registered id,
``KS-Control-v0`` by default) writes the run folder of :mod:`.run_folder` (configuration, checkpoints, evaluations on
the truth, models, timing, status); ``--resume`` continues from the newest readable checkpoint with its replay buffer,
normalisation statistics and step counter, to the (possibly larger) ``timesteps``, without unpickling anything. A
folder that holds a run or other files is refused without ``--resume`` or ``--overwrite``
(:func:`~chaoscontrol.agents.training.checkpoints.check_run_folder`).

One job per module: :mod:`.args` (the arguments, and the checks of what they refer to), :mod:`.run_folder` (the
run folder's files), :mod:`.status` (the heartbeat in ``status.json``, and stopped runs told apart),
:mod:`.checkpoints` (checkpoints and resuming), :mod:`.replay_files` (replay buffers as arrays), :mod:`.signals`
(SIGINT and SIGTERM as Ctrl-C), :mod:`.callback` (checkpoints, evaluations, heartbeat and progress every few env
steps), :mod:`.loop` (the training loop).
"""

from chaoscontrol.agents.training.args import EVAL_SEED_OFFSET, AgentTrainArgs
from chaoscontrol.agents.training.callback import evaluate_on
from chaoscontrol.agents.training.checkpoints import has_checkpoint, save_checkpoint
from chaoscontrol.agents.training.loop import train_agent
from chaoscontrol.agents.training.status import RunStatus, read_status, run_status

__all__ = ["AgentTrainArgs", "EVAL_SEED_OFFSET", "RunStatus", "evaluate_on", "has_checkpoint", "read_status", "run_status",
           "save_checkpoint", "train_agent"]
