"""Pure renderers: md, html, csv, json, the timeline, SVG charts, the live board, ICS, and the one
table of event text (zh/en) shared by the terminal, the exports and the notifiers.
May import: `engine`, `schedule` and everything below them."""
