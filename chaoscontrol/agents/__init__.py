"""Stable-Baselines3 training, evaluation, baselines and robustness sweeps. Built in later issues."""
