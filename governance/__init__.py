"""Governance in the warehouse: the role migration (roles), erasure on request (erasure) and
the access log (audit). A library: it imports only the base (portrait.settings, portrait.db)."""
