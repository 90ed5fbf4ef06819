"""HTTP: thin routes and templates over services. Nothing imports web except cli."""

from appliance.webcore import bounded_ids

bounded_ids.register()  # before any route module makes its Routes: `{x:int}` takes at most 18 digits
