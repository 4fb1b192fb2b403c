# Fine-Tuning, Hands-On — every command bootstraps .venv itself (re-installed when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# JupyterLab refuses to run as root (containers) unless told it is on purpose
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

.PHONY: lab lab-instructor workspace test test-portable unit notebooks execute data pretrain pretrain-text student site site-instructor bench clean-venv venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[lab,test,hub]"
	@touch $(STAMP)

venv: $(STAMP)

## make lab: install if needed, bring your working copies in workspace/ up to date (never overwriting one you
## changed), then open JupyterLab on them at lesson 00. LAB_ARGS go to jupyter lab, e.g. LAB_ARGS="--port 8890 --no-browser"
lab: $(STAMP)
	$(BIN)/python -m ftlib.tooling.lab $(ROOT_FLAG) $(LAB_ARGS)

## make lab-instructor: JupyterLab on the tracked lessons/ themselves (full solutions; edits change the course)
lab-instructor: $(STAMP)
	$(BIN)/python -m ftlib.tooling.lab --instructor $(ROOT_FLAG) $(LAB_ARGS)

## make workspace: only bring workspace/ up to date (what make lab does first)
workspace: $(STAMP)
	$(BIN)/python -m ftlib.tooling.lab --sync-only

# nbval in lax mode: every cell must run without an error; only cells marked # NBVAL_CHECK_OUTPUT (exact by
# nature) have their output compared. Why: docs/AUTHORING.md, "What the checks are for".
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout=300
# another configuration that computes other floats: generic instead of vectorised kernels, one thread
PORTABLE_ENV := ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1

## make test: install if needed, then unit tests, every lesson under nbval, hygiene, budgets, browser
test: $(STAMP)
	$(BIN)/python -m pytest tests lessons $(NBVAL) -p tests.lesson_timing -ra

## make test-portable: prove that PORTABLE_ENV changes the floats here, then the unit tests and every lesson again
## under it (not the browser tests, not the re-run test: floats do not matter there; the time budgets are reported,
## not judged: tests/test_budgets.py)
test-portable: $(STAMP)
	$(BIN)/python scripts/float_fingerprint.py $(PORTABLE_ENV)
	env $(PORTABLE_ENV) $(BIN)/python -m pytest tests lessons $(NBVAL) -p tests.lesson_timing -ra \
		--ignore-glob="tests/test_browser*.py" --ignore=tests/test_rerun.py

## make unit: only the fast unit tests (no notebooks)
unit: $(STAMP)
	$(BIN)/python -m pytest tests -ra

## make execute: re-run every lesson top to bottom in a fresh kernel and save it with outputs
execute: $(STAMP)
	$(BIN)/python scripts/execute_lessons.py $(LESSONS)

## make data: rebuild data/fashion_mnist_subset.npz from the full Fashion-MNIST (Debian: dataset-fashion-mnist)
## and the text track's glosses, tokenizer and licence from WordNet 3.0 (Debian: wordnet-base)
data: $(STAMP)
	$(BIN)/python -m ftlib.make_data
	$(BIN)/python -m ftlib.tooling.text_data

## make pretrain: reproduce the shipped pretrained backbone (about 2-3 minutes on 2 CPU cores)
pretrain: $(STAMP)
	$(BIN)/python -m ftlib.pretrain --overwrite

## make pretrain-text: reproduce the text track's language model, gloss_gpt and gloss_gpt_1k (4,000 steps, ~11 min on 2 cores)
pretrain-text: $(STAMP)
	$(BIN)/python -m ftlib.tooling.pretrain_lm --overwrite

## make student: student copies of the lessons in student/ (solutions replaced by stubs);
## an edited copy is kept unless FORCE=1 (then it is kept as NAME.backup-N.ipynb first)
student: $(STAMP)
	$(BIN)/python scripts/make_student.py $(if $(FORCE),--force)

## make site: the publishable static site in _site/ (no solutions: stubbed as in the student copies, exercise
## outputs hidden; formulas by a bundled MathJax, nothing loaded from the network); index.html is the contents
site: $(STAMP)
	$(BIN)/python scripts/build_site.py

## make site-instructor: the same site WITH every solution and output, in _site-instructor/ (do not publish)
site-instructor: $(STAMP)
	$(BIN)/python scripts/build_site.py --instructor

## make bench: training-loop overhead, widget latency, and lesson 12's live fine-tuning run
bench: $(STAMP)
	$(BIN)/python benchmarks/fit_overhead.py
	$(BIN)/python benchmarks/widget_latency.py
	$(BIN)/python benchmarks/text_live_run.py

clean-venv:
	rm -rf $(VENV)
