"""The ``videoforge`` console command.

Each subcommand is a module in ``videoforge/commands`` with ``add_arguments(parser)``
and ``run(args) -> int``. Modules are imported only when their command runs, so
``videoforge --help`` and light commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module under videoforge.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "transcode": ("transcode", "transcode a local video file into the quality ladder"),
    "worker": ("worker", "run a fleet worker: poll SQS and transcode jobs"),
    "autoscaler": ("autoscaler", "run the controller that sizes the worker fleet"),
    "notifier": ("notifier", "deliver events to registered webhook endpoints"),
    "provision": ("provision", "create or update the AWS resources the platform needs"),
    "deploy": ("deploy", "deploy gallery and streaming as Lambda functions behind an HTTP API"),
    "simulate": ("simulate", "simulate autoscaling policies on a job trace"),
    "serve": ("serve", "run one HTTP service (gateway, gallery or streaming)"),
    "up": ("up", "start the whole platform on this machine"),
    "submit": ("submit", "upload a file, transcode it and print its URLs"),
    "migrate": ("migrate", "bring the database schema up to date"),
    "singleton": ("singleton", "run a command while holding a lock no other machine holds"),
    "runtime-env": ("runtime_env", "write the provisioned settings to an environment file"),
}

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def _usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = ["usage: videoforge COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run 'videoforge COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return EXIT_OK
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    module_name, text = COMMANDS[name]
    module = importlib.import_module(f"videoforge.commands.{module_name}")
    parser = argparse.ArgumentParser(prog=f"videoforge {name}", description=text)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or EXIT_OK)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
