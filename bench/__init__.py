"""Benchmarks: ``python -m bench [name ...]`` (overhead, zeroshot, extract, startup, growth).

Each benchmark prints its figures and ends with its ratio, measured within one run on this machine
(these machines are noisy: only ratios taken side by side mean anything). Full-size architectures run
with random weights, which cost exactly what pretrained ones do; MiniLM runs with its real weights.
"""
