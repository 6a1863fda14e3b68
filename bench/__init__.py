"""The benchmark harness: seed a database in bulk, serve it with uvicorn, drive
it with wrk, and write bench/RESULTS.md. `python -m bench.run --help`."""
