"""OpenID Connect providers whose users can be guardians (`vouch.server.kinds.oidc`).

`settings` parses how a deployment names them (serve.py `--oidc-provider`,
`VOUCH_OIDC_PROVIDERS`); `provider` keeps each one's discovery document and JWKS, cached as
their Cache-Control allows, and verifies the ID tokens it issued with PyJWT.
"""
