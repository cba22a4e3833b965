"""Property-based tests (hypothesis) of what every registered env accepts: any input works or is refused clearly.

For every id of ``chaoscontrol.envs.registration.ENV_SPECS`` (a newly registered system is picked up with no edit
here), inputs drawn at random, from ints, floats (NaN, inf, negative, huge), bools, strings, None, lists, dicts and
NumPy arrays of odd shapes and dtypes (complex included), are given as

- constructor keywords, drawn from the signature of the class behind the entry point (``gym.spec(id)``; a factory
  function's own keywords and those of the class it returns), of the single and of the batched env;
- actions of ``step`` (wrong shapes, dtypes and values), single and batched;
- reset options (``u0`` of wrong shapes, dtypes and values, unknown keys).

Each input either works (the env builds, resets, steps and renders, and what it returns is finite and inside its
spaces: no silent NaN) or raises ``ValueError`` or ``TypeError`` whose message names the argument; anything else
(``IndexError``, ``ZeroDivisionError``, a Numba ``TypingError``, ``OverflowError``...) fails.

Inputs are bounded so that an accepted one stays cheap: integers up to 300 besides a few that no int64 holds, resets
to a given ``u0`` (no burn-in) after a constructor input, and a time limit on each (a Python loop over a huge size is
stopped, and fails). Failures found and reported but not yet fixed go in :data:`KNOWN_DEFECTS` (empty today): an
example that hits one is set aside, and each is pinned by a strict xfail, so that its fix shows. The defects of issue 20
(an array as a choice keyword, integers beyond int64, an unbounded Lorenz-96 K) are fixed; their reproductions stay as
regression tests (:data:`REPRODUCTIONS`). The number of inputs tried is printed at the end of the module (``pytest -s``).
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import math
import re
import signal
import typing
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import load_env_creator
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chaoscontrol  # noqa: F401  (registers the envs)
from chaoscontrol.envs.registration import ENV_SPECS

ENV_IDS = sorted(ENV_SPECS)
#: Short burn-ins keep the envs fast (a drawn ``burn_in`` replaces it).
FAST = {"burn_in": 1.0}
#: The refusals allowed, when they name the argument.
REFUSALS = (ValueError, TypeError)
SETTINGS = settings(max_examples=25, deadline=None, database=None, derandomize=True,  # the same inputs every run (CI)
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# ----------------------------------------------------------------------------------------------------- strategies

#: Integers: small ones (an accepted one stays cheap) and some that no int64 holds.
INTS = st.one_of(st.integers(-3, 300), st.sampled_from([0, -1, 2**63, 2**64, -(2**63) - 1, 10**30]))
#: Floats: any (NaN, inf, subnormal, huge), and the usual suspects.
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, 1e-300, 1e300, -1e300, -1.0, 0.5]),
)
WORDS = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["", "human", "rgb_array", "ansi", "C+", "C-", "origin", "sensors", "full", "target", "avoid",
                     "uniform", "complex", "real", "dissipation", "variance", "nope", "0", "nan", "1e400"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, WORDS, st.complex_numbers(max_magnitude=1e3),
                    st.sampled_from([np.float32(np.nan), np.int64(3), np.bool_(True), np.complex128(1 + 2j)]))
DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_, np.complex128,
                          np.complex64])
ARRAYS = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
#: Any value of a keyword.
VALUES = st.one_of(
    SCALARS,
    st.lists(st.one_of(INTS, FLOATS, st.booleans(), st.none(), WORDS), max_size=6),
    st.lists(INTS, max_size=6).map(tuple),
    st.lists(st.lists(FLOATS, max_size=3), max_size=3),
    ARRAYS,
    st.dictionaries(WORDS, INTS, max_size=2),
)


def arrays_like(shape: tuple[int, ...]) -> st.SearchStrategy:
    """Arrays of ``shape`` (often) or of another shape, of any dtype and values, and lists, scalars, strings, None."""
    shapes = st.one_of(st.just(shape), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=max(shape) + 2))
    return st.one_of(
        hnp.arrays(DTYPES, shapes),
        shapes.flatmap(lambda s: hnp.arrays(np.float64, s, elements=FLOATS)),
        shapes.flatmap(lambda s: hnp.arrays(np.complex128, s)),
        st.lists(st.one_of(FLOATS, INTS, st.booleans(), st.none(), WORDS), min_size=0, max_size=max(shape) + 2),
        st.lists(st.lists(FLOATS, min_size=1, max_size=3), max_size=3),
        SCALARS,
        hnp.arrays(object, shapes, elements=st.one_of(FLOATS, WORDS, st.none())),
    )


# ----------------------------------------------------------------------------------------------- the entry points


def _creator(entry_point: Any) -> Callable[..., Any]:
    return load_env_creator(entry_point) if isinstance(entry_point, str) else entry_point


def _target(creator: Any) -> Any:
    """Where a creator's ``**kwargs`` go: the class itself, the ``env_class`` of an entry-point object, or the class a
    factory returns (its return annotation); None if that cannot be told."""
    if hasattr(creator, "env_class"):
        return creator.env_class
    if inspect.isclass(creator):
        return None
    try:
        returned = typing.get_type_hints(creator).get("return")
    except Exception:  # noqa: BLE001 - an annotation that does not resolve: no class to read
        return None
    return returned if inspect.isclass(returned) else None


def _keywords(creator: Any) -> list[str]:
    """The named keywords of ``creator`` and of what its ``**kwargs`` reach, in order, without duplicates."""
    names: list[str] = []
    while creator is not None:
        params = inspect.signature(creator.__init__ if inspect.isclass(creator) else creator).parameters.values()
        names += [p.name for p in params if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                  and p.name not in names]
        creator = _target(creator) if any(p.kind is p.VAR_KEYWORD for p in params) else None
    return names


def single_keywords(env_id: str) -> list[str]:
    """The constructor keywords of the single env of ``env_id``."""
    return _keywords(_creator(gym.spec(env_id).entry_point))


def vector_keywords(env_id: str) -> list[str]:
    """The constructor keywords of the batched env of ``env_id``: its own and the single env's."""
    own = _keywords(_creator(gym.spec(env_id).vector_entry_point))
    return own + [k for k in single_keywords(env_id) if k not in own]


