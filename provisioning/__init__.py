"""Celery tasks (tasks.py) and the cloud backends.

The backends (Azure, Kubernetes, sandbox) import nothing from Django; the tasks are thin and call
portal services, which own the database rows.
"""
