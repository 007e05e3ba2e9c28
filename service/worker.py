"""The RQ worker class the Procfile runs: job code is imported once, so every forked job starts warm."""
from rq import Worker as RQWorker

import service.jobs  # noqa: F401  (preloaded: work-horses fork from this process)


class Worker(RQWorker):
    """RQ's forking worker, with Deal Pulse's job modules already imported."""
