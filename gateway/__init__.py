"""The gateway: one origin for the browser (auth, rate limits, jobs, and the other services)."""
