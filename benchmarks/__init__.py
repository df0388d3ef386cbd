"""Side-by-side benchmarks of cnnwidgets against its peer libraries.

Run ``python -m benchmarks`` (full) or ``python -m benchmarks --quick`` (tiny settings, agreement
checks only). See ``docs/benchmarks.md``.
"""
