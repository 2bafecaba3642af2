# A real one-node Slurm for the tests (sourced after tests/cli/lib.sh): munged, slurmctld and
# slurmd on 127.0.0.1 with a config, ports, munge key and socket of their own, so a test never
# depends on (or disturbs) a system Slurm, another test's cluster or a leftover from a killed run.
#
#   # first line of the test: bound it all (timeout's signal reaches the daemons too)
#   [ -n "${MER_SLURM_BOUNDED:-}" ] || MER_SLURM_BOUNDED=1 exec timeout -k 30 260 bash "$0" "$@"
#   . "$MER_SRC/tests/cli/lib.sh"
#   . "$MER_SRC/tests/cli/slurm_lib.sh"
#   trap slurm_stop EXIT               # the daemons stop whatever happens
#   trap 'exit 143' TERM INT HUP       # ... on timeout's SIGTERM too
#   slurm_start "$tmp/slurm"           # exit 77 with "SKIP: <why>" where Slurm cannot run here
#   id=$(sbatch --parsable --array=0-3%2 job.sh)   # $SLURM_CONF names this cluster
#   slurm_wait_job "$id" 60 || fail "job $id did not finish"
#   slurm_task_states "$id"            # "0 COMPLETED 0:0": TASK STATE EXITCODE per array task
#   slurm_task_state "${id}_2"         # its state now: PENDING, RUNNING, ...
#   slurm_requeue "${id}_1"            # runs task 1 again now, not after Slurm's ~2 min hold
#
# Debian 12's packages (Slurm 22.05, munge 0.5.15) are installed with apt-get when missing and
# the test runs as root. Setup notes that shaped this file:
# - No /etc/slurm/slurm.conf is installed; every command here reads $SLURM_CONF (exported).
# - A node declaring more CPUs than the machine has goes INVAL/DRAIN, so the node line is the
#   one `slurmd -C` prints.
# - Without slurmdbd there is no sacct; jobcomp/filetxt logs one line per finished job (JobState,
#   ArrayJobId, ArrayTaskId, ExitCode), and MinJobAge keeps finished jobs in `scontrol show job`.
# - `scontrol requeue` holds the job PENDING (Reason=BeginTime) for ~2 min; `scontrol update
#   jobid=X StartTime=now` releases it. The last task of an array carries the array's own JobId.
# - slurmd logs pmix errors at start; they are harmless.
# - Ports are picked free per start (not 6817/6818), the daemons bind loopback only (see
#   _slurm_addr), and munged runs with a key and socket of its own (AuthInfo=socket=...): two
#   clusters can run side by side, and neither /etc/munge/munge.key (which the package creates)
#   nor /run/munge (which may be missing) nor a system munged is needed or touched.
# - Unix sockets (slurmd's spool, munged) live in a short /tmp/mer-slurm.XXXXXX directory: a
#   socket path must fit in 108 bytes, and a build directory can be deep.

# Slurm's clients run under `timeout --foreground`: in the test's process group, so the signal
# of the test's own timeout(1) reaches them at once (a client retries a dead slurmctld ~10 s).
export PATH="$PATH:/usr/sbin:/sbin"
# A test run inside a Slurm job must not hand that job's settings to the private cluster.
_slurm_v=$(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCANCEL)_' || true)
# shellcheck disable=SC2086
[ -z "$_slurm_v" ] || unset $_slurm_v
unset _slurm_v
_slurm_dir=
_slurm_run=
_slurm_pids=
_slurm_last_pids=

# slurm_skip REASON: the one line a skipped test prints; exit 77 (ctest's SKIP_RETURN_CODE).
slurm_skip() {
  echo "SKIP: $*" >&2
  exit 77
}

# _slurm_alive PID: the process exists and is no zombie (a daemon started with & stays a zombie
# child of the test until reaped, and kill -0 succeeds on a zombie).
_slurm_alive() {
  local st
  st=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# _slurm_any_alive PID...: whether any of them is alive.
_slurm_any_alive() {
  local p
  for p in "$@"; do
    _slurm_alive "$p" && return 0
  done
  return 1
}

# _slurm_end SECONDS PID...: SIGTERM, then SIGKILL to whatever is left after SECONDS.
_slurm_end() {
  local secs=$1 p i
  shift
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < secs * 10; i++)); do
    _slurm_any_alive "$@" || return 0
    sleep 0.1
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; done
}

