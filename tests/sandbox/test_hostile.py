"""A corpus of hostile and broken reward programs, each stopped by the layer it names.

Every file in ``tests/sandbox/hostile/`` is one program with a header saying what it tries
and what must stop it: ``static`` (the critic's AST policy), ``dynamic`` (the critic's
check in a sandboxed worker) or ``runtime`` (the training worker). Around all of them a
canary: secrets in the parent's environment and files the programs try to create
outside their sandbox (``/tmp/rewardsmith_pwned_<name>``, the home folder, the cwd);
after each program no such file may exist and no secret may appear in any output.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from rewardsmith.agent.candidate import RewardCandidate
from rewardsmith.agent.critic import Critic, CriticReport
from rewardsmith.envs.registry import get_task
from rewardsmith.sandbox.policy import check_source
from rewardsmith.sandbox.runner import Limits, sandbox_capabilities
from rewardsmith.train.jobs import JobOutcome, run_job

HOSTILE = Path(__file__).parent / "hostile"
REPO = Path(__file__).resolve().parents[2]
TASK = "CartPole-v1"
SECRET_VARS = ("REWARDSMITH_CANARY_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")
LAYERS = ("static", "dynamic", "runtime")
# Short limits keep the corpus fast; the hangs they stop are what the defaults stop too.
CHECK_LIMITS = Limits(cpu_seconds=3, wall_seconds=30.0)
TRAIN_BUDGET = 2000
# An entry of the parent's environment as the kernel shows it in /proc/<pid>/environ (the
# canary secrets are set later, in-process, so they never appear there).
PARENT_ENV_ENTRY = f"HOME={os.environ.get('HOME', '')}"

GOOD = """\
import numpy as np

def compute_reward(pole_angle, cart_position):
    upright = 1.0 - np.abs(pole_angle)
    centre = -0.1 * np.abs(cart_position)
    return upright + centre, {"upright": upright, "centre": centre}
"""

T = TypeVar("T")


@dataclass(frozen=True)
class Program:
    """One corpus file: its source, the layer that must stop it, and what its verdict says."""

    name: str
    source: str
    layer: str
    expect: str


def _load_corpus() -> list[Program]:
    programs = []
    for path in sorted(HOSTILE.glob("*.py")):
        source = path.read_text()
        layer = re.search(r"^# Stopped by: (\w+)", source, re.MULTILINE)
        expect = re.search(r"^# Expect: (.+)$", source, re.MULTILINE)
        programs.append(
            Program(
                name=path.stem,
                source=source,
                layer=layer.group(1) if layer else "",
                expect=expect.group(1).strip() if expect else "",
            )
        )
    return programs


CORPUS = _load_corpus()


def _of(layer: str) -> list[Program]:
    return [p for p in CORPUS if p.layer == layer]


def _parallel(fn: Callable[[Program], T], programs: list[Program]) -> list[tuple[Program, T]]:
    # Each call mostly waits on its own worker process; two at a time fill two cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(zip(programs, pool.map(fn, programs), strict=True))


# -- the canary --------------------------------------------------------------------------


def _canary_paths() -> list[Path]:
    """Places a program that escaped its sandbox folder would have written to."""
    found: list[Path] = []
    for folder in {Path("/tmp"), Path.home(), Path.cwd(), REPO}:
        found += folder.glob("rewardsmith_pwned*")
    return found


@pytest.fixture(scope="module")
def canary() -> Iterator[dict[str, str]]:
    """Secrets in the parent's environment, which no sandboxed program may see."""
    for stale in _canary_paths():  # left by an earlier, broken run: this run must re-prove it
        if stale.is_file():
            stale.unlink()
    values = {name: f"canary-{secrets.token_hex(16)}" for name in SECRET_VARS}
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    yield values
    for name, old in saved.items():
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _assert_contained(name: str, canary: dict[str, str], *outputs: Any) -> None:
    escaped = _canary_paths()
    assert not escaped, f"{name} wrote outside its sandbox: {escaped}"
    text = "\n".join(o if isinstance(o, str) else json.dumps(o, default=str) for o in outputs)
    for var, value in canary.items():
        assert value not in text, f"{name} leaked ${var}"


# -- shared, expensive inputs ------------------------------------------------------------


@pytest.fixture(scope="module")
def transitions(tmp_path_factory: pytest.TempPathFactory, canary: dict[str, str]) -> Path:
    """Random-play transitions of CartPole, recorded once, as the synthesis loop does."""
    folder = tmp_path_factory.mktemp("probe")
    job = {"kind": "probe", "task": TASK, "seed": 0, "n_envs": 8, "steps": 64}
    outcome = run_job(job, Limits.for_training(300.0), keep_dir=folder)
    assert outcome.ok, outcome.error
    return folder / "transitions.npz"


@pytest.fixture(scope="module")
def critic(transitions: Path) -> Critic:
    return Critic(get_task(TASK), transitions, n_envs=8, limits=CHECK_LIMITS)


def _candidate(program: Program) -> RewardCandidate:
    return RewardCandidate(source=program.source)


