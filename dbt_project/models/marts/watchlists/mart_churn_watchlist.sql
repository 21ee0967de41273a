{#- Customers to win back before they leave, on the latest feature snapshot, ranked: those the churn
    model puts in its high band, and those carrying any tag that raises a churn warning (catalog
    `raises: churn_warning`, e.g. declining value, RFM at risk, lifecycle decline). Ranked by churn
    score when scored, then by number of warnings and 365-day value. Customers already churned (no
    order in 365 days) are left out: they are the win-back list's, not this one's. -#}

{{ watchlist('churn_warning', 'churn_180d') }}
