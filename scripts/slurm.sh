#!/usr/bin/env bash
# A throwaway one-node Slurm cluster on this machine for the tests, from
# Debian's slurm-wlm and munge. There is no systemd here: the daemons are
# started by hand, with every file (key, sockets, state, logs) in DIR.
#
#   scripts/slurm.sh start DIR   installs them if needed, starts munged,
#                                slurmctld and slurmd, waits for the node,
#                                and prints the slurm.conf to export as SLURM_CONF
#   scripts/slurm.sh stop DIR    stops them
#
# The node is this host (NodeName must be `hostname -s`) with the CPUs and
# memory `slurmd -C` reports; no slurmdbd, so jobs are followed with
# scontrol, not sacct.
set -euo pipefail
cmd=${1:?usage: slurm.sh start|stop DIR}
dir=${2:?usage: slurm.sh start|stop DIR}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
stop_pid() {
	[ -f "$1" ] || return 0
	local pid
	pid=$(cat "$1")
	$sudo kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do $sudo kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	$sudo kill -9 "$pid" 2>/dev/null || true
}
case $cmd in
start)
	if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
		echo "installing slurm-wlm and munge" >&2
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq slurm-wlm munge >/dev/null
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
	node=$(hostname -s)
	read -r cpus mem < <(slurmd -C | awk '/^NodeName/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } print v["CPUs"], v["RealMemory"] }')
	# Ports of their own, so that a cluster already on this machine is left alone.
	base=$((20000 + RANDOM % 20000))
	dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
	chmod 0400 "$dir/munge/munge.key"
	$sudo munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
		--pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed"
	cat >"$dir/slurm.conf" <<CONF
ClusterName=vaebm-test
SlurmctldHost=$node
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
SlurmUser=$(id -un)
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
	export SLURM_CONF=$dir/slurm.conf
	$sudo env SLURM_CONF="$SLURM_CONF" slurmctld -f "$SLURM_CONF"
	$sudo env SLURM_CONF="$SLURM_CONF" slurmd -f "$SLURM_CONF"
	for _ in $(seq 100); do
		if scontrol show node "$node" 2>/dev/null | grep -qE 'State=IDLE'; then
			echo "$SLURM_CONF"
			exit 0
		fi
		sleep 0.2
	done
	echo "slurm.sh: node $node did not come up; logs in $dir:" >&2
	tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
	exit 1
	;;
stop)
	dir=$(cd "$dir" && pwd)
	stop_pid "$dir/slurmd.pid"
	stop_pid "$dir/slurmctld.pid"
	stop_pid "$dir/munge/munged.pid"
	;;
*)
	echo "slurm.sh: unknown command $cmd (want start or stop)" >&2
	exit 2
	;;
esac
