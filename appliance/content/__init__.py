"""Read-only content packages (ZIM books). Must not import storage, edges, services or web."""
