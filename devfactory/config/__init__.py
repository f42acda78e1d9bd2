"""Packaged configuration: model aliases, the governance policy and the price table.

``models.yaml``, ``policy.yaml`` and ``prices.yaml``; settings (``models_file``,
``policy_file``, ``prices_file``) point at copies to override them.
"""
