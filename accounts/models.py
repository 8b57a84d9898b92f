"""Accounts are Django's own users, each given one role through a group (``accounts.roles``).

Their API tokens are ``tokens.models.ApiToken``, shared with detectors' service users.
"""
