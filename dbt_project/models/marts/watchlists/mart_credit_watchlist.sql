{#- Customers whose credit needs a look, on the latest feature snapshot, ranked: those the default
    model grades D or E, and those carrying any tag that raises a credit warning (catalog
    `raises: credit_warning`, e.g. frequent late payment, high overdue, worsening payment). Ranked by
    default score when scored, then by number of warnings and overdue balance. -#}

{{ watchlist('credit_warning', 'default_90dpd_180d') }}
