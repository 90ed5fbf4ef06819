"""`tpkit pack`: a county's folder of lessons, courseware and worksheets made into a ZIM book (issue 17, §1)."""
