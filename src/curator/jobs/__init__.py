"""The job engine: planning, requests, running with leases and attempts, batches, result handlers per job kind."""
