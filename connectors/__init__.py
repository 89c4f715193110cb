"""HR system connectors: declarative definitions, auth, paging and field extraction, feeding worker records."""
