"""memory-suite: run, compare, plot and render memory benchmarks (see `memory-suite --help`)."""
