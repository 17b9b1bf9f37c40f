"""HTTP edge: one Chalice Blueprint per area. Routes parse, check roles, call a service, shape the reply."""
