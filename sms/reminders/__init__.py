"""Automated reminders: the rules and their texts, set-based planning, one SMS a member a day."""
