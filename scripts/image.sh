#!/usr/bin/env bash
# Builds the container image uhub:<version> with the local Docker engine: a static server binary
# (x86_64-unknown-linux-musl) and the browser bundle on an empty base (`scratch`): no shell, no
# package manager, user 65532, /data the only writable path. Prints the image's size.
# Usage: scripts/image.sh                (builds the browser bundle first when target/site lacks it)
#        scripts/image.sh --binary-only  (only the static server; scripts/test.sh builds it this way
#                                          in the background, then the image once the tests ran)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url=${UHUB_IMAGE_SOURCE:-$(git remote get-url origin 2>/dev/null || echo "https://github.com/uhub-dev/uhub")}
tag="uhub:$version"
target=x86_64-unknown-linux-musl

binary_only=false
[ "${1:-}" = "--binary-only" ] && binary_only=true

ensure_musl
$binary_only || ensure_docker
if ! $binary_only && ! ls target/site/pkg/uhub.*.wasm >/dev/null 2>&1; then
  scripts/build.sh --site-only
fi

say "building the static server ($target, profile image: size first)"
cargo build -p server --profile image --target "$target" --target-dir target/image
binary="target/image/$target/image/uhub"
# An empty base has no C library: the binary must need no shared object.
if readelf -d "$binary" | grep -q NEEDED; then die "$binary needs shared libraries"; fi
if $binary_only; then say "static server built: $binary ($(stat -c %s "$binary") bytes)"; exit 0; fi

context=$(mktemp -d /tmp/uhub-image.XXXXXX)
remove_context() { rm -rf "$context"; }
on_exit remove_context
mkdir -p "$context/rootfs/etc/ssl/certs" "$context/data/tmp"
cp "$binary" "$context/rootfs/uhub"
cp -R target/site "$context/rootfs/site"
# The WASM bundles (one per group of islands) only gzipped: every browser that runs WASM accepts
# gzip, and the raw copies would take the image over 40 MB (the server finds the bundles by
# either name and serves the gzipped file).
for wasm in "$context/rootfs/site/pkg/"*.wasm; do
  if [ -f "$wasm.gz" ]; then rm "$wasm"; fi
done
# Only the account uHub runs as; no login shell exists to name.
printf 'root:x:0:0:root:/:/sbin/nologin\nuhub:x:65532:65532:uHub:/data:/sbin/nologin\n' > "$context/rootfs/etc/passwd"
printf 'root:x:0:\nuhub:x:65532:\n' > "$context/rootfs/etc/group"
cp /etc/ssl/certs/ca-certificates.crt "$context/rootfs/etc/ssl/certs/ca-certificates.crt"
cat > "$context/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
COPY --chown=65532:65532 data/ /data/
ENV UHUB_BIND=0.0.0.0:3000 \\
    UHUB_DATA_DIR=/data \\
    UHUB_SITE_DIR=/site \\
    TMPDIR=/data/tmp \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    UHUB_REVISION=$revision
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/uhub", "healthcheck"]
LABEL org.opencontainers.image.title="uHub" \\
      org.opencontainers.image.description="Self-hosted DevOps hub: calendar, guarded runs, Git, Ansible, Terraform, Kubernetes, incidents" \\
      org.opencontainers.image.source="$source_url" \\
      org.opencontainers.image.version="$version" \\
      org.opencontainers.image.revision="$revision" \\
      org.opencontainers.image.licenses="AGPL-3.0-or-later"
ENTRYPOINT ["/uhub"]
DOCKERFILE

say "docker build $tag"
# The classic builder: the engine here has no BuildKit and nothing is pulled (FROM scratch).
DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" "$context" >/dev/null || die "docker build failed"
size=$(docker image inspect --format '{{.Size}}' "$tag")
say "image $tag: $((size / 1024 / 1024)) MB ($size bytes), revision ${revision:0:12}"
[ "$size" -lt $((40 * 1024 * 1024)) ] || say "warning: the image is over the 40 MB target"
echo "$tag"
