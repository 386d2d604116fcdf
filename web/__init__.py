"""The pages of motcua: server-rendered HTML for every role (issue 9)."""
