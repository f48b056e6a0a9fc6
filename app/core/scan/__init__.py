"""Dataset scans (Qt-free): which frames, the per-frame work, where it runs, the scan file.

    config.py    ScanConfig / ScanSettings, jobs, per-frame seeds, the scan file's columns
    work.py      one process's context (data, policies, nearest frames) and the per-frame row
    backends.py  in-process, local worker processes, Ray
    engine.py    validate, run, write in job order, Ctrl+C / dead workers -> partial file
    state.py     the Scan workspace's model: open scan file, metric, heat map, queue, tags
"""