def make_single(env_id: str, **kwargs: Any) -> Any:
    """The env of ``env_id`` straight from its entry point (no checker wrapper: the env's own errors)."""
    spec = gym.spec(env_id)
    return _creator(spec.entry_point)(**{**spec.kwargs, **FAST, **kwargs})


def make_vector(env_id: str, **kwargs: Any) -> Any:
    """The batched env of ``env_id`` straight from its vector entry point."""
    spec = gym.spec(env_id)
    return _creator(spec.vector_entry_point)(**{"num_envs": 2, **spec.kwargs, **FAST, **kwargs})


# --------------------------------------------------------------------------------------------------- the verdicts


class TookTooLong(Exception):
    """An input kept the env busy past the time limit (a loop over a huge size, say)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TookTooLong` in the block after ``seconds`` (Python code only: a loop over ``range(2**64)`` stops,
    a compiled kernel would not; the inputs drawn keep compiled loops short)."""

    def alarm(signum: int, frame: Any) -> None:
        raise TookTooLong(f"took more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Seconds an input may keep an env busy (generous: a loaded machine, a first Numba compilation).
LIMIT_S = 15.0


@dataclass(frozen=True)
class KnownDefect:
    """A failure of the property that was found here and reported, not yet fixed."""

    name: str
    """A short name."""
    pattern: str
    """Regular expression over ``"ExceptionType: message"`` of the failures it explains."""
    where: str
    """Where the fix belongs (reported to its owner)."""


#: The failures found by these tests and reported, not yet fixed. An example that hits one is set aside (``reject``)
#: so that the search goes on for others; each gets reproductions, strict xfails, so that its fix shows (and then its
#: entry here goes). Empty: the three of issue 20 (array-as-a-choice, beyond-int64, unbounded-size) are fixed, and
#: their reproductions are the regression test below.
KNOWN_DEFECTS: tuple[KnownDefect, ...] = ()


def known_defect(exc: BaseException) -> KnownDefect | None:
    """The known defect that explains ``exc``, if any."""
    text = f"{type(exc).__name__}: {exc}"
    return next((d for d in KNOWN_DEFECTS if re.search(d.pattern, text)), None)


def names(message: str, arguments: list[str]) -> bool:
    """Whether ``message`` names one of ``arguments`` (as a whole word)."""
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(a)}(?![A-Za-z0-9_])", message) for a in arguments)


def refused_clearly(exc: BaseException, arguments: list[str]) -> None:
    """An input was refused: it must be a ``ValueError``/``TypeError`` naming one of ``arguments``."""
    assert isinstance(exc, REFUSALS), f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    assert names(str(exc), arguments), f"{type(exc).__name__} does not name {arguments}: {exc}"


