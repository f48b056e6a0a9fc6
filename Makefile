# Two commands set everything up on a fresh machine:  make demo  and  make test.
# Both create .venv/, install missing system packages (apt-get as root, else print the command),
# install torch 2.13.0 (CPU) first when no torch is present, then the project.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.planscope-installed
SYSTEM_PACKAGES := xvfb xauth libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 \
	libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 \
	libxcb-xfixes0 libegl1 libgl1 libglx-mesa0 libgl1-mesa-dri libdbus-1-3 libfontconfig1

.PHONY: demo test test-acceptance test-stress system venv install bench snapshot checkpoints clean-venv lint-imports

demo: install
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
		echo "No display found: running the demo on a virtual screen (xvfb-run)."; \
		xvfb-run -a -s "-screen 0 1600x1000x24" $(VENV)/bin/planscope demo $(DEMO_ARGS); \
	else $(VENV)/bin/planscope demo $(DEMO_ARGS); fi

test: install
	$(VENV)/bin/lint-imports pyproject.toml
	$(PY) -m pytest -q -m "not acceptance" $(PYTEST_ARGS)

# The issues' end-to-end acceptance runs on 200 recorded demonstrations (minutes each; not in CI).
test-acceptance: install
	$(PY) -m pytest -q -m acceptance $(PYTEST_ARGS)

# The full GUI suite (tests/app/qt and every test using qtbot/qapp) with Qt timer/paint events
# delivered late, under one busy-loop process per core that the target starts and ends itself,
# RUNS (or STRESS_RUNS; default 3) runs in a row: `make test-stress RUNS=3`; prints one line per
# run (time, pass counts) and a last summary line (tests/stress.py; not in CI). STRESS_ARGS go
# to pytest (test paths there replace the suite).
test-stress: install
	$(PY) -m tests.stress --runs $(or $(RUNS),$${STRESS_RUNS:-3}) $(STRESS_ARGS)

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = "0" ]; then \
			echo "Installing system packages:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "Missing system packages. Run:"; \
			echo "  sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi

venv:
	@test -x $(PY) || python3 -m venv $(VENV)

install: system venv $(STAMP)

$(STAMP): pyproject.toml | venv
	@$(PY) -c "import torch" 2>/dev/null || { echo "Installing torch 2.13.0 (CPU build) first"; $(PIP) install -q torch==2.13.0; }
	$(PIP) install -q -e ".[test]"
	@echo "Compiling the 2-D plan rasteriser (numba, cached for every later start)"
	@$(PY) -c "from app.qt.plots.plan_raster import warm_up; warm_up()"
	@touch $(STAMP)

bench: install
	$(VENV)/bin/planscope bench

snapshot: install
	$(VENV)/bin/planscope snapshot --force --out docs/screenshots/main.png

# Regenerates the shipped checkpoints in resources/checkpoints (collect + train, CPU, minutes).
checkpoints: install
	bash resources/make_checkpoints.sh

clean-venv:
	rm -rf $(VENV)
