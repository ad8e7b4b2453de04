"""A local, persistent, S3-compatible object store for the one-machine platform.

Objects live as files on disk with their metadata in SQLite; boto3 and the browser talk
to it exactly as they talk to S3 (path-style, SigV4, presigned URLs, multipart, CORS).
Why not a packaged server: see the README ("The one-machine platform keeps its data").
"""
