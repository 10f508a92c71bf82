"""Mail and webhooks, sent from an outbox table: events are queued in the transaction that
records them and sent afterwards by a worker in each server process (README, "Mail,
notifications and webhooks")."""
