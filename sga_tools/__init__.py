"""Tools people and CI run: the `sga` command, the stack runner, the web chat page server, the
Teams app package and the spaCy pipeline build. Nothing else imports this package."""
