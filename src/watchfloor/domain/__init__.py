"""Pure domain types: no I/O, no framework, no wall clock (time comes from an injected Clock)."""
