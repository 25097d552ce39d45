"""What auditors and field teams read: HTML validation and run reports (jinja2 templates in the repository's
`templates/` folder, self-contained, every value escaped), the CSV of failed rows, report locations."""
