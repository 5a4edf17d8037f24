# uHub's policy in OpenBao or HashiCorp Vault: what uHub needs and nothing more.
#
# uHub keeps its secrets in one folder of one KV v2 mount: `secret` (UHUB_VAULT_MOUNT) and
# `uhub` (UHUB_VAULT_PREFIX) below; change both paths if you changed those settings.
#   <mount>/data/<prefix>/projects/<project>/<NAME>                      project secrets
#   <mount>/data/<prefix>/projects/<project>/environments/<env>/<NAME>   one environment's
#   <mount>/data/<prefix>/projects/<project>/clusters/<cluster>          kubeconfigs
#   <mount>/data/<prefix>/users/<user>/<name>                            personal Git tokens
#
#   bao policy write uhub docs/openbao-policy.hcl
#   bao write auth/approle/role/uhub token_policies=uhub token_no_default_policy=true \
#       token_ttl=1h token_max_ttl=24h
#
# The test suite (server/tests/vault_openbao.rs) runs uHub with exactly this file and checks
# that a policy without `list` fails clearly.

# Read and write secret values (each write is a new version).
path "secret/data/uhub/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# List folders, read dates and authors, record the author, remove every version.
path "secret/metadata/uhub/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Renew its own token (AppRole); granted by the `default` policy too, listed here so the role
# may set token_no_default_policy.
path "auth/token/renew-self" {
  capabilities = ["update"]
}
