"""Exercise 4: update rules (``optim.py``, CS231n's interface).

Each rule ``update(w, dw, config=None) -> (next_w, config)`` is graded on one
step from the defaults (``config=None``: CS231n's default hyperparameters,
zero state, and Adam's first step with t = 1), one step from a given mid-run
state (non-default hyperparameters, random state), the new state stored in
the returned config, and ten chained steps.

Chaining: the first step gets a config holding only the hyperparameters (the
rule must create its state with ``setdefault``); every later step gets the
config the student's previous step returned. That config comes back from the
sandbox as a dict whose scalars are 0-d arrays: they are turned back into
Python numbers before the next call, so the student's code sees what it
stored, as with CS231n's ``Solver``. A rule that does not store its state,
or returns a new dict without the hyperparameters, ends at another w.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.checks.base import HIDDEN, VISIBLE, Check, CheckFailed, Exercise
from autograder.checks.compare import Suspect, as_array, as_scalar, as_tuple, assert_close
from autograder.checks.session import Session
from autograder.results import Status

VISIBLE_SHAPE = (4, 5)
"""Shape of w in the visible checks: two dimensions, not square."""

STEPS = 10
"""Steps of the chained check: enough for Adam's bias correction to change
by a factor of ten, few enough to cost 10 ms."""

GRADIENT_DECADES = (-4.0, 0.0)
"""log10 range of the gradients' magnitudes: from 1e-4, the square roots of
the squared-gradient averages get close to epsilon, so epsilon's place
(inside or outside the square root) changes the step."""

SECOND_MOMENT_DECADES = (-8.0, 0.0)
"""log10 range of a mid-run state's squared-gradient averages (``cache``,
``v``): their square roots go down to 1e-4, the visible epsilon."""

VISIBLE_HYPERPARAMETERS: dict[str, dict[str, float]] = {
    "sgd_momentum": {"learning_rate": 0.05, "momentum": 0.8},
    "rmsprop": {"learning_rate": 0.02, "decay_rate": 0.9, "epsilon": 1e-4},
    "adam": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-4},
}
"""Hyperparameters of the visible mid-run and chained checks: none is a
default, so a rule that ignores config fails."""

VISIBLE_T = 4
"""Adam's step count in the visible mid-run state: the step uses t = 5, where
the bias correction 1 / (1 - 0.99**5) is about 20."""

HIDDEN_LOG_RANGES = {"learning_rate": (-4.0, -1.0), "epsilon": (-8.0, -3.0)}
"""log10 ranges of the hidden checks' scale hyperparameters."""

HIDDEN_RANGES = {
    "momentum": (0.5, 0.99),
    "decay_rate": (0.9, 0.999),
    "beta1": (0.8, 0.95),
    "beta2": (0.99, 0.9999),
}
"""Ranges of the hidden checks' decay hyperparameters: the values used in practice."""

HIDDEN_MAX_T = 1000
"""Adam's step count of a hidden mid-run state is drawn in [1, HIDDEN_MAX_T)."""


@dataclass(frozen=True)
class Rule:
    """One update rule.

    Attributes
    ----------
    name : str
        Function name in ``optim.py``.
    state : tuple of str
        Keys of the config the rule updates at every step.
    hint : str
        The formula, and where the usual bugs are.
    """

    name: str
    state: tuple[str, ...]
    hint: str


RULES = (
    Rule(
        "sgd_momentum",
        ("velocity",),
        "v = momentum * v - learning_rate * dw, then next_w = w + v: apply the learning rate, and "
        "update v before moving w",
    ),
    Rule(
        "rmsprop",
        ("cache",),
        "cache = decay_rate * cache + (1 - decay_rate) * dw**2, then next_w = w - learning_rate * dw "
        "/ (np.sqrt(cache) + epsilon): the square root of the cache, epsilon outside it",
    ),
    Rule(
        "adam",
        ("m", "v", "t"),
        "increment t first (the first step uses t = 1; with t = 0, 1 - beta1**t is 0 and the step is "
        "inf or NaN); update m and v; bias-correct mhat = m / (1 - beta1**t), vhat = v / (1 - beta2**t); "
        "next_w = w - learning_rate * mhat / (np.sqrt(vhat) + epsilon), epsilon outside the square root",
    ),
)

