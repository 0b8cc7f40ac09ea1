"""The one typed configuration of a synthesis run.

Values come from, in rising priority: the defaults below, a TOML file (``--config``),
``REWARDSMITH_*`` environment variables, and CLI flags. The resolved config is saved
into ``run.json`` so a run can be resumed or repeated exactly.
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardsmith.envs.spec import BUDGET_NAMES
from rewardsmith.errors import UserError

if TYPE_CHECKING:
    from rewardsmith.envs.spec import FitnessMeasure

logger = logging.getLogger(__name__)

MAX_DESCRIPTION_CHARS = 4000
MAX_BUDGET_STEPS = 1_000_000_000
MIN_BUDGET_STEPS = 1_000


@dataclass
class SynthConfig:
    """Everything that decides what a synthesis run does.

    Args:
        env: A built-in task id (``rewardsmith tasks`` lists them), any gymnasium id, or
            ``module:EnvClass`` / ``module:make_env`` for an env of the user's own.
        task: Behaviour in words (default: the task's own description).
        fitness: Fitness measure name (default: the task's first).
        model: litellm model string; ``None`` uses the offline designer.
        api_base: Base URL of an OpenAI-compatible server.
        temperature: Sampling temperature of the model.
        iterations: Design-train-reflect rounds.
        samples: Candidates per iteration (default 8 with a model, 4 offline).
        budget: ``smoke``, ``quick``, ``full`` or a number of env steps per candidate.
        seed: Root seed; every training seed is derived from it.
        out: Folder that holds run folders.
        workers: Trainings at once (default: one per core).
        eval_seeds: Seeds of the final evaluation of the best reward and the baselines.
        confirm_top: How many of the search's fittest rewards are retrained on fresh seeds
            before the best is chosen (fewer than 2: the search's pick stands). The search
            measures each reward on one seed, and the best of many one-seed measurements
            is often just the luckiest. Rewards that trained for the whole budget come
            first; places left go to rewards successive halving stopped at a tie.
        confirm_seeds: Fresh seeds each of those rewards is retrained on (0: no
            confirmation).
        llm_critic: Have the model review each candidate before training.
        max_revisions: Tries to repair a rejected candidate before giving up on it.
        llm_timeout: Seconds the model may take to answer one request.
        llm_retries: Retries of a failed model request (rate limit, 5xx, timeout, connection
            error, empty or cut-off answer) before the run stops, resumably.
        llm_backoff: First delay between model retries, in seconds; it doubles per retry,
            with jitter.
        task_file: A TOML task file declaring a custom task (instead of a built-in ``env``).
        executor: ``ray`` (an embedded local Ray, or the cluster at ``ray_address``) or
            ``local`` (plain child processes on this machine).
        ray_address: Address of an existing Ray cluster to join (also ``RAY_ADDRESS``).
        search: ``halving`` (successive halving over budget rungs, deduplication, cache) or
            ``full`` (every candidate trains for the whole budget, as in Eureka).
        eta: Successive-halving reduction factor: the best 1/eta of a rung go on.
        first_success: Stop an iteration's search as soon as a candidate reaches the
            task's success threshold.
        cache: Reuse training results of identical reward code from earlier runs.
        cache_dir: Where cached results live (default ``<out>/.cache``).
        feedback: ``auto`` (fitness picks the best), ``human`` (a person ranks policy
            videos on a local page) or ``both`` (fitness shown, the person may override).
        videos: Record a video of every trained candidate's policy (default: on when
            feedback involves a human).
        video_seconds: Length of each policy video, in seconds of simulated time.
        video_shadows: Render MuJoCo shadows and reflections (off by default: software
            rendering is 3-4x faster without them).
        device: Where PPO trains: ``cpu`` (default; fastest for these small MLPs) or
            ``cuda`` (each training then asks Ray for a quarter of a GPU).
    """

    env: str = ""
    task: str | None = None
    fitness: str | None = None
    model: str | None = None
    api_base: str | None = None
    temperature: float = 1.0
    iterations: int = 5
    samples: int | None = None
    budget: str = "quick"
    seed: int = 0
    out: str = "runs"
    workers: int | None = None
    eval_seeds: int = 3
    confirm_top: int = 3
    confirm_seeds: int = 2
    llm_critic: bool = False
    max_revisions: int = 2
    llm_timeout: float = 120.0
    llm_retries: int = 5
    llm_backoff: float = 1.0
    task_file: str | None = None
    executor: str = "ray"
    ray_address: str | None = None
    search: str = "halving"
    eta: int = 2
    first_success: bool = False
    cache: bool = True
    cache_dir: str | None = None
    feedback: str = "auto"
    videos: bool | None = None
    video_seconds: float = 5.0
    video_shadows: bool = False
    device: str = "cpu"

    @property
    def n_samples(self) -> int:
        """Candidates per iteration, with the designer-dependent default."""
        if self.samples is not None:
            return self.samples
        return 8 if self.model else 4

    @property
    def record_videos(self) -> bool:
        """Whether candidates' policies are recorded (default: when a human gives feedback)."""
        if self.videos is not None:
            return self.videos
        return self.feedback != "auto"

    @property
    def budget_value(self) -> str | int:
        """The budget as a preset name or a number of env steps."""
        return int(self.budget) if self.budget.isdigit() else self.budget

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``run.json``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SynthConfig:
        """Inverse of :meth:`to_json` (unknown keys are ignored, for older runs)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self) -> None:
        """Check every value against its rule.

        Raises:
            UserError: The first bad value, with its rule and fix.
        """
        if not self.env and not self.task_file:
            raise UserError(
                "no env given; pass --env ID (see `rewardsmith tasks`) or --task-file FILE"
            )
        if self.env and self.task_file:
            raise UserError("--env and --task-file both given; a task file names its own env")
        if self.task is not None:
            check_task_text(self.task)
        _check_range("--iterations", self.iterations, 1, 100)
        # Every other seed is derived from this one by numpy's SeedSequence: 0 to 2**32 - 1.
        _check_range("--seed", self.seed, 0, 2**32 - 1)
        if self.samples is not None:
            _check_range("--samples", self.samples, 1, 64)
        _check_range("--eval-seeds", self.eval_seeds, 0, 20)
        _check_range("--confirm-top", self.confirm_top, 0, 16)
        _check_range("--confirm-seeds", self.confirm_seeds, 0, 10)
        _check_range("--max-revisions", self.max_revisions, 0, 10)
        if self.workers is not None:
            _check_range("--workers", self.workers, 1, 1024)
        _check_range("--llm-retries", self.llm_retries, 0, 20)
        if not 0.5 <= self.llm_timeout <= 3600:
            raise UserError(
                f"--llm-timeout must be between 0.5 and 3600 seconds, got {self.llm_timeout}"
            )
        if not 0.0 <= self.llm_backoff <= 600:
            raise UserError(
                f"--llm-backoff must be between 0 and 600 seconds, got {self.llm_backoff}"
            )
        if not 0.0 <= self.temperature <= 2.0:
            raise UserError(f"--temperature must be in [0, 2], got {self.temperature}")
        self.budget = normalise_budget(self.budget)
        _check_choice("--executor", self.executor, ("ray", "local"))
        _check_choice("--search", self.search, ("halving", "full"))
        _check_choice("--feedback", self.feedback, ("auto", "human", "both"))
        _check_range("--eta", self.eta, 2, 8)
        _check_choice("--device", self.device, ("cpu", "cuda"))
        if not 1.0 <= self.video_seconds <= 60.0:
            raise UserError(
                f"--video-seconds must be between 1 and 60, got {self.video_seconds}; "
                "a person compares several looping videos at once"
            )
        if self.ray_address and self.executor != "ray":
            raise UserError("--ray-address needs --executor ray; drop one of them")
        address = self.ray_address or os.environ.get("RAY_ADDRESS")
        if address and self.executor == "ray":
            from rewardsmith.train.ray_executor import ray_address_problem

            problem = ray_address_problem(address)
            if problem:
                raise UserError(problem)
        if self.device == "cuda" and not address:
            _check_local_cuda()
        if self.llm_critic and not self.model:
            raise UserError("--llm-critic needs a model; pass --model or drop --llm-critic")
        if self.api_base and not self.api_base.startswith(("http://", "https://")):
            raise UserError(f"--api-base must be an http(s) URL, got {self.api_base!r}")

    def validate_fitness(self, task_id: str, measure: FitnessMeasure) -> None:
        """Check the options that depend on the task's fitness measure.

        Raises:
            UserError: ``--first-success`` on a measure that declares no success threshold.
        """
        if self.first_success and measure.success_threshold is None:
            raise UserError(
                f"--first-success stops at the success threshold, and {task_id}'s fitness "
                f"{measure.name!r} declares none (the env's spec has no reward_threshold); "
                "drop --first-success, or declare one in a task file ([fitness] "
                "success_threshold = <number>)"
            )


def check_task_text(task: str) -> None:
    """Check a ``--task`` description: not empty, not a wall of text.

    Raises:
        UserError: An empty or overlong description.
    """
    if not task.strip():
        raise UserError("--task is empty; describe the behaviour in words, or omit it")
    if len(task) > MAX_DESCRIPTION_CHARS:
        raise UserError(
            f"--task is {len(task)} characters long; keep it under "
            f"{MAX_DESCRIPTION_CHARS} (describe the behaviour, not the code)"
        )


def normalise_budget(value: str | int) -> str:
    """Validate a budget (a preset name or a step count) and return it as text.

    Raises:
        UserError: Unknown name, or a step count outside the sensible range.
    """
    text = str(value).strip().lower().replace("_", "")
    if text in BUDGET_NAMES:
        return text
    multiplier = 1
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            text, multiplier = text[:-1], factor
    try:
        steps = int(float(text) * multiplier)
    except ValueError:
        raise UserError(
            f"--budget {value!r} is neither smoke, quick, full nor a number of env steps "
            "(e.g. 50000 or 50k)"
        ) from None
    if not MIN_BUDGET_STEPS <= steps <= MAX_BUDGET_STEPS:
        raise UserError(
            f"--budget {value!r} must be between {MIN_BUDGET_STEPS} and {MAX_BUDGET_STEPS} "
            "env steps"
        )
    return str(steps)


def _check_local_cuda() -> None:
    """Refuse ``--device cuda`` where this machine has no GPU torch can use.

    Each training asks Ray for a share of a GPU; on a machine without one it would wait
    for it for ever. (A cluster's GPUs are checked when Ray joins it.)
    """
    import torch

    if not torch.cuda.is_available():
        raise UserError(
            f"--device cuda, but torch {torch.__version__} sees no CUDA GPU on this machine; "
            "drop --device (PPO runs on the CPU), or install a CUDA build of torch"
        )


def _check_range(flag: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise UserError(f"{flag} must be between {low} and {high}, got {value}")


def _check_choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UserError(f"{flag} must be one of {', '.join(choices)}; got {value!r}")


def check_type(name: str, value: Any, where: str) -> None:
    """Refuse a TOML value of the wrong type (``iterations = "five"``) with a readable line.

    Args:
        name: The config key.
        value: Its value as read from the file.
        where: The file (and table) it came from, for the message.

    Raises:
        UserError: The value's type does not match the key's.
    """
    kind = str({f.name: f.type for f in fields(SynthConfig)}[name])
    if kind.startswith("bool"):
        ok = isinstance(value, bool)
    elif kind.startswith("int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind.startswith("float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif name == "budget":
        ok = isinstance(value, str | int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        want = kind.split(" |")[0]
        raise UserError(f"{where}: {name} = {value!r} should be of type {want}; fix the value")


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _coerce(name: str, raw: str) -> Any:
    field_types = {f.name: f.type for f in fields(SynthConfig)}
    kind = str(field_types[name])
    try:
        if "bool" in kind:
            word = raw.strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError(word)
            return word in _TRUE
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
    except ValueError:
        want = "true or false" if "bool" in kind else f"a valid {kind}"
        raise UserError(f"REWARDSMITH_{name.upper()}={raw!r} is not {want}") from None
    return raw


def _warn_misspelt_variables(env: Mapping[str, str], known: set[str]) -> None:
    """Say when a ``REWARDSMITH_*`` variable is a near miss of an option's name.

    Other ``REWARDSMITH_*`` names may belong to something else, so only near misses
    (``REWARDSMITH_ITERATONS``) are reported, and not refused.
    """
    options = {f"REWARDSMITH_{name.upper()}" for name in known}
    for variable in env:
        if variable.startswith("REWARDSMITH_") and variable not in options:
            close = difflib.get_close_matches(variable, options, n=1, cutoff=0.85)
            if close:
                logger.warning(
                    "%s is not an option and is ignored; did you mean %s?", variable, close[0]
                )


def load_config(
    cli: Mapping[str, Any],
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> SynthConfig:
    """Merge defaults, a TOML file, ``REWARDSMITH_*`` variables and CLI values.

    Args:
        cli: Values given on the command line (``None`` means "not given").
        config_file: TOML file with the same keys, at top level or under ``[synthesize]``.
        environ: Environment (default ``os.environ``).

    Raises:
        UserError: Unreadable file, unknown keys, or values of the wrong type.
    """
    known = {f.name for f in fields(SynthConfig)}
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            data = tomllib.loads(config_file.read_text())
        except OSError as exc:
            raise UserError(
                f"cannot read config file {str(config_file)!r}: {exc.strerror}"
            ) from exc
        except UnicodeDecodeError:
            raise UserError(
                f"config file {str(config_file)!r} is not UTF-8 text; pass a TOML file"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"config file {str(config_file)!r} is not valid TOML: {exc}") from exc
        data = data.get("synthesize", data)
        unknown = sorted(set(data) - known)
        if unknown:
            close = {k: difflib.get_close_matches(k, known, n=1) for k in unknown}
            hints = [f"{k!r} -> {m[0]!r}" for k, m in close.items() if m]
            hint = f"did you mean {', '.join(hints)}? " if hints else ""
            raise UserError(
                f"config file {str(config_file)!r} has unknown keys {unknown}; "
                f"{hint}known keys: {sorted(known)}"
            )
        for name, value in data.items():
            check_type(name, value, f"config file {str(config_file)!r}")
        values.update(data)
    env = os.environ if environ is None else environ
    for name in known:
        raw = env.get(f"REWARDSMITH_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, raw)
    _warn_misspelt_variables(env, known)
    values.update({k: v for k, v in cli.items() if v is not None})
    if "budget" in values:
        values["budget"] = str(values["budget"])
    return SynthConfig(**values)
