import os
from pathlib import Path

import pytest

from rewardsmith.errors import UserError
from rewardsmith.store import (
    DamagedFile,
    RunStore,
    json_object,
    read_json,
    read_record,
    write_atomic,
    write_json,
)


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    write_json(tmp_path / "a" / "x.json", {"k": [1, 2]})
    write_atomic(tmp_path / "a" / "y.md", "hello")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.json", "y.md"]
    assert read_json(tmp_path / "a" / "x.json") == {"k": [1, 2]}


def test_failed_write_keeps_old_content(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    write_json(target, {"v": 1})
    with pytest.raises(TypeError):
        write_json(target, {"v": object()})
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_create_and_open(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "runs", "r1")
    store.write_run({"status": "created"})
    assert store.update_run(status="running")["status"] == "running"
    (store.iter_dir(0)).mkdir()
    (store.iter_dir(2)).mkdir()
    assert store.list_iterations() == [0, 2]
    assert RunStore.open(store.root).read_run()["status"] == "running"
    with pytest.raises(UserError, match="already exists"):
        RunStore.create(tmp_path / "runs", "r1")


def test_open_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a rewardsmith run folder"):
        RunStore.open(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out_is_refused_before_work(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(UserError, match="cannot write"):
        RunStore.create(ro / "runs", "r")


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UserError, match="cannot write"):
        RunStore.create(f, "r")


def test_run_ids_are_safe_folder_names():
    from rewardsmith.cli.core import _make_run_id
    from rewardsmith.store import safe_name

    assert safe_name("my_pkg.envs:Walk-v0") == "my_pkg.envs-Walk-v0"
    assert safe_name("../..") == "x"
    run_id = _make_run_id("my_pkg.envs:Walk-v0")
    assert "-my_pkg.envs-Walk-v0-" in run_id and safe_name(run_id) == run_id


def test_a_run_keeps_its_task_file_under_the_files_own_format(tmp_path: Path) -> None:
    from rewardsmith.store import task_file_copy

    assert task_file_copy(tmp_path, "tasks/walk.toml") == tmp_path / "task.toml"
    assert task_file_copy(tmp_path, "walk.YAML") == tmp_path / "task.yaml"
    assert task_file_copy(tmp_path, "walk.yml") == tmp_path / "task.yml"
    # A YAML copy named .toml was read back as TOML on resume and refused.
    from rewardsmith.envs.taskfile import load_task_file

    copy = task_file_copy(tmp_path, "walk.yaml")
    copy.write_text(
        "task:\n  id: YamlCopyTest\n  env: CartPole-v1\n  adapter: CartPole-v1\n"
        "fitness:\n  expr: native\n  success_threshold: 100\n"
    )
    assert load_task_file(copy).id == "YamlCopyTest"


def test_read_record_names_the_file_and_what_is_wrong_with_it(tmp_path: Path) -> None:
    path = tmp_path / "fitness.json"
    cases = {
        '{"fitness": 1.0': "Expecting ',' delimiter",
        "[1]": "a JSON object was expected, not list",
        '{"steps": 3}': "no 'fitness' in it",
    }
    for text, reason in cases.items():
        path.write_text(text)
        with pytest.raises(DamagedFile) as caught:
            read_record(path, lambda d: json_object(d)["fitness"])
        message = str(caught.value)
        assert message.startswith(f"{str(path)!r} is damaged ({reason}")
        assert message.endswith(
            "delete it and resume the run (`rewardsmith resume RUN`): the run remakes it"
        )
    path.write_text('{"fitness": 2.5}')
    assert read_record(path, lambda d: json_object(d)["fitness"]) == 2.5
