"""The product's logic, with no HTTP. May import storage, content, edges, config, errors, paths."""
