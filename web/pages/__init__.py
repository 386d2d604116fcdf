"""The pages, one module per role's work; each calls the same services as the API."""
