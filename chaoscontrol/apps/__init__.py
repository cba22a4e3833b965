"""The applications on top of the library: the ``chaoscontrol`` command, the simulation and the demo pipeline.

The top layer: its modules may import every layer below (``agents``, ``baselines``, ``surrogates``, ``envs``,
``solvers`` and the utilities), and no library module imports them.

- :mod:`~chaoscontrol.apps.cli`: the ``chaoscontrol`` command, its subcommands derived from the argument
  dataclasses (:mod:`~chaoscontrol.apps.flags`);
- :mod:`~chaoscontrol.apps.simulate`: ``chaoscontrol simulate``;
- :mod:`~chaoscontrol.apps.pipeline`: ``chaoscontrol demo`` (its arguments in
  :mod:`~chaoscontrol.apps.pipeline_args`, its report in :mod:`~chaoscontrol.apps.pipeline_report`).
"""
