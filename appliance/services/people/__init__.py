"""People: accounts, passwords and PINs, sessions and their throttles, who may see whom, roster imports.

Must not import web, hub or cli."""
