"""``netremedy``: the command-line client of the netremedy API (submit jobs, follow them, fetch results)."""
