# The two commands of the README, and a few more. Each sets itself up first.
.PHONY: demo test bench lint setup

setup:
	@bash scripts/bootstrap.sh

demo: setup
	.venv/bin/python -m autograd_lite demo

test: setup
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python benchmarks/bench_core.py
	.venv/bin/python benchmarks/bench_train.py

lint: setup
	.venv/bin/ruff check autograd_lite tests benchmarks
	.venv/bin/ruff format --check autograd_lite tests benchmarks
