# Shared by the scripts: where things live, the packages the project
# needs, the private PostgreSQL cluster, and the development certificate.
# Sourced, never run.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${STATE_DIR:-$TOP/.state/run}
BUILD_DIR=${BUILD_DIR:-$TOP/.build/apiscribe}
PG_SOCK=$STATE_DIR/pg-socket
DB_NAME=${DB_NAME:-apiscribe}
DB_USER=apiscribe

# Debian packages. scripts/run needs the first list; scripts/test both.
RUN_PACKAGES="kore build-essential libssl-dev libcurl4-openssl-dev
libzip-dev libpq-dev libjansson-dev postgresql postgresql-client openssl
ca-certificates curl python3"
TEST_PACKAGES="libcmocka-dev python3 python3-pytest python3-requests
python3-cryptography python3-aiosmtpd python3-psycopg2 python3-yaml zip unzip chromium wrk nginx-light
mitmproxy time clang-14 libclang-rt-14-dev"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo "$@"
	else die "need root to run: $*"; fi
}

ensure_packages() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	# Node.js may come from elsewhere than Debian; only npm matters.
	command -v npm >/dev/null || missing="$missing nodejs npm"
	[ -z "$missing" ] && return 0
	say "installing Debian packages:$missing"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing >/dev/null
}

pg_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# PostgreSQL refuses to run as root; then the cluster belongs to the
# "postgres" account that Debian's package creates.
pg_owner() {
	if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

pg_run() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
	else "$@"; fi
}

# The cluster lives in $STATE_DIR/pg. When the checkout sits somewhere
# the postgres account cannot reach (a root-only home), the data goes to
# a folder of its own under /var/tmp and $STATE_DIR/pg links to it.
pg_data_dir() {
	local want=$STATE_DIR/pg alt
	if [ -L "$want" ]; then readlink -f "$want"; return; fi
	if [ -d "$want" ]; then echo "$want"; return; fi
	mkdir -p "$STATE_DIR"
	if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$STATE_DIR"; then
		alt=/var/tmp/apiscribe-pg-$(printf '%s' "$STATE_DIR" | sha256sum | cut -c1-12)
		mkdir -p "$alt"
		chown postgres "$alt"
		ln -sfn "$alt" "$want"
		echo "$alt"
		return
	fi
	mkdir -p "$want"
	echo "$want"
}

pg_ensure_cluster() {
	local data bin
	bin=$(pg_bin) || die "PostgreSQL is not installed"
	data=$(pg_data_dir)
	mkdir -p "$PG_SOCK"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres "$data" "$PG_SOCK"
		runuser -u postgres -- test -x "$PG_SOCK" ||
		    die "the postgres account cannot reach $PG_SOCK"
	fi
	chmod 700 "$data"
	if [ ! -f "$data/PG_VERSION" ]; then
		say "creating a private PostgreSQL cluster in $data"
		pg_run "$bin/initdb" -D "$data" -U postgres -A trust \
		    -E UTF8 --locale=C.UTF-8 >/dev/null
		cat >>"$data/postgresql.conf" <<CONF
# apiscribe: unix socket only, inside the state folder.
listen_addresses = ''
unix_socket_directories = '$PG_SOCK'
max_connections = 200
shared_buffers = 256MB
fsync = ${PG_FSYNC:-on}
synchronous_commit = ${PG_SYNC_COMMIT:-on}
CONF
	fi
}

pg_running() {
	local data
	data=$(pg_data_dir)
	pg_run "$(pg_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1
}

pg_start() {
	local data
	pg_ensure_cluster
	data=$(pg_data_dir)
	if ! pg_running; then
		say "starting PostgreSQL (socket in $PG_SOCK)"
		pg_run "$(pg_bin)/pg_ctl" -D "$data" -l "$data/server.log" \
		    -w -t 60 start >/dev/null
	fi
}

pg_stop() {
	local data
	data=$(pg_data_dir)
	if pg_running; then
		pg_run "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
	fi
}

psql_admin() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -U postgres "$@"
}

psql_app() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -U "$DB_USER" -d "$DB_NAME" "$@"
}

db_url() {
	echo "host=$PG_SOCK dbname=$DB_NAME user=$DB_USER"
}

pg_ensure_database() {
	psql_admin -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'" |
	    grep -q 1 || psql_admin -d postgres -c "CREATE ROLE $DB_USER LOGIN"
	psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" |
	    grep -q 1 || psql_admin -d postgres -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
}

# A self-signed certificate for 127.0.0.1 and localhost, and DH
# parameters (the RFC 7919 group; Kore refuses TLS without them).
ensure_cert() {
	local dir=$TOP/cert
	[ -f "$dir/server.pem" ] && [ -f "$dir/key.pem" ] &&
	    [ -f "$dir/dhparam.pem" ] && return 0
	say "generating a development TLS certificate in cert/"
	openssl req -x509 -newkey rsa:2048 -nodes -days 825 \
	    -subj "/CN=localhost" \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	    -keyout "$dir/key.pem" -out "$dir/server.pem" 2>/dev/null
	openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 \
	    -out "$dir/dhparam.pem" 2>/dev/null
	chmod 600 "$dir/key.pem"
}

ensure_node_modules() {
	if [ ! -d "$TOP/tests/node_modules" ] ||
	    [ "$TOP/tests/package-lock.json" -nt "$TOP/tests/node_modules" ]; then
		say "installing test tools from the npm registry"
		(cd "$TOP/tests" && npm ci --no-audit --no-fund --loglevel=error)
		touch "$TOP/tests/node_modules"
	fi
}

# Builds the one binary with kodev from a folder named after the
# application, whatever the checkout folder is called.
build_server() {
	local flavor=${BUILD_FLAVOR:-dev} f
	mkdir -p "$BUILD_DIR"
	for f in conf src assets cert kore.conf; do
		ln -sfn "$TOP/$f" "$BUILD_DIR/$f"
	done
	# The browser app's libraries come from the npm registry at build
	# time and are embedded like the rest of assets/.
	"$TOP/scripts/vendor/install" >/dev/null
	say "building the server ($flavor)"
	(cd "$BUILD_DIR" && kodev flavor "$flavor" >/dev/null &&
	    kodev build >"$BUILD_DIR/build.log" 2>&1) || {
		grep -E 'error|warning' "$BUILD_DIR/build.log" | head -40 >&2
		die "build failed; see $BUILD_DIR/build.log"
	}
	if grep -q 'warning:' "$BUILD_DIR/build.log"; then
		grep 'warning:' "$BUILD_DIR/build.log" >&2
	fi
}

load_env_file() {
	if [ -f "$TOP/.env" ]; then
		set -a
		# shellcheck disable=SC1091
		. "$TOP/.env"
		set +a
	fi
}
