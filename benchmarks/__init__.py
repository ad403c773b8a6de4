"""Speed and learning-quality benchmarks (run from the repository root with ``python -m benchmarks.<name>``)."""
