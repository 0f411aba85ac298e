"""The application layer: every use case is one function, in one transaction, taking the actor by keyword."""
