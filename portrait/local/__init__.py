"""The local demo stack: private PostgreSQL, the UIs, the pipeline runner and its summary."""
