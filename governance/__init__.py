"""Governance of the warehouse: roles, personal-data classification and masking, audit, erasure.

A library beside `sources`: it imports only the base (`portrait.settings`, `portrait.db`).
"""
