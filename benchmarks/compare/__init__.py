"""Side-by-side comparison: this project, LaminDB and the physical floor, on the same data in one run.

    python -m benchmarks compare --sizes 1e3,1e4,1e5,1e6     # writes benchmarks/results/compare.json
    python -m benchmarks report                              # table + log-log PNGs in benchmarks/results/
    python -m benchmarks scale                               # 10^8 streamed values, 10^7 records

Each system runs in its own subprocess (LaminDB inside its own virtual environment,
``benchmarks/.venv-lamindb``), reads the same Parquet files written by ``data.py`` and reports
one JSON line per measurement. Modules here import nothing heavy at import time, so the
LaminDB side can import ``benchmarks.compare.timing`` from its own interpreter.
"""
