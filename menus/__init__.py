"""USSD screens declared as data; `ussd_app.engine` turns them into one state machine at import.

How to add a screen, the kinds of screen, callbacks and writes, resumable tasks: CONTRIBUTING.md,
"A USSD screen". The rules the screens follow: docs/design.md, "The USSD session" and "USSD menus".
"""
