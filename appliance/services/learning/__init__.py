"""The learning space: lessons, homework and uploads, quizzes, notebooks, learning records (xAPI).

Must not import web, hub or cli."""
