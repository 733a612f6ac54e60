"""The cloud backends (Azure, Kubernetes, sandbox), Bicep reading, cost, health and RBAC.

Plain Python: nothing here imports Django or `portal`. The Celery tasks live beside their apps
(`portal/<app>/tasks.py`) and call the portal's services, which own the database rows and pick a
backend from settings.
"""
