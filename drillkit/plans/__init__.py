"""Playbooks and scenarios from YAML: the strict loader, checks beyond the schema, JSON Schemas,
and finding a workspace's plans. May import: `config`, `model`."""
