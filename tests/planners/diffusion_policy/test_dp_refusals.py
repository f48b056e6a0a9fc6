"""A .ckpt is read without running code from it; bad files end in one line naming the file."""
from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from planners.diffusion_policy.loading import load_dp_checkpoint
from planners.loading import load_planner
from planners.protocol import PlannerError
from planners.safe_pickle import load_torch_archive

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "lowdim_local_ddim.ckpt"


class _RunsShell:
    """Unpickling this calls os.system (as a hostile checkpoint would)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _refused(path: Path, *fragments: str) -> str:
    with pytest.raises(PlannerError) as info:
        load_planner(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_payload_that_runs_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "hostile.ckpt"
    payload = load_torch_archive(REFERENCE)
    payload["cfg"]["policy"]["model"]["kernel_size"] = _RunsShell(f"touch {marker}")
    torch.save(payload, path)                 # the real torch.save zip layout, os.system inside
    assert b"system" in zipfile.ZipFile(path).read("hostile/data.pkl")
    _refused(path, "refusing to unpickle global", "system")
    assert not marker.exists()
    # the control: the same pickle, loaded by the standard unpickler, would have run the command
    pickle.loads(pickle.dumps(_RunsShell(f"touch {marker}")))
    assert marker.exists()


@pytest.mark.parametrize("module, name", [("builtins", "eval"), ("dill._dill", "_create_function"),
                                          ("subprocess", "Popen"), ("collections", "Counter")])
def test_any_global_outside_the_allow_list_is_refused(tmp_path, module, name):
    path = tmp_path / "other.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other/data.pkl", f"c{module}\n{name}\n)R.".encode())   # GLOBAL, EMPTY_TUPLE, REDUCE
    _refused(path, f"{module}.{name}")


def test_dill_load_type_only_builds_data_types(tmp_path):
    path = tmp_path / "types.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("types/data.pkl", b"cdill._dill\n_load_type\n(VFunctionType\ntR.")
    _refused(path, "FunctionType")


def test_the_config_is_plain_data():
    payload = load_torch_archive(REFERENCE)
    cfg = payload["cfg"]
    assert type(cfg) is dict and type(cfg["policy"]["model"]["down_dims"]) is list
    assert cfg["policy"]["_target_"].endswith("DiffusionUnetLowdimPolicy")
    assert isinstance(payload["pickles"]["epoch"], bytes)   # dill-pickled attributes stay unread bytes


def _rewritten(tmp_path: Path, edit) -> Path:
    payload = load_torch_archive(REFERENCE)
    edit(payload)
    path = tmp_path / "edited.ckpt"
    torch.save(payload, path)
    return path


def test_unknown_policy_class(tmp_path):
    def edit(p):
        p["cfg"]["policy"]["_target_"] = "diffusion_policy.policy.bet_lowdim_policy.BETLowdimPolicy"
    _refused(_rewritten(tmp_path, edit), "unsupported policy class 'BETLowdimPolicy'")


def test_missing_weight(tmp_path):
    def edit(p):
        del p["state_dicts"]["ema_model"]["model.final_conv.1.weight"]
    _refused(_rewritten(tmp_path, edit), "missing keys model.final_conv.1.weight")


def test_shape_mismatch(tmp_path):
    def edit(p):
        p["cfg"]["policy"]["model"]["kernel_size"] = 5
    _refused(_rewritten(tmp_path, edit), "has shape", "the config gives")


def test_missing_normalizer(tmp_path):
    def edit(p):
        state = p["state_dicts"]["ema_model"]
        for key in [k for k in state if k.startswith("normalizer.params_dict.action.")]:
            del state[key]
    _refused(_rewritten(tmp_path, edit), "normalizer has no scale/offset for ['action']")


def test_ema_requested_but_absent(tmp_path):
    def edit(p):
        del p["state_dicts"]["ema_model"]
    _refused(_rewritten(tmp_path, edit), "no 'ema_model' weights")


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "garbage.ckpt"
    path.write_bytes(b"not a zip at all")
    _refused(path, "not a torch.save zip archive")
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(REFERENCE.read_bytes()[:200_000])
    _refused(truncated)


def test_inpainting_policies_are_refused_by_name(tmp_path):
    def edit(p):
        p["cfg"]["policy"]["obs_as_local_cond"] = False
    _refused(_rewritten(tmp_path, edit), "inpainting")


def test_wrong_observation_is_one_line():
    planner = load_dp_checkpoint(REFERENCE)
    with pytest.raises(PlannerError, match="observation 'obs' has shape"):
        planner.plan({"obs": torch.zeros(3, 20).numpy()}, 2, seed=0)


def test_unknown_scheduler(tmp_path):
    def edit(p):
        p["cfg"]["policy"]["noise_scheduler"]["_target_"] = "diffusers.EulerDiscreteScheduler"
    _refused(_rewritten(tmp_path, edit), "unsupported noise scheduler 'EulerDiscreteScheduler'")
