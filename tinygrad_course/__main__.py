"""`python -m tinygrad_course ...`: the same command line as `tinygrad-course ...`."""
from .cli import main

raise SystemExit(main(prog="python -m tinygrad_course"))