def judge(exc: BaseException, arguments: list[str], tried: collections.Counter) -> None:
    """The verdict on a refusal; one that a known defect explains is counted and set aside."""
    defect = known_defect(exc)
    if defect is not None:
        tried[f"known defect {defect.name}"] += 1
        reject()
    refused_clearly(exc, arguments)


def check_outcomes(outcomes: list[tuple[str, Any, Any]], observation_space: Any) -> None:
    """What the env returned (``(what, observation, reward)``, a frame for ``render``) is finite and in its space."""
    for what, obs, reward in outcomes:
        if what == "render":
            assert obs is None or np.all(np.isfinite(np.asarray(obs, dtype=np.float64))), "render: not finite"
            continue
        assert observation_space.contains(obs), f"{what}: observation outside its space: {obs!r}"
        if reward is not None:
            assert np.all(np.isfinite(np.asarray(reward, dtype=np.float64))), f"{what}: reward not finite: {reward!r}"


def exercise(env: Any, batched: bool, rng: np.random.Generator) -> list[tuple[str, Any, Any]]:
    """Reset to a state (zeros: no burn-in), step with zero and random actions, render if asked; what came back."""
    shape = tuple(env.dynamics.field_shape)
    u0 = np.zeros((env.num_envs, *shape) if batched else shape)
    obs, _ = env.reset(seed=0, options={"u0": u0})
    outcomes = [("reset", obs, None)]
    for action in (np.zeros(env.action_space.shape, np.float32), rng.uniform(-1, 1, env.action_space.shape)):
        obs, reward, *_ = env.step(action.astype(np.float32))
        outcomes.append(("step", obs, reward))
    if not batched and env.render_mode is not None:
        outcomes.append(("render", env.render(), None))
    return outcomes


# ----------------------------------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def tried():
    """How many inputs each property tried, and how many a known defect set aside (printed at the end)."""
    counts: collections.Counter = collections.Counter()
    yield counts
    inputs = sum(n for k, n in counts.items() if not k.startswith("known defect"))
    print(f"\nenv property inputs tried: {inputs}; by property and id, and set aside by known defects: "
          f"{dict(sorted(counts.items()))}")


