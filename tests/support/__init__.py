"""Servers and harnesses the tests, benchmarks and tools share; not part of the library (``genre_models``).

Imported as ``tests.support`` with the checkout's root on ``sys.path``: pytest puts it there
(``pythonpath = .`` in pytest.ini), ``python -m bench`` runs from it, and the tools add it.
"""
