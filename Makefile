# The two commands of the README. Both install what is missing first (scripts/bootstrap.sh).
.PHONY: run test bootstrap lint bench

bootstrap:
	bash scripts/bootstrap.sh

run: bootstrap
	.venv/bin/jingpin init
	.venv/bin/jingpin demo
	.venv/bin/jingpin serve

test: bootstrap
	bash scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

# Each script prints its figures; BENCHMARKS.md records them with the machine and date.
bench: bootstrap
	for b in signing documents agreements verify funding finance_summary; do \
	  .venv/bin/python -m bench.bench_$$b || exit 1; done