@pytest.fixture(autouse=True)
def quiet():
    """Warnings of odd but accepted inputs (overflow in a blown-up step, a deprecation) are not failures."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def test_every_id_has_keywords_to_draw():
    """The entry point of every id leads to a signature (a new system's factory must be introspectable)."""
    for env_id in ENV_IDS:
        assert {"burn_in", "blowup_threshold"} <= set(single_keywords(env_id)), env_id
        assert "num_envs" in vector_keywords(env_id), env_id


def _keywords_property(tried: collections.Counter, env_id: str, data: Any, batched: bool) -> None:
    keywords = vector_keywords(env_id) if batched else single_keywords(env_id)
    keys = data.draw(st.lists(st.sampled_from(keywords), min_size=1, max_size=2 if batched else 3, unique=True), label="keys")
    kwargs = {k: data.draw(VALUES, label=k) for k in keys}
    tried[f"{env_id} {'vector ' if batched else ''}keywords"] += 1
    try:
        with time_limit(LIMIT_S):
            env = (make_vector if batched else make_single)(env_id, **kwargs)
            outcomes = exercise(env, batched, np.random.default_rng(0))
            env.close()
    except Exception as exc:  # noqa: BLE001 - the verdict is on the exception
        judge(exc, keys, tried)
        return
    check_outcomes(outcomes, env.observation_space)


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_constructor_keywords_work_or_are_refused_naming_them(tried, env_id, data):
    _keywords_property(tried, env_id, data, batched=False)


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(SETTINGS, max_examples=8)
@given(data=st.data())
def test_vector_constructor_keywords_work_or_are_refused_naming_them(tried, env_id, data):
    _keywords_property(tried, env_id, data, batched=True)


@pytest.fixture(scope="module")
def envs():
    """One single and one batched env per id, reset, shared by the examples; a blown-up one is reset again."""
    made = {}
    for env_id in ENV_IDS:
        made[env_id, False], made[env_id, True] = make_single(env_id), make_vector(env_id)
        for env in made[env_id, False], made[env_id, True]:
            env.reset(seed=0)
    return made


def _actions_property(tried: collections.Counter, env: Any, label: str, data: Any) -> None:
    action = data.draw(arrays_like(env.action_space.shape), label="action")
    tried[label] += 1
    try:
        obs, reward, terminated, truncated, _ = env.step(action)
    except Exception as exc:  # noqa: BLE001 - the verdict is on the exception
        judge(exc, ["action", "actions"], tried)
        return
    check_outcomes([("step", obs, reward)], env.observation_space)
    if np.any(terminated) or np.any(truncated):
        env.reset(seed=0)


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_actions_work_or_are_refused_naming_the_action(tried, envs, env_id, data):
    _actions_property(tried, envs[env_id, False], f"{env_id} actions", data)


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(SETTINGS, max_examples=12)
@given(data=st.data())
def test_vector_actions_work_or_are_refused_naming_the_actions(tried, envs, env_id, data):
    _actions_property(tried, envs[env_id, True], f"{env_id} vector actions", data)


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(SETTINGS, max_examples=15)
@given(data=st.data())
def test_reset_options_work_or_are_refused_naming_them(tried, envs, env_id, data):
    env = envs[env_id, False]
    shape = tuple(env.dynamics.field_shape)
    options = data.draw(st.one_of(
        st.fixed_dictionaries({"u0": arrays_like(shape)}),
        st.dictionaries(st.one_of(st.just("u0"), WORDS), arrays_like(shape), max_size=2),
        VALUES,
    ), label="options")
    tried[f"{env_id} reset options"] += 1
    try:
        obs, _ = env.reset(seed=0, options=options)
    except Exception as exc:  # noqa: BLE001 - the verdict is on the exception
        env.reset(seed=0)
        judge(exc, ["options", "u0"], tried)
        return
    check_outcomes([("reset", obs, None)], env.observation_space)


# ------------------------------------------------------------------- the defects of issue 20, fixed: regressions

KS_IDS = [i for i in ENV_IDS if i.startswith("KS-")]


def _frame_skip_beyond_int64(env_id: str) -> None:
    """frame_skip = 2**63 must be refused, or a step must move the state (it once wrapped and did not move)."""
    env = make_single(env_id, frame_skip=2**63)
    env.reset(seed=0, options={"u0": np.full(env.dynamics.field_shape, 0.1)})
    before = env.u
    env.step(np.zeros(env.action_space.shape, np.float32))
    assert not np.array_equal(before, env.u), "frame_skip=2**63 accepted, and a step leaves the state where it was"


#: (defect of issue 20, env id, the arguments the error must name, the call).
REPRODUCTIONS = [
    *[("array-as-a-choice", i, [k], lambda i=i, k=k: make_single(i, **{k: np.array([])}))
      for i in [*KS_IDS, "CGLE-Control-v0"] for k in ("objective", "observe")],
    *[("beyond-int64", i, ["N"], lambda i=i: make_single(i, N=2**63)) for i in [*KS_IDS, "CGLE-Control-v0"]],
    ("beyond-int64", "CGLE-Control-v0", ["L"], lambda: make_single("CGLE-Control-v0", L=2**63)),
    *[("beyond-int64", i, ["render_history"], lambda i=i: make_single(i, render_history=2**63))
      for i in [*KS_IDS, "Lorenz63-Control-v0", "Lorenz96-Control-v0"]],
    *[("beyond-int64", i, ["num_envs"], lambda i=i: make_vector(i, num_envs=2**63)) for i in ENV_IDS],
    *[("beyond-int64", i, ["frame_skip"], lambda i=i: _frame_skip_beyond_int64(i)) for i in ENV_IDS],
    ("unbounded-size", "Lorenz96-Control-v0", ["K"], lambda: make_single("Lorenz96-Control-v0", K=2**64)),
]


@pytest.mark.parametrize(("defect", "env_id", "arguments", "call"), REPRODUCTIONS,
                         ids=[f"{d}-{i}-{'-'.join(a)}" for d, i, a, _ in REPRODUCTIONS])
def test_reported_defect_stays_fixed(defect, env_id, arguments, call):
    """Each reproduction of issue 20 works or is refused naming its argument (a ValueError, within 2 s)."""
    try:
        with time_limit(2.0):
            call()
    except Exception as exc:  # noqa: BLE001 - the verdict is on the exception
        assert isinstance(exc, ValueError), f"{type(exc).__name__}: {exc}"
        refused_clearly(exc, arguments)
