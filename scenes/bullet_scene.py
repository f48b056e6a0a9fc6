"""BulletScene: what every planscope scene shares (PyBullet DIRECT client, Panda, drawing data,
exact state, cameras, the 10 Hz control loop with events and perturbations).

A task subclass (mug_grasp, obstacle_reach) builds its bodies, samples its reset, defines its
observation, success and failure rules, label_mode and check_plan geometry.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from recordings.events import Event
from scenes.api import (ACTION_DIM, CONTROL_HZ, PHYSICS_HZ, Observation, SceneDescription,
                        SceneError, StepResult, VisualShape, LinkVisual)
from scenes.perturbations import Perturbation

SUBSTEPS = PHYSICS_HZ // CONTROL_HZ   # 24 physics steps per control step
_GEOM_KIND = {2: "sphere", 3: "box", 4: "cylinder", 5: "mesh", 6: "plane", 7: "capsule"}

CAMERAS: dict[str, dict[str, Any]] = {
    # eye, target (world metres), vertical field of view (deg)
    "front": {"eye": (1.45, 0.0, 0.80), "target": (0.30, 0.0, 0.18), "fov": 55.0},
    "side": {"eye": (0.40, -1.35, 0.60), "target": (0.35, 0.0, 0.22), "fov": 55.0},
    "top": {"eye": (0.5, 0.0, 1.1), "target": (0.5, 0.0, 0.0), "fov": 45.0, "up": (1, 0, 0)},
}


def _import_pybullet():
    """import pybullet without its C-level "pybullet build time" line on stderr (it would land in
    the middle of the CLI's progress bar and in every worker process's output)."""
    import sys
    if "pybullet" in sys.modules:
        return sys.modules["pybullet"]
    import os
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):   # no real stdout (embedded): import as is
        import pybullet
        return pybullet
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        import pybullet
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return pybullet


class BulletScene:
    """Base class. Subclasses set `name`, `modes`, `obs_spec`, `max_steps` and implement the
    `_build`, `_reset_task`, `_task_obs`, `_evaluate` hooks plus label_mode / check_plan."""

    name: str = ""
    modes: tuple[str, ...] = ()
    obs_spec: tuple[tuple[str, int], ...] = ()
    max_steps: int = 60
    workspace = ((0.2, -0.45, 0.0), (0.85, 0.45, 0.6))

    def __init__(self, *, asset_root: str | None = None, camera: bool = False,
                 perturb: dict | Perturbation | None = None):
        from scenes.assets import default_asset_root
        self.p = _import_pybullet()
        self.asset_root = asset_root or default_asset_root()
        self.want_image = bool(camera)
        self.perturbation = perturb if isinstance(perturb, Perturbation) else Perturbation.from_dict(perturb)
        self.client = self.p.connect(self.p.DIRECT)
        try:
            self.p.setPhysicsEngineParameter(fixedTimeStep=1.0 / PHYSICS_HZ, numSolverIterations=50,
                                             deterministicOverlappingPairs=1,
                                             physicsClientId=self.client)
            self.p.setGravity(0, 0, -9.81, physicsClientId=self.client)
            self.bodies: dict[str, int] = {}
            self._build()
        except BaseException:
            self.close()
            raise
        self.body_names = {uid: n for n, uid in self.bodies.items()}
        self._links = self._link_list()
        self.seed = 0
        self.step_count = 0
        self._flags = np.zeros(self.n_flags)  # task bookkeeping that belongs to the state
        self._pending = np.zeros((self.perturbation.delay, ACTION_DIM))
        self._contacts: set[tuple[str, str]] = set()
        self._at_limit: set[int] = set()
        self._image: np.ndarray | None = None

    # --- hooks for subclasses ----------------------------------------------------------------
    n_flags = 0

    def _build(self) -> None: raise NotImplementedError
    def _reset_task(self, rng: np.random.Generator) -> None: raise NotImplementedError
    def _task_obs(self) -> Observation: raise NotImplementedError

    def _evaluate(self, action: np.ndarray, contacts: set[tuple[str, str]]) -> tuple[bool, str]:
        """After one control step: (success, violation) where violation is "" or a reason."""
        raise NotImplementedError

    def episode_metrics(self) -> dict[str, float]:
        return {}

    # --- lifecycle ---------------------------------------------------------------------------
    def reset(self, seed: int) -> Observation:
        """Seeded reset: same seed, same scene, same observation (perturbations included)."""
        self.seed = int(seed)
        self.step_count = 0
        self._image = None
        self._flags[:] = 0.0
        self._pending = np.zeros((self.perturbation.delay, ACTION_DIM))
        rng = np.random.default_rng([self.seed, 0])
        self._reset_task(rng)
        self.perturbation.apply_at_reset(self, np.random.default_rng([self.seed, 1]))
        self._contacts = self._contact_pairs()
        self._at_limit = set(self.robot.at_joint_limit())
        if self.perturbation.delay:
            hold = np.append(self.robot.ee_pos(), self.robot.opening())
            self._pending[:] = hold
        return self.observe()

    def set_object_pose(self, x: float, y: float, yaw: float) -> None:
        """Move the task object (e.g. the mug) to (x, y) metres with `yaw` radians, at rest, keeping
        its height: the inspector's what-if. Raises SceneError when the scene has no task object."""
        body = self.bodies.get(getattr(self, "task_object", "") or "", None)
        if body is None:
            raise SceneError(f"scene {self.name!r} has no task object to move")
        p, c = self.p, self.client
        pos, _ = p.getBasePositionAndOrientation(body, physicsClientId=c)
        p.resetBasePositionAndOrientation(body, [float(x), float(y), pos[2]],
                                          p.getQuaternionFromEuler([0, 0, float(yaw)]), physicsClientId=c)
        p.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0], physicsClientId=c)
        self._image = None        # the cached camera image shows the old pose

    def close(self) -> None:
        if getattr(self, "client", None) is not None:
            try:
                self.p.disconnect(physicsClientId=self.client)
            except Exception:  # already gone: nothing left to free
                pass
            self.client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- observation ---------------------------------------------------------------------------
    def observe(self) -> Observation:
        """Low-dim fields in `obs_spec` order (float32), plus "image" [240,320,3] uint8 when the
        scene was made with camera=True. Observation noise (perturbation) is seeded per step."""
        obs = {k: np.asarray(v, dtype=np.float32) for k, v in self._task_obs().items()}
        obs = self.perturbation.noisy_obs(obs, self.obs_spec, self.seed, self.step_count)
        if self.want_image:
            # Rendering costs ~50 ms: reuse the frame until the simulation moves (step, reset,
            # set_state all clear it), since step() observes the same state twice per chunk.
            if self._image is None:
                self._image = self.camera_image("front")
            obs["image"] = self._image.copy()
        return obs

    # --- control -----------------------------------------------------------------------------
    def step(self, action_chunk: np.ndarray) -> StepResult:
        """Execute an action chunk [k, 4] (x, y, z world metres of the grasp target; gripper 1 =
        open), one row per 10 Hz control step, stopping early when the episode ends."""
        chunk = np.asarray(action_chunk, dtype=np.float64)
        if chunk.ndim == 1:
            chunk = chunk[None]
        if chunk.ndim != 2 or chunk.shape[1] != ACTION_DIM or not np.all(np.isfinite(chunk)):
            raise SceneError(f"{self.name}: action chunk must be a finite [k, {ACTION_DIM}] array, "
                             f"got shape {chunk.shape}")
        result = StepResult(obs={}, reward=0.0, done=False, events=[])
        for row in chunk:
            obs_before, state_before = self.observe(), self.get_state()
            applied = self.perturbation.noisy_action(row, self.seed, self.step_count)
            applied = self._delayed(applied)
            reward, done, success, events = self._control_step(applied)
            result.obs_trace.append(obs_before)
            result.state_trace.append(state_before)
            result.action_trace.append(applied.astype(np.float32))
            result.reward_trace.append(reward)
            result.events.extend(events)
            result.reward += reward
            result.success = result.success or success
            if done:
                result.done = True
                break
        result.obs = self.observe()
        return result

    def _delayed(self, action: np.ndarray) -> np.ndarray:
        if not self.perturbation.delay:
            return action
        out = self._pending[0].copy()
        self._pending = np.vstack([self._pending[1:], action[None]])
        return out

    def _control_step(self, action: np.ndarray) -> tuple[float, bool, bool, list[Event]]:
        lo, hi = self.workspace
        target = np.clip(action[:3], lo, hi)
        q = self.robot.ik(target)
        self.robot.command(q, float(action[3]))
        contacts: set[tuple[str, str]] = set()
        for _ in range(SUBSTEPS):
            self.p.stepSimulation(physicsClientId=self.client)
            contacts |= self._contact_pairs()
        step = self.step_count
        self.step_count += 1
        self._image = None
        events = [Event("contact", step, pair, {}) for pair in sorted(contacts - self._contacts)]
        self._contacts = contacts
        limits = set(self.robot.at_joint_limit())
        for j in sorted(limits - self._at_limit):
            events.append(Event("joint_limit", step, ("panda",), {"joint": j}))
        self._at_limit = limits
        success, violation = self._evaluate(action, contacts)
        done = success or bool(violation)
        if success:
            events.append(Event("success", step, (), {}))
        elif violation:
            # One marker per violation: the contact's onset event gets the reason attached.
            reason, *bodies = violation.split(":")
            pair = tuple(bodies)
            events = [e for e in events if not (e.kind == "contact" and e.bodies == pair)]
            events.append(Event("contact", step, pair, {"violation": reason}))
        elif self.step_count >= self.max_steps:
            if self.step_count == self.max_steps:
                events.append(Event("timeout", step, (), {"steps": self.step_count}))
            done = True
        return (1.0 if success else 0.0), done, success, events

    def _contact_pairs(self) -> set[tuple[str, str]]:
        """Named body pairs in contact now, sorted within each pair."""
        pairs = set()
        for c in self.p.getContactPoints(physicsClientId=self.client):
            a, b = self.body_names.get(c[1], "?"), self.body_names.get(c[2], "?")
            if a != b:
                pairs.add(tuple(sorted((a, b))))
        return pairs

    # --- exact state ---------------------------------------------------------------------------
    def get_state(self) -> np.ndarray:
        """Flat float64: per body (describe order) base pos[3] quat[4] linvel[3] angvel[3], then
        (q, qd) of every non-fixed joint; then step count, task flags [n_flags], and the pending
        delayed actions [delay*4]."""
        p, c = self.p, self.client
        parts: list[float] = []
        for uid in self.bodies.values():
            pos, orn = p.getBasePositionAndOrientation(uid, physicsClientId=c)
            lin, ang = p.getBaseVelocity(uid, physicsClientId=c)
            parts += [*pos, *orn, *lin, *ang]
            joints = self._movable[uid]
            if joints:
                for s in p.getJointStates(uid, joints, physicsClientId=c):
                    parts += [s[0], s[1]]
        parts.append(float(self.step_count))
        return np.concatenate([np.array(parts, dtype=np.float64), self._flags,
                               self._pending.reshape(-1)])

    def set_state(self, state: np.ndarray) -> None:
        """Restore a vector from get_state exactly (poses, velocities, bookkeeping)."""
        state = np.asarray(state, dtype=np.float64)
        if state.shape != (self.state_size,):
            raise SceneError(f"{self.name}: state has {state.size} values, expected {self.state_size}")
        p, c, i = self.p, self.client, 0
        for uid in self.bodies.values():
            s = state[i:i + 13]
            i += 13
            p.resetBasePositionAndOrientation(uid, s[0:3].tolist(), s[3:7].tolist(), physicsClientId=c)
            p.resetBaseVelocity(uid, s[7:10].tolist(), s[10:13].tolist(), physicsClientId=c)
            for j in self._movable[uid]:
                p.resetJointState(uid, j, float(state[i]), float(state[i + 1]), physicsClientId=c)
                i += 2
        self.step_count = int(state[i])
        i += 1
        self._flags = state[i:i + self.n_flags].copy()
        i += self.n_flags
        self._pending = state[i:].reshape(-1, ACTION_DIM).copy()
        self._image = None
        self._contacts = self._contact_pairs()
        self._at_limit = set(self.robot.at_joint_limit())

    @property
    def state_size(self) -> int:
        return (13 * len(self.bodies) + 2 * sum(len(v) for v in self._movable.values()) + 1
                + self.n_flags + ACTION_DIM * self.perturbation.delay)

    # --- drawing ---------------------------------------------------------------------------------
    def _link_list(self) -> list[tuple[str, int, int]]:
        """(body name, uid, link index) of every link that has visual shapes, bases first."""
        p, c = self.p, self.client
        self._movable = {}
        out = []
        for name, uid in self.bodies.items():
            n = p.getNumJoints(uid, physicsClientId=c)
            self._movable[uid] = [j for j in range(n)
                                  if p.getJointInfo(uid, j, physicsClientId=c)[2] != p.JOINT_FIXED]
            with_shapes = sorted({v[1] for v in p.getVisualShapeData(uid, physicsClientId=c)})
            out += [(name, uid, link) for link in with_shapes]
        return out

    def describe(self) -> SceneDescription:
        """Bodies' visual shapes in their link frames (meshes with absolute paths), in the order
        of `link_poses()` rows."""
        p, c = self.p, self.client
        by_link: dict[tuple[int, int], list[VisualShape]] = {}
        for uid in self.bodies.values():
            for v in p.getVisualShapeData(uid, physicsClientId=c):
                kind = _GEOM_KIND.get(v[2], "mesh")
                dims = tuple(float(x) for x in v[3])
                if kind == "sphere":
                    size = (dims[0],)
                elif kind in ("cylinder", "capsule"):
                    size = (dims[1], dims[0])   # PyBullet reports (length, radius)
                elif kind == "box":
                    size = tuple(d / 2 for d in dims)  # PyBullet reports full extents
                else:
                    size = dims
                mesh = v[4].decode() if isinstance(v[4], bytes) else str(v[4])
                by_link.setdefault((uid, v[1]), []).append(VisualShape(
                    kind=kind, size=size, rgba=tuple(float(x) for x in v[7]),
                    local_position=tuple(float(x) for x in v[5]),
                    local_orientation=tuple(float(x) for x in v[6]),
                    mesh_file=mesh if kind == "mesh" else ""))
        links = [LinkVisual(body=name, link_index=link, shapes=tuple(by_link[(uid, link)]))
                 for name, uid, link in self._links]
        return SceneDescription(name=self.name, links=links,
                                workspace=(tuple(self.workspace[0]), tuple(self.workspace[1])),
                                modes=self.modes)

    def link_poses(self) -> np.ndarray:
        """[L, 7] world pose (xyz, quaternion xyzw) of the URDF frame of every link in describe()
        order; visual shapes' local poses are relative to these frames."""
        p, c = self.p, self.client
        out = np.empty((len(self._links), 7))
        for row, (_, uid, link) in enumerate(self._links):
            if link < 0:
                pos, orn = p.getBasePositionAndOrientation(uid, physicsClientId=c)
                # getBasePositionAndOrientation is the inertial frame: undo its local offset.
                info = p.getDynamicsInfo(uid, -1, physicsClientId=c)
                inv_pos, inv_orn = p.invertTransform(info[3], info[4])
                pos, orn = p.multiplyTransforms(pos, orn, inv_pos, inv_orn)
            else:
                state = p.getLinkState(uid, link, computeForwardKinematics=True, physicsClientId=c)
                pos, orn = state[4], state[5]
            out[row, :3], out[row, 3:] = pos, orn
        return out

    def camera_image(self, camera: str = "front", width: int = 320, height: int = 240) -> np.ndarray:
        """PyBullet's TinyRenderer image of a named camera: [height, width, 3] uint8 RGB."""
        if camera not in CAMERAS:
            raise SceneError(f"unknown camera {camera!r}; valid: {', '.join(CAMERAS)}")
        cam, p = CAMERAS[camera], self.p
        view = p.computeViewMatrix(cam["eye"], cam["target"], cam.get("up", (0, 0, 1)),
                                   physicsClientId=self.client)
        proj = p.computeProjectionMatrixFOV(cam["fov"], width / height, 0.02, 5.0,
                                            physicsClientId=self.client)
        _, _, rgba, _, _ = p.getCameraImage(width, height, view, proj,
                                            renderer=p.ER_TINY_RENDERER,
                                            physicsClientId=self.client)
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()

    @property
    def cameras(self) -> tuple[str, ...]:
        return tuple(CAMERAS)


def yaw_features(yaw: float) -> np.ndarray:
    """[2] (cos, sin) of a yaw angle: continuous where the raw angle wraps."""
    return np.array([math.cos(yaw), math.sin(yaw)])
