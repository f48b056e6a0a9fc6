#!/usr/bin/env bash
# How docs/screenshots/inspector-non-hand.png was made (not part of CI): a real planscope recording
# re-expressed with DELTA actions (hand target minus the current hand position, metres; gripper as
# recorded) and no scene name, the way a robot without a simulator logs relative motion commands;
# a small planscope diffusion policy trained on it; the data-frame inspector at episode 2, frame 0.
# Under load (2 cores, load ~11): collect 17 s, train ~6 min.
set -euo pipefail
OUT=${1:-/tmp/planscope-non-hand}
mkdir -p "$OUT"
planscope collect --scene mug_grasp --episodes 60 --seed 0 --out "$OUT/demos.h5"
python - "$OUT/demos.h5" "$OUT/deltas.h5" <<'PY'
import json, shutil, sys
import h5py, numpy as np
src, dst = sys.argv[1], sys.argv[2]
shutil.copyfile(src, dst)
with h5py.File(dst, "r+") as f:
    data = f["data"]
    env = json.loads(data.attrs["env_args"])
    env["env_name"] = ""                       # no scene: nothing can label its modes
    data.attrs["env_args"] = json.dumps(env)
    for name in [n for n in data if n.startswith("demo_")]:
        ep = data[name]
        actions = ep["actions"][()]
        actions[:, :3] -= ep["obs"]["ee_pos"][()]    # delta = target - current hand position
        del ep["actions"]
        ep.create_dataset("actions", data=actions.astype(np.float32))
PY
planscope train --data "$OUT/deltas.h5" --kind diffusion --out "$OUT/delta_policy200" --epochs 200 \
    --down-dims 32,64 --quiet --force
xvfb-run -a -s "-screen 0 1920x1200x24" planscope snapshot --view inspector --size 1600x1000 \
    --policy "$OUT/delta_policy200" --data "$OUT/deltas.h5" --episode 2 --frame 0 \
    --out docs/screenshots/inspector-non-hand.png
