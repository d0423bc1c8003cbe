"""Reader throughput measurement (upstream's ``petastorm.benchmark``); ``petastorm-throughput.py`` is
:mod:`petastorm.benchmark.cli`."""
