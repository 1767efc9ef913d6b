# The two commands of the README, and a few more. Each sets itself up first
# (scripts/dev.py; without make: `python scripts/dev.py demo|test|docs`).
.PHONY: demo test docs bench lint setup

demo:
	@bash scripts/bootstrap.sh demo

test:
	@bash scripts/bootstrap.sh test

docs:
	@bash scripts/bootstrap.sh docs

setup:
	@bash scripts/bootstrap.sh setup test

bench: setup
	.venv/bin/python benchmarks/bench_core.py
	.venv/bin/python benchmarks/bench_train.py

lint: setup
	.venv/bin/ruff check autograd_lite tests benchmarks scripts
	.venv/bin/ruff format --check autograd_lite tests benchmarks scripts
