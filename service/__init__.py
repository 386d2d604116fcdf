"""The use cases of motcua, called alike by the JSON API (api/) and the pages (web/)."""
