"""Benchmarks of this machine and of the search (``nas benchmark``), each appending a section to the
benchmarks document:

* :mod:`~nas.bench.common` — the machine line and appending a section to the document;
* :mod:`~nas.bench.latency` — latency repeatability, LUT accuracy and build time, the zoo table, the CPU's
  noise floor; :mod:`~nas.bench.latency_zoo` — its zoo parts (a, d, e: repeatability, the zoo table, one core
  busy); :mod:`~nas.bench.latency_front` — its part f (the README's first command beside a busy core, the
  front re-timed); :mod:`~nas.bench.latency_report` — their markdown section;
* :mod:`~nas.bench.runtimes` — eager PyTorch against ONNX Runtime / OpenVINO / CUDA graphs;
* :mod:`~nas.bench.search` — candidates per minute and hypervolume by sampler;
* :mod:`~nas.bench.quality` — the headline: searched vs scaled references vs random networks at equal latency.

Import the submodules directly; this package imports nothing, so that ``nas --help`` stays fast.
"""
