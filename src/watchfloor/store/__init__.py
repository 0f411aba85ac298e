"""The store: the only place SQL lives, behind the ports in :mod:`watchfloor.store.ports`."""
