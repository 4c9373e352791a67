"""HTTP handlers: each translates a request into a call on the domain modules, and back."""
