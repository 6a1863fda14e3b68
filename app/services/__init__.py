"""Every rule of the exchange. The API, the pages and the command line call
these functions; each state change is a named verb that writes its event in
the same transaction, and none of them commits (the caller's unit of work does)."""
