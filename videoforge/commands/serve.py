"""``videoforge serve gateway|gallery|streaming``: run one HTTP service with uvicorn."""

from __future__ import annotations

import argparse

# The services and their factories: videoforge/services.py. Named here, so that --help
# loads no service.
DEFAULT_PORTS = {"gateway": 8000, "gallery": 8001, "streaming": 8002}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", choices=sorted(DEFAULT_PORTS))
    parser.add_argument("--host", default=None,
                        help="address to bind (default: VF_HOST, else 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None,
                        help="port (default: VF_PORT for the gateway, else 8000/8001/8002)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")


def _defaults(service: str) -> tuple[str, int]:
    """Host and port from the service's settings where it has them."""
    if service == "gateway":
        from gateway.settings import GatewaySettings

        settings = GatewaySettings()
        return settings.host, settings.port
    return "127.0.0.1", DEFAULT_PORTS[service]


def run(args: argparse.Namespace) -> int:
    import uvicorn

    target = f"videoforge.services:{args.service}_app"
    host, port = _defaults(args.service)
    host = args.host or host
    port = args.port if args.port is not None else port
    if not 0 < port < 65536:
        print(f"error: --port {port} is not a TCP port")
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1")
        return 2
    if args.workers > 1:
        from common.metrics import use_multiprocess_dir

        # Set before uvicorn starts the workers, which inherit it: they count in files
        # there, and whichever holds the metrics port serves their sum.
        use_multiprocess_dir(args.service, port)
    # Our structlog access lines replace uvicorn's (which would log query strings).
    uvicorn.run(target, factory=True, host=host, port=port, workers=args.workers,
                access_log=False, proxy_headers=False, log_level="warning")
    return 0
