"""The demo's data: the shipped checkpoints and the demo recording, made once and cached.

The demo recording is a small closed-loop evaluation of both shipped mug_grasp policies
(regression baseline first, diffusion second) on DEMO_SEEDS, recording DEMO_SAMPLES plans at
every replan. It is made with the project's own evaluation (`app.core.evaluation.run_evaluation`,
the same code `planscope eval` runs) the first time the demo needs it, written to a temporary
name and renamed, so an interrupted first run leaves nothing half-made, and cached in the user
data directory (platformdirs; $XDG_DATA_HOME/planscope/demo on Linux).

The cache file name carries a key made from the recipe and the checkpoints' contents, so
retrained checkpoints (`make checkpoints`) make a fresh recording instead of showing a stale one.

`DemoRecordingJob` (Qt) runs `make_demo_recording` off the GUI thread with a progress bar.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from app import CHECKPOINTS
from recordings.errors import UserFacingError

REPO_ROOT = CHECKPOINTS.parent.parent
DEMO_SCENE = "mug_grasp"
DIFFUSION_CHECKPOINT = CHECKPOINTS / "mug_grasp_diffusion"
REGRESSION_CHECKPOINT = CHECKPOINTS / "mug_grasp_regression"
DEMO_SEEDS = (0, 1, 2, 3, 4, 5)
DEMO_SAMPLES = 16          # plans recorded at every replan (what card 4 shows)
DEMO_MAX_STEPS = 120       # 12 s at 10 Hz: every mug_grasp episode ends well before
RECIPE_VERSION = 2         # bump when the recipe below changes what the recording holds (2: DDPM rollouts)
# Environment override for the cache folder (tests, CI, a read-only home).
DATA_DIR_ENV = "PLANSCOPE_DEMO_DIR"

Progress = Callable[[int, int, str], None]   # (rollouts done, total, one-line status)


class DemoDataError(UserFacingError):
    """The demo cannot find its checkpoints or cannot write its recording."""


def data_dir() -> Path:
    """Folder holding the cached demo recording."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs
    return Path(platformdirs.user_data_dir("planscope", appauthor=False)) / "demo"


def check_checkpoints() -> tuple[Path, Path]:
    """(diffusion, regression) checkpoint folders; DemoDataError naming a missing one."""
    for path in (DIFFUSION_CHECKPOINT, REGRESSION_CHECKPOINT):
        if not path.is_dir() or not any(path.iterdir()):
            raise DemoDataError(f"shipped checkpoint {path} is missing; run `make checkpoints` "
                                "to rebuild it")
    return DIFFUSION_CHECKPOINT, REGRESSION_CHECKPOINT


def _checkpoint_digest(folder: Path) -> str:
    """Hash of every file's name and bytes in a checkpoint folder (small: a few MB)."""
    h = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(file.relative_to(folder)).encode())
        h.update(file.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class DemoRecipe:
    scene: str = DEMO_SCENE
    seeds: tuple[int, ...] = DEMO_SEEDS
    samples: int = DEMO_SAMPLES
    max_steps: int = DEMO_MAX_STEPS

    def key(self) -> str:
        """12 hex digits naming this recipe with today's checkpoints."""
        diffusion, regression = check_checkpoints()
        payload = json.dumps({"v": RECIPE_VERSION, "scene": self.scene, "seeds": list(self.seeds),
                              "samples": self.samples, "max_steps": self.max_steps,
                              "diffusion": _checkpoint_digest(diffusion),
                              "regression": _checkpoint_digest(regression)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


def recording_path(recipe: DemoRecipe = DemoRecipe()) -> Path:
    return data_dir() / f"demo_{recipe.scene}_{recipe.key()}.h5"


def cached_recording(recipe: DemoRecipe = DemoRecipe()) -> Path | None:
    """The cached recording when it exists and opens; None when it must be made."""
    path = recording_path(recipe)
    if not path.is_file():
        return None
    try:
        from recordings.reader import RecordingReader
        reader = RecordingReader(path)
        try:
            labels = [str(v) for v in reader.summary["failure_label"]]
            ok = len(reader) == 2 * len(recipe.seeds) and "failed-to-run" not in labels
        finally:
            reader.close()
    except Exception:   # corrupt or from an older format: make it again
        ok = False
    return path if ok else None


def make_demo_recording(recipe: DemoRecipe = DemoRecipe(), *, progress: Progress | None = None,
                        workers: int | None = None) -> Path:
    """Run the demo evaluation and cache it; returns the recording's path.

    workers: evaluation worker processes (default: min(2, CPUs)); 0 runs in this process."""
    from app.core.evaluation.config import EvalConfig, RolloutSettings
    from app.core.evaluation.evaluate import run_evaluation

    diffusion, regression = check_checkpoints()
    final = recording_path(recipe)
    folder = final.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoDataError(f"cannot create the demo data folder {folder}: "
                            f"{exc.strerror or exc}; set {DATA_DIR_ENV} to a writable folder") from exc
    partial = folder / f".{final.stem}.{os.getpid()}.partial.h5"
    partial.unlink(missing_ok=True)
    settings = RolloutSettings(scene=recipe.scene, record_samples=recipe.samples,
                               record_chain=False, max_steps=recipe.max_steps)
    config = EvalConfig(policies=[str(regression), str(diffusion)], seeds=list(recipe.seeds),
                        perturbations=[{}], settings=settings,
                        policy_labels=["regression", "diffusion"])
    total = len(config.jobs())
    started = time.perf_counter()

    def on_progress(done: int, total_jobs: int, outcome) -> None:
        if progress is None:
            return
        job = outcome.job
        status = "success" if outcome.ok and outcome.rollout.success else "failure"
        progress(done, total_jobs, f"{job.policy} seed {job.seed}: {status} "
                                   f"({time.perf_counter() - started:.0f} s)")

    if progress is not None:
        progress(0, total, "starting the evaluation workers")
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    try:
        result = run_evaluation(config, str(partial), backend="local", workers=workers,
                                progress=on_progress, durable=True)
        if result.failed or result.partial:
            # never cache a recording with holes: the next start tries again
            why = result.failures[0] if result.failures else "the evaluation stopped early"
            raise DemoDataError(f"the demo recording could not be made: {why}")
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
        # run_evaluation validates by building a scene and loading both planners in this
        # process (cached in app.core.evaluation.runner). Close them here, on the thread that made
        # them: a PyBullet client left to interpreter teardown crashed the app at exit.
        from app.core.evaluation.runner import clear_caches
        clear_caches()
    return final
