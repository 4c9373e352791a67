"""Touchpoint: mystery-shopping and customer-touchpoint audits scored against a brand promise."""
