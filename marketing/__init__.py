"""Marketing activation: the customer filter language (shared with the profile service) and
audiences — saved, versioned filters materialised per campaign with a reproducible holdout."""
