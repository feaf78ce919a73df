"""The teacher: the Anthropic Messages API client (retries, timeouts, concurrency, reply parsing)."""