# _slurm_kill_stale DIR [quiet]: ends what an earlier run with this DIR left behind (a run
# killed with SIGKILL never reaches its trap): its daemons, found by their command lines, which
# name DIR's config or munged's pid file, and its job steps (slurmstepd) and jobs' processes,
# found by SLURM_CONF=DIR/slurm.conf in their environment. Nothing else is touched, and never
# this shell or its ancestors. slurm_stop calls it (quiet) for the job steps slurmd left.
_slurm_kill_stale() {
  local dir=$1 p q a stale=() d ancestors=" $$ " args=() env=()
  q=$$
  while [ "$q" -gt 1 ]; do
    q=$(sed -E 's/^[0-9]+ \(.*\) [A-Za-z] ([0-9]+) .*/\1/' "/proc/$q/stat" 2>/dev/null) || break
    [[ $q =~ ^[0-9]+$ ]] || break
    ancestors+="$q "
  done
  # Builtins only in the loop (mapfile, [[ ]]): a fork per process would make this slow.
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $ancestors != *" $p "* ]] || continue
    { mapfile -d '' args <"/proc/$p/cmdline"; } 2>/dev/null || continue
    [ ${#args[@]} -gt 0 ] || continue
    case ${args[0]##*/} in
    slurmctld | slurmd | munged)
      for a in "${args[@]}"; do
        [[ $a == "$dir/slurm.conf" || $a == "--pid-file=$dir/munge/munged.pid" ]] || continue
        stale+=("$p")
        break
      done
      ;;
    *)
      { mapfile -d '' env <"/proc/$p/environ"; } 2>/dev/null || continue
      [[ " ${env[*]} " == *" SLURM_CONF=$dir/slurm.conf "* ]] || continue
      [[ ${args[0]} == slurmstepd:* || " ${env[*]}" == *" SLURM_JOB_ID="* ]] && stale+=("$p")
      ;;
    esac
  done
  if [ ${#stale[@]} -gt 0 ]; then
    [ -n "${2:-}" ] ||
      echo "slurm_lib: ending ${#stale[@]} process(es) left by an earlier run in '$dir'" >&2
    _slurm_end 3 "${stale[@]}"
  fi
  for d in /tmp/mer-slurm.*; do
    [ -f "$d/owner" ] && [ "$(cat "$d/owner")" = "$dir" ] && rm -rf -- "$d"
  done
  return 0
}

# _slurm_apt_install LOG: Debian's Slurm and munge packages, nothing recommended; a second
# apt-get (another test installing at the same time) is waited for, within bounds.
_slurm_apt_install() {
  DEBIAN_FRONTEND=noninteractive timeout 200 apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=120 slurmctld slurmd slurm-client munge >>"$1" 2>&1
}

# _slurm_install: installs Debian's packages when a program is missing; skips where it cannot.
_slurm_install() {
  local missing=() p log t0
  for p in slurmctld slurmd sbatch squeue scontrol sinfo scancel munged; do
    command -v "$p" >/dev/null || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] ||
    slurm_skip "Slurm is not installed (no ${missing[*]}) and installing it needs root"
  command -v apt-get >/dev/null ||
    slurm_skip "Slurm is not installed (no ${missing[*]}) and there is no apt-get to install it"
  log=$_slurm_dir/apt.log
  t0=$SECONDS
  # A fresh image has no package lists: update once, only when the install fails without.
  if ! _slurm_apt_install "$log"; then
    DEBIAN_FRONTEND=noninteractive timeout 120 apt-get update -q >>"$log" 2>&1 || true
    _slurm_apt_install "$log" ||
      slurm_skip "apt-get could not install Slurm: $(grep -E '^E:' "$log" | tail -n1)"
  fi
  echo "slurm_lib: installed slurmctld slurmd slurm-client munge in $((SECONDS - t0)) s" >&2
}

# _slurm_ports: two free TCP ports on 127.0.0.1, below the ephemeral range (so an outgoing
# connection does not take one before the daemons bind it).
_slurm_ports() {
  "$MER_PYTHON" - <<'PY'
import random, socket
got = []
while len(got) < 2:
    port = random.randrange(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        got.append(port)
    except OSError:
        pass
    finally:
        s.close()
print(*got)
PY
}

# _slurm_node_line ADDR: the node as `slurmd -C` sees it (CPUs, sockets, cores, threads,
# memory), named localhost at ADDR.
_slurm_node_line() {
  local line
  line=$(slurmd -C | head -n1) || return 1
  line=$(sed -E 's/^NodeName=[^ ]+ //; s/ UpTime=[^ ]+//' <<<"$line")
  echo "NodeName=localhost NodeAddr=$1 NodeHostname=localhost $line State=UNKNOWN"
}

# _slurm_addr: "ADDR PARAMS": where the daemons listen and the CommunicationParameters that
# keep them there. Slurm's NoCtldInAddrAny/NoInAddrAny bind to the address gethostname()
# resolves to, not to SlurmctldHost or NodeAddr; so where the host name resolves to a loopback
# address the daemons listen on that address only, and elsewhere (a host name that resolves to
# the machine's network address) on any address, reached at 127.0.0.1, on ports picked free.
_slurm_addr() {
  local a
  a=$(getent ahostsv4 "$(hostname)" 2>/dev/null | awk 'NR == 1 { print $1 }')
  case $a in
  127.*) echo "$a NoCtldInAddrAny,NoInAddrAny" ;;
  *) echo "127.0.0.1 none" ;;
  esac
}

