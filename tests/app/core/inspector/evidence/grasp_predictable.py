"""Is the data's grasp predictable from the frame-0 state? (300 demos, seeds 0..299)"""
import sys, numpy as np
sys.path.insert(0, ".")  # run from the repository root
from recordings.dataset import open_dataset
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, StratifiedKFold
ds = open_dataset(sys.argv[1])
eps = ds.episodes
y = np.array([e.mode == "left" for e in eps])
x = np.stack([np.concatenate([np.ravel(ds.frame(i, 0)[k]) for k in ("mug_pos", "mug_yaw")]) for i in range(len(eps))]) if hasattr(ds, "frame") else None
print("episodes", len(eps), "left share", y.mean())
for name, cols in (("mug_x", [0]), ("mug_y", [1]), ("yaw", [3, 4]), ("all", [0, 1, 3, 4])):
    acc = cross_val_score(LogisticRegression(C=1.0), x[:, cols], y, cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean()
    print(f"{name}: 5-fold CV accuracy {acc:.3f} (chance {max(y.mean(), 1 - y.mean()):.3f}); corr with left {np.corrcoef(x[:, cols[0]], y)[0, 1]:+.3f}")
for lo, hi in ((-0.1, -0.05), (-0.05, 0), (0, 0.05), (0.05, 0.1)):
    sel = (x[:, 1] >= lo) & (x[:, 1] < hi)
    print(f"mug_y in [{lo:+.2f},{hi:+.2f}): {sel.sum()} demos, left {y[sel].mean():.2f}")
