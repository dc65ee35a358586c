#!/usr/bin/env bash
# A throw-away single-node Slurm cluster (munged + slurmctld + slurmd from Debian's packages
# slurm-wlm and munge), confined to one state folder, for testing the job-array path of
# `neurospice mc --shard`. Nothing outside the folder is touched; no system service is used.
#
#   scripts/slurm/cluster.sh start DIR    start the daemons; prints `export SLURM_CONF=...`
#   scripts/slurm/cluster.sh stop DIR     stop them (also on a half-started cluster)
#   scripts/slurm/cluster.sh check        exit 0 if this machine can run it, else say why
#
# Needs root (slurmd launches jobs as the submitting user and must be able to setuid) and
# the binaries munged, slurmctld, slurmd, sbatch. Install them with:
#   apt-get install -y slurm-wlm munge
set -euo pipefail

need() {
    for b in munged slurmctld slurmd sbatch squeue sacct scontrol; do
        command -v "$b" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin" command -v "$b" >/dev/null 2>&1 \
            || { echo "missing $b (apt-get install -y slurm-wlm munge)"; return 1; }
    done
    [ "$(id -u)" = 0 ] || { echo "not root: slurmd must run as root"; return 1; }
    return 0
}

cmd=${1:-}
case "$cmd" in
check)
    need
    ;;
start)
    dir=${2:?usage: cluster.sh start DIR}
    need >&2 || exit 1
    export PATH="$PATH:/usr/sbin"
    mkdir -p "$dir"/{munge,spool/ctld,spool/d,log}
    dir=$(cd "$dir" && pwd)
    chmod 700 "$dir/munge"
    # A fresh key for this cluster only.
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munge.seed"
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2/1024) - 512}' /proc/meminfo)
    # Ports: pick two free ones so that parallel test runs or a system Slurm do not collide.
    read -r cport dport < <(python3 - <<'PY'
import socket
ps = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); ps.append(s)
print(*[s.getsockname()[1] for s in ps])
PY
)
    cat > "$dir/slurm.conf" <<CONF
ClusterName=neurospice-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$dport
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    echo "$dir/slurm.conf" > "$dir/conf-path"
    slurmctld -f "$dir/slurm.conf" -i
    slurmd -f "$dir/slurm.conf"
    export SLURM_CONF="$dir/slurm.conf"
    # Wait until the node is idle (at most 30 s).
    for _ in $(seq 60); do
        state=$(sinfo -h -o '%t' 2>/dev/null | head -n1 || true)
        case "$state" in idle*) break ;; esac
        sleep 0.5
    done
    case "${state:-}" in
    idle*) ;;
    *) echo "slurm node did not become idle (state '${state:-none}'); logs in $dir/log" >&2
       tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
       exit 1 ;;
    esac
    echo "export SLURM_CONF=$dir/slurm.conf"
    ;;
stop)
    dir=${2:?usage: cluster.sh stop DIR}
    for p in slurmd slurmctld munge/munged; do
        f="$dir/$p.pid"
        if [ -f "$f" ]; then
            pid=$(cat "$f")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    ;;
*)
    echo "usage: cluster.sh start DIR | stop DIR | check" >&2
    exit 2
    ;;
esac
