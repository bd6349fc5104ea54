#!/usr/bin/env bash
# The whole test suite with every prerequisite, in one command:
#   ./test.sh [cargo test arguments]
# As root it installs what is missing (Debian packages, the musl target) and starts the Docker
# Engine; as another user it prints the one `apt-get install` line to run and goes on (the tests
# whose prerequisites are missing are then skipped). Ends with what was skipped and why, and one
# closing line "test: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

# Servers the suite starts on loopback (PostgreSQL, Redis, MariaDB, RabbitMQ, memcached, NATS,
# Mosquitto), a C compiler for the test inspector,
# musl for the static build, the namespace/mount tools of the PID-1 and DNS tests, and for the
# container tests the Docker Engine, Compose and debootstrap (the PostgreSQL image is built from a
# Debian root filesystem: there is no registry to pull from); for the engine targets' tests a static
# busybox (the shell of their FROM-scratch images) and nginx (a read-only proxy of the engine's socket).
packages=(postgresql redis-server gcc libc6-dev musl-tools util-linux mount procps file iproute2 make python3-pip
          ca-certificates docker.io docker-compose debootstrap python3-venv
          gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross
          qemu-user-static buildah skopeo
          mariadb-server mariadb-client rabbitmq-server memcached sasl2-bin nats-server mosquitto mosquitto-clients
          wait-for-it python3-django python3-psycopg2 python3-mysqldb man-db busybox-static nginx-light
          lld)
# The release build (dist/build.sh) fetches the armhf musl with `apt-get download`.
if [ "$(id -u)" = 0 ] && ! dpkg --print-foreign-architectures | grep -qx armhf; then
  dpkg --add-architecture armhf
  apt-get update -qq || true
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # An index that fails to download (a mirror mid-sync) must not stop the install.
    apt-get update -qq || true
    # The server packages may start system instances; the suite never uses them.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: missing Debian packages; as root, run:"
    echo "  apt-get install --no-install-recommends ${missing[*]}"
    echo "test.sh: going on; the tests that need them are skipped and listed at the end"
  fi
fi

# The static builds' targets (armv7's std is built from rust-src), cargo-deb for the package and
# cargo-auditable for the dependency list every release binary carries.
if command -v rustup >/dev/null; then
  for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t" >/dev/null 2>&1 ||
      echo "test.sh: could not add the $t target"
  done
  rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src >/dev/null 2>&1 ||
    echo "test.sh: could not add rust-src"
fi
for tool in cargo-deb cargo-auditable; do
  if ! command -v "$tool" >/dev/null; then
    echo "test.sh: installing $tool"
    cargo install --locked --quiet "$tool" || echo "test.sh: could not install $tool"
  fi
done

# The gRPC health server of the protocol tests (grpcio and grpcio-health-checking from PyPI), in a
# virtual environment of its own under target/.
venv=target/test-venv
if ! "$venv/bin/python" -c 'import grpc_health.v1.health' >/dev/null 2>&1; then
  echo "test.sh: installing grpcio and grpcio-health-checking into $venv"
  { /usr/bin/python3 -m venv "$venv" && "$venv/bin/pip" install --quiet grpcio grpcio-health-checking; } ||
    echo "test.sh: could not install the gRPC test server"
fi

# The `#migrated` differential tests: the current Django, SQLAlchemy and Alembic from PyPI (with
# pure-Python database drivers) beside Debian's python3-django.
venv=target/migrate-venv
if ! "$venv/bin/python" -c 'import django, alembic, psycopg2, pymysql' >/dev/null 2>&1; then
  echo "test.sh: installing Django, Alembic and their drivers into $venv"
  { /usr/bin/python3 -m venv "$venv" &&
    "$venv/bin/pip" install --quiet django sqlalchemy alembic psycopg2-binary pymysql; } ||
    echo "test.sh: could not install Django and Alembic from PyPI"
fi

# The container tests need a running engine.
if [ "$(id -u)" = 0 ] && command -v docker >/dev/null && ! docker info >/dev/null 2>&1; then
  echo "test.sh: starting the Docker Engine"
  (service docker start || (dockerd >/var/log/dockerd-readygate.log 2>&1 &)) >/dev/null 2>&1 || true
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi

# What the suite could leave behind: processes, and Docker containers, volumes and networks. The
# state before the run, to compare with after it (images are caches, kept on purpose).
engine_state() {
  if docker info >/dev/null 2>&1; then
    docker ps -aq --no-trunc | sed 's/^/container /'
    docker volume ls -q | sed 's/^/volume /'
    docker network ls -q --no-trunc | sed 's/^/network /'
  fi
}
skips=$(mktemp)
out=$(mktemp)
procs_before=$(mktemp)
engine_before=$(mktemp)
trap 'rm -f "$skips" "$out" "$procs_before" "$engine_before"' EXIT
ls /proc | grep -E '^[0-9]+$' | sort > "$procs_before"
engine_state | sort > "$engine_before"
export TEST_SKIPS_FILE="$skips"
cargo test --locked "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}

# Nothing of the suite's own may be left running: every process started during the run (kernel
# threads aside) and every container, volume and network created during it is gone by now. A
# process is the suite's when its line of parents, followed up to the first one that was there
# before the run, ends at test.sh's own parents or at PID 1 (a daemon or an orphan: where what a
# test left behind ends up); one under another process that was already running (a shell of the
# machine's) is not.
sleep 2
parent() { awk '/^PPid:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
ours=" 1 "
p=$$
while [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != 1 ]; do p=$(parent "$p"); ours+="$p "; done
left=()
while read -r pid; do
  [ "$pid" = $$ ] && continue
  cmd=$({ tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null) || continue
  [ -n "$cmd" ] || continue
  p=$(parent "$pid")
  [ "$p" = $$ ] && continue   # this check's own commands
  while [ -n "$p" ] && [ "$p" != 1 ] && ! grep -qx "$p" "$procs_before"; do p=$(parent "$p"); done
  case "$ours" in *" $p "*) left+=("process $pid: ${cmd:0:160}") ;; esac
done < <(ls /proc | grep -E '^[0-9]+$' | sort | comm -13 "$procs_before" -)
while read -r thing; do
  [ -n "$thing" ] && left+=("$thing")
done < <(engine_state | sort | comm -13 "$engine_before" -)
echo
if [ ${#left[@]} -gt 0 ]; then
  echo "test.sh: the suite left ${#left[@]} thing(s) behind:"
  printf '  %s\n' "${left[@]}"
else
  echo "test.sh: nothing left behind (no process, container, volume or network of the suite's)"
fi

# cargo's "test result:" lines, summed over every test binary.
read -r passed failed < <(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$out" |
  awk '{p+=$1; f+=$2} END {print p+0, f+0}')
skipped=$(sort -u "$skips" | grep -c . || true)
echo
if [ "$skipped" -gt 0 ]; then
  echo "$skipped tests skipped (a prerequisite is missing; CI=true turns these into failures):"
  sort -u "$skips" | sed 's/^/  /'
else
  echo "0 tests skipped"
fi
[ "$status" = 0 ] || failed=$((failed > 0 ? failed : 1))
# What was left behind counts as one failure of its own.
if [ ${#left[@]} -gt 0 ]; then
  failed=$((failed + 1))
  status=1
fi
echo "test: $((passed - skipped)) passed, $failed failed, $skipped skipped"
exit "$status"
