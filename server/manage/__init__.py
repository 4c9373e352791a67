"""The managers' web: periods, figures and charts (pure), routes and Jinja templates."""
