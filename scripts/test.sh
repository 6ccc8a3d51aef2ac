#!/usr/bin/env bash
# The README's test command (`make test`, which .ci/run calls): installs what
# the tests need, starts a throwaway PostgreSQL cluster and a one-node Slurm
# cluster, runs the suite, and stops both whatever happens.
#
# The whole suite runs with the tracker on PostgreSQL where a test takes its
# database from the environment (tracker's own tests, the CLI's backend
# test), then the tracker's suite again on SQLite, the default.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
./scripts/deps.sh test
$GO vet ./...
$GO vet -tags purego ./...

servers=$(mktemp -d /tmp/vaebm-test.XXXXXX)
# The PostgreSQL server runs as another user (initdb refuses root), who must
# be able to reach its folder inside this one.
chmod 0755 "$servers"
cleanup() {
	./scripts/slurm.sh stop "$servers/slurm" 2>/dev/null || true
	./scripts/postgres.sh stop "$servers/pg" 2>/dev/null || true
	rm -rf "$servers"
}
trap cleanup EXIT
t0=$(date +%s)
VAEBM_TEST_POSTGRES=$(./scripts/postgres.sh start "$servers/pg")
t1=$(date +%s)
SLURM_CONF=$(./scripts/slurm.sh start "$servers/slurm")
echo "servers up: PostgreSQL in $((t1 - t0)) s, Slurm in $(($(date +%s) - t1)) s" >&2
export VAEBM_TEST_POSTGRES SLURM_CONF
# A test that needs a server fails, rather than skips, when it is missing.
export VAEBM_REQUIRE_SERVERS=1
export VAEBM_CHROMIUM=$(command -v chromium || echo chromium-not-installed)

$GO test -timeout 20m ./...
VAEBM_TEST_POSTGRES= $GO test ./tracker/
$GO test -tags purego ./core/nn/ ./core/energy/
