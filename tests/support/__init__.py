"""Helpers the tests import; the fixtures built on them live in the conftest files.

- ``services``: where the test PostgreSQL and Redis are; emptying the test database.
- ``aws_resources``: fresh buckets and queues on the moto server, and reading a queue back.
- ``autoscaling``: an Auto Scaling group in moto.
- ``cognito``: a moto user pool with the users owner, other and admin.
- ``service_settings``: an HTTP service's settings pointed at the test resources.
- ``videos``: catalogue rows and published assets, as the gallery and the worker leave them.
- ``media``: tiny clips made with ffmpeg, and ffprobe readers.
- ``cmaf``: packet counts and the byte ranges of an HLS variant, to check CMAF outputs.
- ``clips``: the named source clips of the transcoder tests and what bad ones must say.
- ``worker``: one worker over the real parts, with short timers and readers for its results.
- ``servers``: an ASGI app under uvicorn in a thread.
- ``local_stack``: ``videoforge up`` as a subprocess.
- ``lambda_events``: invoking a Lambda handler as API Gateway does.
- ``fuzzing``: schemathesis over an app's own OpenAPI document.
- ``xdist_groups``: which tests share a process under `pytest -n 2`.
"""
