# OpenBao for the compose example: file storage in its volume, listening on the compose network
# only (no published port). Initialise and unseal it once (docs/deploy.md); use TLS
# (tls_cert_file / tls_key_file) as soon as it is reached from outside this host.
storage "file" {
  path = "/openbao/file"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

disable_mlock = true
ui            = false
