#!/usr/bin/env bash
# Regenerates the shipped checkpoints (used by `make checkpoints`):
#   resources/checkpoints/mug_grasp_diffusion   diffusion policy (FiLM 1-D U-Net, EMA weights)
#   resources/checkpoints/mug_grasp_regression  MSE regression baseline
# from scripted-expert demos collected here: PLACEMENTS mug placements, each demonstrated once
# with the left and once with the right grasp (`collect --paired`), so the grasp is independent
# of the placement in the data. One grasp per placement (the earlier recipe: 300 demos drawn
# 50/50) left a chance trend of the grasp with mug y that the diffusion policy learnt and
# amplified (left share sd 0.20 across placements; see docs/mode-analysis.md). CPU only, minutes.
# Each checkpoint's training.json records the command, date, git commit, the demo file's sha256
# and a data summary (scene, episodes, mode shares). The demo file itself is not shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PLANSCOPE="${PLANSCOPE:-.venv/bin/planscope}"
OUT=resources/checkpoints
PLACEMENTS="${PLACEMENTS:-150}"   # x 2 grasps = 300 demos, as many as the earlier recipe
DATA="${DATA:-$(mktemp -d)/mug_grasp_demos.h5}"
# One torch thread: bit-for-bit reproducible on any machine, and immune to the 10x slow-down
# spinning OpenMP threads suffer when other processes share the cores.
THREADS="${THREADS:-1}"

mkdir -p "$OUT"
echo "== collecting $PLACEMENTS mug_grasp placements x 2 grasps -> $DATA"
"$PLANSCOPE" collect --scene mug_grasp --paired --episodes "$PLACEMENTS" --seed 0 --force --out "$DATA"
echo "== training the diffusion policy"
"$PLANSCOPE" train --data "$DATA" --kind diffusion --force --out "$OUT/mug_grasp_diffusion" \
    --epochs "${DIFFUSION_EPOCHS:-80}" --seed 0 --threads "$THREADS"
echo "== training the regression baseline"
"$PLANSCOPE" train --data "$DATA" --kind regression --force --out "$OUT/mug_grasp_regression" \
    --epochs "${REGRESSION_EPOCHS:-100}" --seed 0 --threads "$THREADS"
# Record how the demos were made next to each checkpoint (training.json already holds the
# demo file's sha256 and summary; this adds the collect command that produced it).
for dir in "$OUT/mug_grasp_diffusion" "$OUT/mug_grasp_regression"; do
    "${PYTHON:-.venv/bin/python}" - "$dir" "$DATA" "$PLACEMENTS" <<'PY'
import json, sys
from planners.data import file_sha256
folder, data, placements = sys.argv[1], sys.argv[2], sys.argv[3]
record = {"collect_command": f"planscope collect --scene mug_grasp --paired --episodes {placements} "
                             f"--seed 0 --out {data}",
          "placements": int(placements), "grasps_per_placement": 2,
          "data_sha256": file_sha256(data), "made_by": "resources/make_checkpoints.sh (make checkpoints)"}
with open(f"{folder}/collect.json", "w") as fh:
    json.dump(record, fh, indent=2, sort_keys=True)
    fh.write("\n")
PY
done
du -sh "$OUT"/mug_grasp_*
