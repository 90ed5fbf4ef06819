"""The county lessons book: teachers' lessons the county accepted, made into a ZIM book (issue 17, §4)."""
