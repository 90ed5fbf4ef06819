"""`python -m appliance` is the same as the `tpkit` command."""

from appliance.cli import main

raise SystemExit(main())
