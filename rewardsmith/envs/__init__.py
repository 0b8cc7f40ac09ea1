"""Tasks: specs, the registry, and the gymnasium wrapper that exposes named state fields."""

from rewardsmith.envs.registry import (
    all_tasks,
    get_task,
    register,
    resolve_task,
    task_job_fields,
)
from rewardsmith.envs.spec import FitnessMeasure, PPOPreset, StateField, TaskSpec

__all__ = [
    "FitnessMeasure",
    "PPOPreset",
    "StateField",
    "TaskSpec",
    "all_tasks",
    "get_task",
    "register",
    "resolve_task",
    "task_job_fields",
]
