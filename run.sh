#!/usr/bin/env bash
# One entry point that does its own set-up: ./run.sh demo | test | bench | examples | docs
# It makes a virtual environment in .venv (reused later), installs the package into it,
# and installs Debian's graphviz (the `dot` binary) when it is missing and we may.
set -euo pipefail
cd "$(dirname "$0")"
cmd="${1:-demo}"; shift || true

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
extras="plot,progress"
[ "$cmd" = "test" ] && extras="test"
[ "$cmd" = "docs" ] && extras="docs"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${extras}]"

if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq graphviz) >/dev/null
  else
    echo "note: graphviz's 'dot' is missing; graphs are written as DOT source." >&2
    echo "      install it with 'sudo apt-get install graphviz' or 'brew install graphviz'." >&2
  fi
fi

case "$cmd" in
  demo)     exec .venv/bin/python -m tinygrad_course demo "$@" ;;
  # One BLAS thread per test process, one process per core (pytest-xdist): the tests' matrices
  # are small, and BLAS thread pools fighting the test processes make them slower, not faster.
  test)     OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 exec .venv/bin/python -m pytest -n auto "$@" ;;
  bench)    exec .venv/bin/python benchmarks/run.py "$@" ;;
  examples) for f in examples/[0-9]*.py; do .venv/bin/python "$f" "$@"; done ;;
  # The site in site/: the course notebooks made from examples/ and executed (quick settings),
  # then the API reference and pages, with warnings as errors. NO_MKDOCS_2_WARNING quiets a banner.
  docs)     .venv/bin/python tools/build_notebooks.py "$@"
            NO_MKDOCS_2_WARNING=1 exec .venv/bin/python -m mkdocs build --strict ;;
  *) echo "usage: ./run.sh demo|test|bench|examples|docs [args...]" >&2; exit 2 ;;
esac
