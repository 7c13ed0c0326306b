"""The record: the `RecordStore` port and its adapters (JSON-lines files, PostgreSQL), the hash chain,
verification and the run index. May import: `config`, `model`."""
