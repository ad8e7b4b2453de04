"""A local, persistent identity provider for the one-machine platform.

It speaks the part of Amazon Cognito's user-pool API that VideoForge uses (sign-in with
a password or a refresh token, the admin calls that create users and set passwords) and
publishes its signing keys as a JWKS, so the gateway's Cognito client and
``common.auth.CognitoVerifier`` work against it unchanged. Unlike moto's Cognito it keeps
its users, their ``sub`` (the owner id of everything they upload) and its signing key in
the data directory, so both survive a restart.
"""
