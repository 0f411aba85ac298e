"""The command-line shell: parse options, call one service, render. No SQL and no policy here."""
