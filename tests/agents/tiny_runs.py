"""Budgets of the tiny training runs shared by the agent tests (imported as a sibling module)."""

ENV_KWARGS = {"burn_in": 10.0}
STEPS = 20
NET = {"net_arch": [16, 16]}
PPO_HP = {"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 2, "policy_kwargs": NET}
OFF_HP = {"n_envs": 2, "learning_starts": 50, "buffer_size": 2000, "batch_size": 32, "gradient_steps": 1, "policy_kwargs": NET}


def targs(out, algo: str = "ppo", **kwargs):
    """``AgentTrainArgs`` of a tiny run into ``out`` (192 steps, evaluations and checkpoints every 64)."""
    from chaoscontrol.agents.training import AgentTrainArgs

    base = dict(algo=algo, env_kwargs=dict(ENV_KWARGS), timesteps=192, out=str(out),
                hyperparams=dict(PPO_HP if algo == "ppo" else OFF_HP), max_episode_steps=STEPS, eval_freq=64,
                eval_episodes=2, checkpoint_freq=64, progress=False)
    base.update(kwargs)
    return AgentTrainArgs(**base)
