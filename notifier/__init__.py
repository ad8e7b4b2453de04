"""The notifier: delivers the events outbox to webhook endpoints (``videoforge notifier``)."""
