"""The gallery's HTTP routes, one module per resource."""
