"""Benchmarks of this machine and of the search (``nas benchmark``), each appending a section to the
benchmarks document:

* :mod:`~nas.bench.common` — the machine line and appending a section to the document;
* :mod:`~nas.bench.latency` — latency repeatability, LUT accuracy and build time, the zoo table, the CPU's
  noise floor; :mod:`~nas.bench.latency_report` — their markdown section;
* :mod:`~nas.bench.search` — candidates per minute and hypervolume by sampler.

Import the submodules directly; this package imports nothing, so that ``nas --help`` stays fast.
"""
