"""Slack: Block Kit rendering, the Web API client, the delivery channel and the bolt app."""