# _slurm_write_conf DIR RUN CTLD_PORT SLURMD_PORT ADDR PARAMS NODE_LINE
_slurm_write_conf() {
  local comm=
  [ "$6" = none ] || comm="CommunicationParameters=$6"
  cat >"$1/slurm.conf" <<EOF
# A one-node cluster for mer's tests (tests/cli/slurm_lib.sh).
ClusterName=mertest
SlurmctldHost=localhost($5)
SlurmctldPort=$3
SlurmdPort=$4
$comm
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$2/munge/munge.sock
CredType=cred/munge
MpiDefault=none
StateSaveLocation=$1/state
SlurmdSpoolDir=$2/spool
SlurmctldPidFile=$1/slurmctld.pid
SlurmdPidFile=$1/slurmd.pid
SlurmctldLogFile=$1/log/slurmctld.log
SlurmdLogFile=$1/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$1/log/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
KillWait=5
MaxArraySize=1001
$7
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

# _slurm_start_munged DIR RUN: munged as user munge, with a fresh key, its socket in RUN.
_slurm_start_munged() {
  local m=$1/munge s=$2/munge i
  id munge >/dev/null 2>&1 || slurm_skip "there is no user 'munge' (is munge installed?)"
  mkdir -p "$m" "$s"
  # A key of our own: the test needs no /etc/munge/munge.key and never changes it.
  head -c 1024 /dev/urandom >"$m/munge.key"
  chmod 0600 "$m/munge.key"
  chown -R munge:munge "$m" "$s"
  chmod 0700 "$m"
  chmod 0755 "$s" # munged requires the socket's directory be searchable by all
  setpriv --reuid=munge --regid=munge --init-groups -- munged -F --socket="$s/munge.sock" \
    --key-file="$m/munge.key" --log-file="$m/munged.log" --pid-file="$m/munged.pid" \
    --seed-file="$m/munged.seed" >"$1/log/munged.out" 2>&1 &
  _slurm_pids="$_slurm_pids $!"
  for ((i = 0; i < 100; i++)); do
    [ -S "$s/munge.sock" ] && return 0
    _slurm_alive "$!" || break
    sleep 0.1
  done
  fail "munged did not start: $(cat "$m/munged.log" "$1/log/munged.out" 2>/dev/null | tail -n1)"
}

# _slurm_daemon_died NAME LOG: fails the test with the daemon's last log line (but pmix's).
_slurm_daemon_died() {
  fail "$1 exited at start: $(grep -v pmix "$2" 2>/dev/null | tail -n1)"
}

# slurm_start DIR: a fresh one-node cluster with its config, state and logs in DIR (made
# empty first); exports SLURM_CONF; returns once sinfo shows the node idle (at most 60 s). Exits
# 77 where Slurm cannot run here, fails the test if a daemon does not come up.
slurm_start() {
  local dir ports addr node ctld slurmd i state
  mkdir -p "$1"
  dir=$(cd "$1" && pwd -P)
  # DIR is emptied: only a new directory or an earlier cluster's.
  [ -z "$(ls -A "$dir")" ] || [ -f "$dir/slurm.conf" ] ||
    fail "slurm_start: '$dir' is not empty and holds no slurm.conf; not emptying it"
  _slurm_kill_stale "$dir"
  rm -rf -- "$dir"
  mkdir -p "$dir/state" "$dir/log"
  _slurm_dir=$dir
  _slurm_install
  [ "$(id -u)" -eq 0 ] || slurm_skip "slurmd must run as root to start job steps"
  command -v setpriv >/dev/null || slurm_skip "there is no setpriv to run munged as user munge"
  _slurm_run=$(mktemp -d /tmp/mer-slurm.XXXXXX)
  chmod 0755 "$_slurm_run"
  echo "$dir" >"$_slurm_run/owner"
  mkdir -p "$_slurm_run/spool"
  ports=$(_slurm_ports) || fail "could not pick free ports"
  addr=$(_slurm_addr)
  node=$(_slurm_node_line "${addr% *}") || fail "slurmd -C failed"
  # shellcheck disable=SC2086
  _slurm_write_conf "$dir" "$_slurm_run" $ports $addr "$node"
  export SLURM_CONF=$dir/slurm.conf
  _slurm_start_munged "$dir" "$_slurm_run"
  # In the foreground (-D) and in the test's process group: the pids are known, and a timeout
  # that kills the group takes the daemons with it.
  slurmctld -D -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
  ctld=$!
  slurmd -D -N localhost -f "$SLURM_CONF" >"$dir/log/slurmd.out" 2>&1 &
  slurmd=$!
  _slurm_pids="$ctld $slurmd$_slurm_pids"
  for ((i = 0; i < 600; i++)); do
    _slurm_alive "$ctld" || _slurm_daemon_died slurmctld "$dir/log/slurmctld.log"
    _slurm_alive "$slurmd" || _slurm_daemon_died slurmd "$dir/log/slurmd.log"
    state=$(timeout --foreground 10 sinfo -h -n localhost -o %t 2>/dev/null || true)
    [ "$state" = idle ] && return 0
    sleep 0.1
  done
  fail "the node did not become idle in 60 s (sinfo says '${state:-nothing}'; see $dir/log)"
}

# slurm_running: whether any daemon of the current cluster is still alive.
slurm_running() {
  # shellcheck disable=SC2086
  _slurm_any_alive $_slurm_last_pids $_slurm_pids
}

# slurm_stop: shuts both Slurm daemons down (scontrol shutdown, then SIGTERM by pid), ends
# munged by its pid, then whatever job steps and job processes outlived slurmd (found as a
# killed run's are), and waits until all have exited. Quick enough for the grace period of the
# test's timeout(1) after SIGTERM. Safe to call twice, and when slurm_start never ran or
# stopped half way.
slurm_stop() {
  local pids=$_slurm_pids
  _slurm_last_pids=$pids
  _slurm_pids=
  # shellcheck disable=SC2086
  set -- $pids
  if [ $# -ge 3 ]; then
    ! _slurm_alive "$1" || timeout --foreground 3 scontrol shutdown >/dev/null 2>&1 || true
    _slurm_end 5 "$1" "$2"
    _slurm_end 3 "$3" # munged last: the Slurm daemons talk to it on the way down
  elif [ $# -gt 0 ]; then
    _slurm_end 3 "$@"
  fi
  # shellcheck disable=SC2086
  [ $# -eq 0 ] || wait $pids 2>/dev/null || true
  [ -z "$_slurm_dir" ] || [ $# -eq 0 ] || _slurm_kill_stale "$_slurm_dir" quiet
  [ -z "$_slurm_run" ] || rm -rf -- "$_slurm_run"
  _slurm_run=
  return 0
}

# _slurm_job_lines JOBID: `scontrol -o show job` for JOBID, one line per array task record
# (pending tasks of an array may share one record).
_slurm_job_lines() {
  timeout --foreground 10 scontrol -o show job "$1" 2>/dev/null
}

# _slurm_jobcomp JOBID: "TASK STATE EXITCODE" for each jobcomp line of the job, in the order
# written (a requeued task has one line per end of a run, PENDING for the requeue itself); TASK
# is "-" for a job that is no array. Array tasks are found by ArrayJobId, as their JobIds differ.
_slurm_jobcomp() {
  awk -v id="$1" '
    {
      job = arr = task = st = ec = ""
      for (i = 1; i <= NF; i++) {
        n = index($i, "="); k = substr($i, 1, n - 1); v = substr($i, n + 1)
        if (k == "JobId") job = v; else if (k == "ArrayJobId") arr = v
        else if (k == "ArrayTaskId") task = v; else if (k == "JobState") st = v
        else if (k == "ExitCode") ec = v
      }
    }
    arr == id && task != "" { print task, st, ec; next }
    job == id && arr == "" { print "-", st, ec }
  ' "$_slurm_dir/log/jobcomp.txt" 2>/dev/null
}

# Job states after which a task runs no more (scontrol shows COMPLETING etc. before them).
_slurm_final='COMPLETED|CANCELLED|FAILED|TIMEOUT|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE'
_slurm_final+='|OUT_OF_MEMORY'

# slurm_wait_job JOBID TIMEOUT: waits until no task of the job is pending, running or
# completing and every task has its line in the jobcomp file; 1 (with a line on stderr) after
# TIMEOUT seconds or when Slurm does not know the job.
slurm_wait_job() {
  local id=$1 limit=$2 t0=$SECONDS lines active want got
  while :; do
    if lines=$(_slurm_job_lines "$id"); then
      active=$(grep -oE 'JobState=[A-Z_]+' <<<"$lines" | grep -cvE "=($_slurm_final)\$" || true)
      if [ "$active" -eq 0 ]; then
        want=$(grep -oE 'ArrayTaskId=[0-9]+' <<<"$lines" | sort -u | wc -l)
        [ "$want" -gt 0 ] || want=1
        got=$(_slurm_jobcomp "$id" | cut -d' ' -f1 | sort -u | wc -l)
        [ "$got" -ge "$want" ] && return 0
      fi
    else
      echo "slurm_wait_job: Slurm does not know job '$id'" >&2
      return 1
    fi
    if [ $((SECONDS - t0)) -ge "$limit" ]; then
      echo "slurm_wait_job: job $id not finished after $limit s:" \
        "$(grep -oE '(JobId|ArrayTaskId|JobState|Reason)=[^ ]+' <<<"$lines" | tr '\n' ' ')" >&2
      return 1
    fi
    sleep 0.2
  done
}

# slurm_task_states JOBID: "TASK STATE EXITCODE" per array task of the job, by task id, from
# the task's last jobcomp line (a requeued task has one per run), e.g. "2 CANCELLED 0:0". A job
# that is no array prints one line with task "-".
slurm_task_states() {
  _slurm_jobcomp "$1" | awk '{ last[$1] = $0 } END { for (t in last) print last[t] }' | sort -n
}

# slurm_requeue JOB[_TASK]: requeues one job or array task (running or finished) and releases it
# at once (Slurm would hold it ~2 min); the caller waits with slurm_wait_job. 1 on failure.
slurm_requeue() {
  local j=$1 i state=
  timeout --foreground 10 scontrol requeue "$j" || {
    echo "slurm_requeue: scontrol requeue $j failed" >&2
    return 1
  }
  for ((i = 0; i < 100; i++)); do
    state=$(_slurm_job_lines "$j" | grep -oE 'JobState=[A-Z_]+' | head -n1)
    [ "$state" = JobState=PENDING ] && break
    sleep 0.1
  done
  [ "$state" = JobState=PENDING ] || {
    echo "slurm_requeue: $j is not pending after the requeue ($state)" >&2
    return 1
  }
  timeout --foreground 10 scontrol update jobid="$j" StartTime=now
}

# slurm_task_state JOB_TASK: the task's current JobState (PENDING, RUNNING, ...), "" if unknown.
slurm_task_state() {
  _slurm_job_lines "$1" | grep -oE 'JobState=[A-Z_]+' | head -n1 | sed 's/JobState=//'
}
