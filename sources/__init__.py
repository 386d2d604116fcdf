"""The files motcua reads its data from (`data/`): the working-day calendar's overrides and the
catalogue, each re-read when the file changes. Not activities: the worker, the API and
`db.migrate` all read them."""
