// Work in progress: not a template yet.
