"""USSD hop benchmark: wrk against gunicorn, PostgreSQL (200 000 members) and a Redis server."""
