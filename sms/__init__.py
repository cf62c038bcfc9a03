"""Sending and receiving SMS: gateways, the outbox, inbound commands, reminders and jobs."""