# -- the corpus itself -------------------------------------------------------------------


def test_corpus_is_large_and_every_program_names_its_layer() -> None:
    assert len(CORPUS) >= 30
    unnamed = [p.name for p in CORPUS if p.layer not in LAYERS]
    assert not unnamed, f"programs without a valid '# Stopped by:' header: {unnamed}"
    assert all(p.source.startswith("# Tries: ") for p in CORPUS)
    for layer in LAYERS:
        assert _of(layer), f"no program for the {layer} layer"
    assert all(p.expect for p in _of("dynamic") + _of("runtime"))


@pytest.mark.parametrize("program", _of("static"), ids=lambda p: p.name)
def test_static_policy_refuses(program: Program) -> None:
    problems = check_source(program.source, list(get_task(TASK).field_names))
    assert problems, f"{program.name} passed the static policy"


@pytest.mark.parametrize(
    "line",
    [
        "table = np.sctypeDict",  # then table.clear(): numpy's dtype lookup table
        "np.typecodes.clear()",
        "np.seterr(all='raise')",  # would turn the trainer's own float warnings into errors
        "info = np.finfo(np.float64)\ninfo.eps = 1.0",  # finfo objects are cached and shared
        "cls = np.vectorize\ncls.pyfunc = abs",
        "del np.linalg.norm",
    ],
)
def test_policy_refuses_each_route_to_numpy_shared_state(line: str) -> None:
    """Each line alone, so one refused line cannot hide another that slips through."""
    tail = "def compute_reward(pole_angle):\n    return pole_angle, {}\n"
    source = f"import numpy as np\n{line}\n\n{tail}"
    assert check_source(source, ["pole_angle"]), line


def test_static_programs_are_contained_even_without_the_policy(
    transitions: Path, canary: dict[str, str]
) -> None:
    """Defense in depth: run each statically refused program straight in the check worker.

    The restricted loader is no Python sandbox (``().__class__...`` reaches ``os`` there),
    so what holds is the OS: a scrubbed environment, a user namespace and Landlock, under
    which none of them may write a file outside its folder or see a secret, not even in
    ``/proc/<parent>/environ``.
    """
    if not sandbox_capabilities()["landlock"]:
        pytest.skip("Landlock is unavailable here: only the static policy stops these")

    def run(program: Program) -> JobOutcome:
        job = {
            "kind": "check",
            "source": program.source,
            "params": list(get_task(TASK).field_names),
            "transitions": "transitions.npz",
            "n_envs": 8,
        }
        return run_job(job, CHECK_LIMITS, inputs={"transitions.npz": transitions})

    for program, outcome in _parallel(run, _of("static")):
        _assert_contained(program.name, canary, outcome.result, outcome.error, outcome.stderr_tail)
        text = json.dumps([outcome.result, outcome.error, outcome.stderr_tail])
        assert PARENT_ENV_ENTRY not in text, f"{program.name} read the parent's environment"


def test_dynamic_programs_are_rejected_by_the_critic(
    critic: Critic, canary: dict[str, str]
) -> None:
    programs = _of("dynamic")
    for program in programs:
        assert check_source(program.source, list(critic.task.field_names)) == [], program.name
    reports: list[tuple[Program, CriticReport]] = _parallel(
        lambda p: critic.check(_candidate(p)), programs
    )
    for program, report in reports:
        _assert_contained(program.name, canary, report.to_json())
        assert len(json.dumps(report.to_json())) < 20_000, f"{program.name}: report too large"
        if program.expect == "PASSES":  # contained rather than rejected; see its header
            assert report.passed, (program.name, report.problems)
            continue
        assert not report.passed, f"{program.name} passed the critic"
        text = " ".join(report.problems)
        assert program.expect.lower() in text.lower(), (program.name, report.problems)
    # The loop goes on: a sound reward checked after all of them still passes.
    good = critic.check(RewardCandidate(source=GOOD))
    assert good.passed, good.problems


@pytest.mark.slow
def test_runtime_programs_pass_the_critic_but_fail_training(
    critic: Critic, transitions: Path, canary: dict[str, str]
) -> None:
    programs = _of("runtime")
    with np.load(transitions) as data:
        # inf_in_rare_state relies on random play never lasting 50 steps (1 s).
        assert float(data["time"].max()) < 1.0

    def train(program: Program) -> tuple[CriticReport, JobOutcome]:
        report = critic.check(_candidate(program))
        job = {
            "kind": "train",
            "task": TASK,
            "budget": str(TRAIN_BUDGET),
            "seed": 0,
            "reward": {"mode": "candidate", "source": program.source},
            "save_policy": False,
        }
        return report, run_job(job, Limits.for_training(60))

    for program, (report, outcome) in _parallel(train, programs):
        assert report.passed, (program.name, report.problems)
        _assert_contained(program.name, canary, report.to_json(), outcome.result, outcome.error)
        assert not outcome.ok, f"{program.name} trained without failing"
        assert "\n" not in outcome.error and outcome.error.strip(), outcome.error
        assert program.expect.lower() in outcome.error.lower(), (program.name, outcome.error)
