"""HTTP: thin routes and templates over services. Nothing imports web except cli."""
