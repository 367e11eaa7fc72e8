"""Language, sentiment and entities."""
