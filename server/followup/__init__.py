"""Follow-up: integrity flags on audits that look invented, actions that put failures right, and
webhooks that tell other systems about both."""
