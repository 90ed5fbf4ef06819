"""The kit's threat model, as tests: each module says who attacks, from where, with what, and what stops them."""
