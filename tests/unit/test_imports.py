import subprocess
import sys


def test_the_server_loads_no_http_client_library_until_an_evaluator_or_embedder_calls_out() -> None:
    # aiohttp (the judge's and the upstream embedder's client) holds ~7 MB of RSS once
    # imported; a server with neither configured must not pay it (the RSS budget is 150 MB).
    probe = "import sys, glassgate.app, glassgate.cli.main; print([m for m in sys.modules if m.startswith('aiohttp')])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
