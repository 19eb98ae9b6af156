"""Locust capacity tests of the catalog models (``loadtests/locustfile.py``).

The Locust-free parts (plans, stage statistics, the recorder, the metrics and
the options) import nothing that patches the standard library, so prober and
the tests can use them; the users, shapes and session run under Locust only.
"""
