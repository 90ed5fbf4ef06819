"""tpkit: the software of a classroom kit that serves a library and a learning space offline."""

__version__ = "0.1.0"