NOT_STORED = (
    "store the new state in the config you return (config['m'] = m, ...) and return the config you "
    "were given, hyperparameters included: the next step continues from it"
)


# -- inputs ---------------------------------------------------------------------------


def gradient(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A gradient whose magnitudes span ``GRADIENT_DECADES``, ndarray of ``shape``."""
    return rng.choice([-1.0, 1.0], size=shape) * 10 ** rng.uniform(*GRADIENT_DECADES, size=shape)


def hyperparameters(rule: Rule, rng: np.random.Generator, visibility: str) -> dict[str, float]:
    """The visible hyperparameters of ``rule``, or random ones for hidden checks."""
    visible = VISIBLE_HYPERPARAMETERS[rule.name]
    if visibility == VISIBLE:
        return dict(visible)
    return {
        key: float(10 ** rng.uniform(*HIDDEN_LOG_RANGES[key]))
        if key in HIDDEN_LOG_RANGES
        else float(rng.uniform(*HIDDEN_RANGES[key]))
        for key in visible
    }


def mid_run_state(
    rule: Rule, rng: np.random.Generator, shape: tuple[int, ...], visibility: str
) -> dict[str, Any]:
    """A state as after some steps: moving averages of gradients and of their squares, and t."""
    state: dict[str, Any] = {}
    for key in rule.state:
        if key == "t":
            state[key] = VISIBLE_T if visibility == VISIBLE else int(rng.integers(1, HIDDEN_MAX_T))
        elif key in ("cache", "v"):
            state[key] = 10 ** rng.uniform(*SECOND_MOMENT_DECADES, size=shape)
        else:
            state[key] = rng.normal(scale=0.1, size=shape)
    return state


def step_inputs(
    rule: Rule, rng: np.random.Generator, start: str, visibility: str
) -> tuple[np.ndarray, np.ndarray, dict[str, Any] | None]:
    """``w``, ``dw`` and the config of one step: ``None`` from the defaults, else a mid-run config."""
    if visibility == VISIBLE:
        shape = VISIBLE_SHAPE
    else:
        shape = tuple(int(n) for n in rng.integers(1, 7, size=int(rng.integers(1, 4))))
    w, dw = rng.normal(size=shape), gradient(rng, shape)
    if start == "defaults":
        return w, dw, None
    return w, dw, {**hyperparameters(rule, rng, visibility), **mid_run_state(rule, rng, shape, visibility)}


def fresh_state(rule: Rule, w: np.ndarray) -> dict[str, Any]:
    """The state before the first step, as documented: zeros, and t = 0."""
    return {key: 0 if key == "t" else np.zeros_like(w) for key in rule.state}


def as_python(config: dict[str, Any]) -> dict[str, Any]:
    """A returned config as the student stored it: its 0-d arrays back to Python numbers."""
    return {
        key: value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value
        for key, value in config.items()
    }


def describe(config: dict[str, Any] | None) -> str:
    """How a step's config is shown in messages: its scalars, and the names of its arrays."""
    if config is None:
        return "with config=None"
    scalars = ", ".join(f"{key}={value:g}" for key, value in config.items() if np.isscalar(value))
    arrays = ", ".join(key for key, value in config.items() if isinstance(value, np.ndarray))
    return f"with config ({scalars}" + (f"; arrays {arrays}" if arrays else "") + ")"


# -- student and reference -----------------------------------------------------------------


def student_step(
    session: Session, rule: str, w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Call the student's ``rule`` and validate ``(next_w, config)``."""
    got = as_tuple(f"{rule}(w, dw, config)", session.call(rule, w, dw, config), 2)
    next_w = as_array(f"next_w of {rule} {describe(config)}", got[0], w.shape, kinds="f")
    if not isinstance(got[1], dict):
        shown = "None" if got[1] is None else f"a {type(got[1]).__name__}"
        raise CheckFailed(f"config returned by {rule}", "a dict", shown, status=Status.INVALID_OUTPUT)
    return next_w, got[1]


def reference_step(
    session: Session, rule: str, w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The reference's ``(next_w, config)``, on copies (the reference updates config in place)."""
    return getattr(session.reference, rule)(w.copy(), dw.copy(), copy.deepcopy(config))


def reference_chain(
    session: Session,
    rule: str,
    w: np.ndarray,
    dws: list[np.ndarray],
    hyper: dict[str, float],
    keeps: Callable[[str], bool] = lambda key: True,
) -> np.ndarray:
    """w after the reference's chained steps.

    Each step gets the keys of the previous step's config that ``keeps``
    accepts (all of them when the rule is right; fewer to reproduce a bug).
    """
    config: dict[str, Any] = dict(hyper)
    for dw in dws:
        w, returned = reference_step(session, rule, w, dw, config)
        config = {key: value for key, value in returned.items() if keeps(key)}
    return w


def reference_defaults(session: Session, rule: Rule, w: np.ndarray) -> dict[str, Any]:
    """The hyperparameters the reference fills in when given ``config=None``."""

    def defaults() -> dict[str, Any]:
        _, filled = reference_step(session, rule.name, w, np.zeros_like(w), None)
        return {key: value for key, value in filled.items() if key not in rule.state}

    return session.expected("defaults", defaults)


def before_step(session: Session, rule: Rule, w: np.ndarray, config: dict[str, Any] | None) -> dict[str, Any]:
    """The full config a step starts from: the given one, or the reference's defaults and zero state."""
    if config is not None:
        return config
    return {**reference_defaults(session, rule, w), **fresh_state(rule, w)}


# -- known bugs ----------------------------------------------------------------------------


def sgd_momentum_bugs(w: np.ndarray, dw: np.ndarray, c: dict[str, Any]) -> list[Suspect]:
    """What the usual momentum bugs return."""
    lr, mu, v = c["learning_rate"], c["momentum"], c["velocity"]
    return [
        ("the learning rate is never applied (v = momentum * v - dw)", lambda: w + mu * v - dw),
        ("w moves by the old velocity (next_w = w + v before v is updated)", lambda: w + v),
        ("the step goes up the gradient (+ learning_rate * dw)", lambda: w + mu * v + lr * dw),
    ]


def rmsprop_bugs(w: np.ndarray, dw: np.ndarray, c: dict[str, Any]) -> list[Suspect]:
    """What the usual RMSProp bugs return."""
    lr, decay, eps = c["learning_rate"], c["decay_rate"], c["epsilon"]
    cache = decay * c["cache"] + (1 - decay) * dw**2
    swapped = (1 - decay) * c["cache"] + decay * dw**2
    return [
        ("the square root is missing: dw / (cache + epsilon)", lambda: w - lr * dw / (cache + eps)),
        (
            "epsilon is inside the square root: np.sqrt(cache + epsilon)",
            lambda: w - lr * dw / np.sqrt(cache + eps),
        ),
        ("the learning rate is never applied", lambda: w - dw / (np.sqrt(cache) + eps)),
        ("decay_rate and 1 - decay_rate are swapped", lambda: w - lr * dw / (np.sqrt(swapped) + eps)),
        ("the step uses the cache from before the update", lambda: w - lr * dw / (np.sqrt(c["cache"]) + eps)),
    ]


def adam_bugs(w: np.ndarray, dw: np.ndarray, c: dict[str, Any]) -> list[Suspect]:
    """What the usual Adam bugs return."""
    lr, beta1, beta2, eps = c["learning_rate"], c["beta1"], c["beta2"], c["epsilon"]
    m = beta1 * c["m"] + (1 - beta1) * dw
    v = beta2 * c["v"] + (1 - beta2) * dw**2

    def corrected(t: int) -> tuple[np.ndarray, np.ndarray]:
        return m / (1 - beta1**t), v / (1 - beta2**t)

    mhat, vhat = corrected(c["t"] + 1)
    bugs: list[Suspect] = [
        (
            "no bias correction: m and v are used instead of m / (1 - beta1**t) and v / (1 - beta2**t)",
            lambda: w - lr * m / (np.sqrt(v) + eps),
        ),
        (
            "epsilon is inside the square root: np.sqrt(vhat + epsilon)",
            lambda: w - lr * mhat / np.sqrt(vhat + eps),
        ),
        ("the square root is missing: mhat / (vhat + epsilon)", lambda: w - lr * mhat / (vhat + eps)),
        ("the learning rate is never applied", lambda: w - mhat / (np.sqrt(vhat) + eps)),
    ]
    if c["t"] > 0:
        stale_m, stale_v = corrected(c["t"])
        bugs.append(
            (
                "t is used before it is incremented (or never incremented): the bias correction "
                "uses the previous step's t",
                lambda: w - lr * stale_m / (np.sqrt(stale_v) + eps),
            )
        )
    return bugs


STEP_BUGS: dict[str, Callable[[np.ndarray, np.ndarray, dict[str, Any]], list[Suspect]]] = {
    "sgd_momentum": sgd_momentum_bugs,
    "rmsprop": rmsprop_bugs,
    "adam": adam_bugs,
}


def lost_state(rule: Rule) -> list[tuple[str, Callable[[str], bool]]]:
    """Ways a returned config loses part of the state, or the hyperparameters: description, keys kept."""
    ways: list[tuple[str, Callable[[str], bool]]] = []
    for size in range(len(rule.state), 0, -1):
        for lost in itertools.combinations(rule.state, size):
            keys = " and ".join(f"config['{key}']" for key in lost)
            note = " (every step uses t = 1)" if "t" in lost else ""
            ways.append((f"{keys} never stored back{note}", lambda key, lost=lost: key not in lost))
    ways.append(
        (
            "the returned config is a new dict holding only the state, so later steps use the "
            "default hyperparameters",
            lambda key: key in rule.state,
        )
    )
    return ways


def chain_bugs(
    session: Session, rule: Rule, w: np.ndarray, dws: list[np.ndarray], hyper: dict[str, float]
) -> list[Suspect]:
    """The final w of chains whose returned config loses something, as suspects.

    Computed before any comparison through ``session.expected``, so that a
    student release, which has no reference, finds them in its store.
    """

    def compute() -> list[tuple[str, np.ndarray]]:
        defaults = reference_defaults(session, rule, w)
        return [
            (text, reference_chain(session, rule.name, w, dws, hyper, keeps))
            for text, keeps in lost_state(rule)
        ] + [
            (text, reference_chain(session, rule.name, w, dws, changed))
            for text, changed in ignoring(defaults, hyper)
        ]

    return [(text, lambda value=value: value) for text, value in session.expected("known bugs", compute)]


def ignoring(defaults: dict[str, Any], hyper: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Hyperparameters as a rule sees them when it ignores some of ``hyper`` and uses its
    hard-coded defaults: each non-default one alone, then all of them; with a description."""
    ignored = [key for key in hyper if key in defaults and defaults[key] != hyper[key]]
    ways = [
        (
            f"config['{key}'] = {hyper[key]:g} is ignored: the step uses {defaults[key]:g}, a value "
            f"written in the code instead of reading config['{key}']",
            {**hyper, key: defaults[key]},
        )
        for key in ignored
    ]
    if len(ignored) > 1:
        ways.append(
            (
                "the hyperparameters in config are ignored: the step uses default values written in the code",
                {**hyper, **{key: defaults[key] for key in ignored}},
            )
        )
    return ways


def ignored_hyperparameters(
    session: Session, rule: Rule, w: np.ndarray, dw: np.ndarray, config: dict[str, Any] | None
) -> list[Suspect]:
    """next_w of a step that ignores hyperparameters given in ``config``, as suspects."""
    if config is None:
        return []

    def compute() -> list[tuple[str, np.ndarray]]:
        hyper = {key: value for key, value in config.items() if key not in rule.state}
        return [
            (text, reference_step(session, rule.name, w, dw, {**config, **changed})[0])
            for text, changed in ignoring(reference_defaults(session, rule, w), hyper)
        ]

    return [(text, lambda value=value: value) for text, value in session.expected("ignored", compute)]


# -- checks --------------------------------------------------------------------------------


def step_check(rule: Rule, start: str, visibility: str) -> Check:
    """next_w of one step, from the defaults or from a mid-run state."""

    def run(session: Session) -> None:
        w, dw, config = step_inputs(rule, session.rng, start, visibility)
        next_w, _ = student_step(session, rule.name, w, dw, config)
        expected, _ = session.expected("step", lambda: reference_step(session, rule.name, w, dw, config))
        suspects = [
            *STEP_BUGS[rule.name](w, dw, before_step(session, rule, w, config)),
            *ignored_hyperparameters(session, rule, w, dw, config),
        ]
        assert_close(f"next_w of {rule.name} {describe(config)}", next_w, expected, suspects=suspects)

    config_given = start != "defaults"
    if not config_given:
        name, points = f"{rule.name}: one step from the defaults (config=None)", 1
    else:
        name, points = f"{rule.name}: one step from a mid-run state", 2 if visibility == VISIBLE else 1
    suffix = "" if visibility == VISIBLE else ", random shapes and hyperparameters"
    tested = {f"{rule.name} next_w from {start}"} | {"hyperparameters from config"} - (
        set() if config_given else {"hyperparameters from config"}
    )
    return Check(
        name=name + suffix,
        points=points,
        run=run,
        visibility=visibility,
        hint=rule.hint,
        id=f"{rule.name}/{start}/{visibility}",
        properties=frozenset(tested),
    )


def compare_state(rule: Rule, key: str, returned: dict[str, Any], expected: Any, before: Any) -> None:
    """Compare ``returned[key]`` with the reference's new state; name a value never stored back."""
    subject = f"config['{key}'] returned by {rule.name}"
    if key not in returned:
        raise CheckFailed(subject, f"the new {key}", "no such key in the returned config", hint=NOT_STORED)
    shape = np.shape(expected)
    got = (
        as_scalar(subject, returned[key])
        if key == "t"
        else as_array(subject, returned[key], shape, kinds="f")
    )
    stale: Suspect = (
        f"config['{key}'] still holds its value from before the step: the new {key} is not stored back",
        lambda: before,
    )
    assert_close(subject, got, expected, suspects=[stale])


def state_check(rule: Rule) -> Check:
    """The state in the config returned after a mid-run step."""

    def run(session: Session) -> None:
        w, dw, config = step_inputs(rule, session.rng, "mid-run", VISIBLE)
        _, returned = student_step(session, rule.name, w, dw, config)
        _, expected = session.expected("step", lambda: reference_step(session, rule.name, w, dw, config))
        for key in rule.state:
            compare_state(rule, key, returned, expected[key], config[key])

    keys = ", ".join(rule.state)
    return Check(
        name=f"{rule.name}: new {keys} stored in the returned config",
        points=1,
        run=run,
        hint=NOT_STORED,
        id=f"{rule.name}/state",
        properties=frozenset({f"{rule.name} state stored"}),
    )


def chained_check(rule: Rule) -> Check:
    """STEPS steps, each given the config the previous one returned."""

    def run(session: Session) -> None:
        w = session.rng.normal(size=VISIBLE_SHAPE)
        dws = [gradient(session.rng, VISIBLE_SHAPE) for _ in range(STEPS)]
        hyper = hyperparameters(rule, session.rng, VISIBLE)
        current, config = w, dict(hyper)
        for dw in dws:
            current, returned = student_step(session, rule.name, current, dw, config)
            config = as_python(returned)
        expected = session.expected("w", lambda: reference_chain(session, rule.name, w, dws, hyper))
        assert_close(
            f"w after {STEPS} steps of {rule.name}, each given the config the previous step returned "
            f"(the first only the hyperparameters {hyper})",
            current,
            expected,
            suspects=chain_bugs(session, rule, w, dws, hyper),
        )

    return Check(
        name=f"{rule.name}: {STEPS} chained steps",
        points=2,
        run=run,
        hint=f"{NOT_STORED} (when one step is already wrong, fix that first)",
        id=f"{rule.name}/chained",
        properties=frozenset({f"{rule.name} chained steps", "hyperparameters from config"}),
    )


EXERCISE = Exercise(
    id="optim",
    title="Update rules: SGD with momentum, RMSProp, Adam",
    checks=(
        *(
            check
            for rule in RULES
            for check in (
                step_check(rule, "defaults", VISIBLE),
                step_check(rule, "mid-run", VISIBLE),
                state_check(rule),
                chained_check(rule),
            )
        ),
        *(step_check(rule, "mid-run", HIDDEN) for rule in RULES),
    ),
)
