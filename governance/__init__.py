"""Governance of the warehouse: roles, access audit and erasure on request (issue 15).

A library beside ``sources``: it imports only the base (settings, db) and reads nothing but
the warehouse; the shells (CLI, orchestration) give it what it needs from elsewhere.
"""
