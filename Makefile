# The two commands of the README. Both install what is missing first (scripts/bootstrap.sh).
.PHONY: run test bootstrap lint bench cluster cluster-stop

bootstrap:
	bash scripts/bootstrap.sh

run: bootstrap
	.venv/bin/jingpin init
	.venv/bin/jingpin demo
	.venv/bin/jingpin serve

test: bootstrap
	bash scripts/test.sh

# ruff (incl. PLC0415: imports at module top), the formatter, mypy, and the import layers
# (import-linter, contracts in pyproject.toml; see backend/ARCHITECTURE.md).
lint: bootstrap
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports

# Each script prints its figures; BENCHMARKS.md records them with the machine and date.
bench: bootstrap
	for b in signing documents agreements verify funding finance_summary; do \
	  .venv/bin/python -m bench.bench_$$b || exit 1; done

# Two app hosts + two workers + SeaweedFS on this machine (README: Running on several machines).
cluster: bootstrap
	bash scripts/cluster.sh start var/cluster

cluster-stop:
	bash scripts/cluster.sh stop var/cluster
