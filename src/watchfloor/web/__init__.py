"""The analyst web console and its JSON API: a thin shell over the service layer (DESIGN.md)."""
