"""Background work on Procrastinate: the app, its tasks and schedules (DESIGN §2, §8).

Thin: every task loads its psasync job and calls the use case (``services.jobs.run_job``).
"""
