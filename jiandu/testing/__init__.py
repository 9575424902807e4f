"""Loopback servers shared by the test suite and the benchmark (bench/): neither imports the other."""
