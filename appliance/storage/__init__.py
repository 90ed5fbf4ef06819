"""SQLite storage: people's data. Must not import services, content, edges or web."""
