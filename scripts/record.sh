#!/usr/bin/env bash
# Records a host trace that vmtrace can analyse, with LTTng or with perf.
#
#   scripts/record.sh lttng [--output DIR] [--duration S | -- COMMAND ARGS...]
#   scripts/record.sh perf  [--output DIR] [--duration S | -- COMMAND ARGS...]
#   scripts/record.sh lttng|perf --check
#
# Records the whole host (every CPU) while COMMAND runs, or for S seconds
# (10 by default), and leaves a CTF trace in DIR (default:
# ./vmtrace-<tracer>-<date>) that `vmtrace-server --open DIR` reads. Before
# recording it checks the prerequisites and says what each missing one costs
# (see docs/recording.md for what every event is for); --check only does that.
#
# Options (environment):
#   SUBBUF_SIZE (1M), NUM_SUBBUF (8): LTTng per-CPU ring buffer, sized for ~1M
#     events/s on the host (see docs/recording.md); raise both on big hosts
#     if the trace check reports lost events.
#   PERF_MMAP_PAGES (2048): perf's per-CPU buffer in pages (8 MiB).
#   TRACEFS (/sys/kernel/tracing): where the kernel's tracepoints are listed
#     (the perf check reads it).
set -uo pipefail

die() { echo "record.sh: $*" >&2; exit 2; }
say() { echo "record.sh: $*" >&2; }

# The events the analyses read, by what they are for (docs/recording.md).
LTTNG_SCHED="sched_switch,sched_waking,sched_wakeup,sched_wakeup_new,sched_process_fork,sched_process_exit,sched_process_free,sched_process_exec"
LTTNG_IRQ="irq_handler_entry,irq_handler_exit,irq_softirq_raise,irq_softirq_entry,irq_softirq_exit"
LTTNG_TIMER="timer_hrtimer_expire_entry,timer_hrtimer_expire_exit"
LTTNG_BLOCK="block_rq_issue,block_rq_complete"
LTTNG_NET="net_dev_queue,netif_receive_skb"
LTTNG_KVM="kvm_x86_entry,kvm_x86_exit,kvm_x86_inj_virq,kvm_x86_apic_accept_irq,kvm_x86_hypercall,kvm_x86_nested_vmexit_inject,kvm_x86_write_tsc_offset"
LTTNG_ADDON="addons_vcpu_enter_guest"
LTTNG_STATEDUMP="lttng_statedump_*"

PERF_EVENTS="sched:sched_switch,sched:sched_waking,sched:sched_wakeup,sched:sched_wakeup_new,sched:sched_process_fork,sched:sched_process_exit,sched:sched_process_free,sched:sched_process_exec,irq:irq_handler_entry,irq:irq_handler_exit,irq:softirq_raise,irq:softirq_entry,irq:softirq_exit,timer:hrtimer_expire_entry,timer:hrtimer_expire_exit,block:block_rq_issue,block:block_rq_complete,net:net_dev_queue,net:netif_receive_skb,raw_syscalls:sys_enter,raw_syscalls:sys_exit"
PERF_KVM="kvm:kvm_entry,kvm:kvm_exit,kvm:kvm_inj_virq,kvm:kvm_apic_accept_irq,kvm:kvm_hypercall,kvm:kvm_nested_vmexit_inject,kvm:kvm_write_tsc_offset"

tracer=${1:-}
[[ $tracer == lttng || $tracer == perf ]] ||
  die "usage: record.sh lttng|perf [--check] [--output DIR] [--duration S | -- COMMAND...]"
shift
check_only=0
out=
duration=10
cmd=()
while (($#)); do
  case $1 in
    --check) check_only=1 ;;
    --output) out=${2:?--output needs a directory}; shift ;;
    --duration)
      duration=${2:?--duration needs seconds}
      [[ $duration =~ ^[0-9]+$ && $duration -gt 0 ]] || die "--duration: a whole number of seconds"
      shift ;;
    --) shift; cmd=("$@"); break ;;
    *) die "unknown option $1" ;;
  esac
  shift
done
out=${out:-$PWD/vmtrace-$tracer-$(date +%Y%m%d-%H%M%S)}

# Runs the workload: COMMAND if given (its status is the script's), else a
# sleep of the duration.
workload_status=0
run_workload() {
  if ((${#cmd[@]})); then
    "${cmd[@]}"
    workload_status=$?
  else
    sleep "$duration"
  fi
}

# --- LTTng ----------------------------------------------------------------

# Prints the kernel events this LTTng can record (one name per line).
lttng_kernel_events() {
  lttng list --kernel 2>/dev/null | sed -n 's/^ *\([a-z0-9_]*\) (loglevel.*/\1/p'
}

# 0 when every prerequisite is there; says what is lost for each gap.
lttng_check() {
  local ok=0 events
  if ! command -v lttng >/dev/null; then
    say "lttng not found: apt-get install lttng-tools lttng-modules-dkms (Debian 12: 2.13)"
    return 1
  fi
  if [[ $(id -u) != 0 ]] && ! id -nG | grep -qw tracing; then
    say "kernel tracing needs root or the 'tracing' group"
    ok=1
  fi
  events=$(lttng_kernel_events)
  if [[ -z $events ]]; then
    say "no kernel events listed: is lttng-sessiond running as root with lttng-modules loaded?"
    return 1
  fi
  if ! grep -qx sched_switch <<<"$events"; then
    say "sched_switch missing: no kernel model at all (load lttng-modules)"
    ok=1
  fi
  if ! grep -qx kvm_x86_entry <<<"$events"; then
    say "kvm_x86_* events missing (lttng-probe-kvm-x86 not loaded, or KVM not in use):" \
      "no VM views (Virtual CPUs, VM Exits, VM Wait, vCPU Usage) and no VM layers in the critical path"
    ok=1
  fi
  if ! grep -qx "$LTTNG_ADDON" <<<"$events"; then
    say "$LTTNG_ADDON missing (lttng-probe-addons is not in Debian's lttng-modules; see docs/recording.md):" \
      "no guest processes (Virtual Processes, guest critical paths); vCPUs and VMs are still shown"
    ok=1
  fi
  if ! grep -qx netif_receive_skb <<<"$events"; then
    say "network events missing: no clock synchronisation between the traces of several hosts"
    ok=1
  fi
  return $ok
}

# Keeps the events this kernel has; the others were reported by the check.
lttng_available() {
  local list=$1 events=$2 e kept=()
  IFS=, read -ra names <<<"$list"
  for e in "${names[@]}"; do
    if [[ $e == *'*' ]] || grep -qx "$e" <<<"$events"; then kept+=("$e"); fi
  done
  (IFS=,; echo "${kept[*]}")
}

lttng_record() {
  local session="vmtrace-$$" events list
  events=$(lttng_kernel_events)
  lttng create "$session" --output="$out" >/dev/null || die "lttng create failed"
  trap 'lttng destroy "$session" >/dev/null 2>&1' EXIT
  # Discard mode: when the consumer falls behind, LTTng drops events and
  # counts them in the packet headers, which the trace check reports; a
  # buffer of NUM_SUBBUF x SUBBUF_SIZE per CPU absorbs ~0.5 s of a 1M
  # events/s burst at ~60 bytes an event with the contexts below.
  lttng enable-channel --kernel --session="$session" --discard \
    --subbuf-size="${SUBBUF_SIZE:-1M}" --num-subbuf="${NUM_SUBBUF:-8}" \
    vmtrace >/dev/null || die "lttng enable-channel failed"
  list=$(lttng_available "$LTTNG_SCHED,$LTTNG_IRQ,$LTTNG_TIMER,$LTTNG_BLOCK,$LTTNG_NET,$LTTNG_KVM,$LTTNG_ADDON,$LTTNG_STATEDUMP" "$events")
  lttng enable-event --kernel --session="$session" --channel=vmtrace "$list" >/dev/null ||
    die "lttng enable-event failed"
  # System calls give Thread Status its SYSCALL state.
  lttng enable-event --kernel --session="$session" --channel=vmtrace --syscall --all >/dev/null ||
    say "system calls not recorded: Thread Status shows them as running"
  # The pid/tid of the emitting thread: the VM model reads them on every
  # KVM event (which QEMU process, which vCPU thread).
  lttng add-context --kernel --session="$session" --channel=vmtrace \
    --type=pid --type=tid --type=procname --type=prio >/dev/null ||
    die "lttng add-context failed"
  lttng start "$session" >/dev/null || die "lttng start failed"
  run_workload
  lttng stop "$session" >/dev/null || die "lttng stop failed"
  lttng destroy "$session" >/dev/null
  trap - EXIT
}

# --- perf -----------------------------------------------------------------

perf_check() {
  local ok=0 fs=${TRACEFS:-/sys/kernel/tracing}
  if ! command -v perf >/dev/null; then
    say "perf not found: apt-get install linux-perf"
    return 1
  fi
  if ! perf data convert --help 2>&1 | grep -q -- --to-ctf; then
    say "this perf cannot write CTF (built without libbabeltrace): 'perf data convert --to-ctf' is needed"
    ok=1
  fi
  if [[ ! -d $fs/events/sched ]]; then
    say "$fs/events not readable: run as root (or mount tracefs)"
    return 1
  fi
  if [[ ! -d $fs/events/kvm ]]; then
    say "kvm tracepoints missing (kvm module not loaded): no VM views and no VM layers in the critical path"
    ok=1
  fi
  say "perf cannot record the guest CR3 on a stock kernel (docs/recording.md):" \
    "no guest processes (Virtual Processes, guest critical paths); vCPUs and VMs are shown"
  return $ok
}

perf_record() {
  local fs=${TRACEFS:-/sys/kernel/tracing} events=$PERF_EVENTS
  [[ -d $fs/events/kvm ]] && events+=",$PERF_KVM"
  mkdir -p "$out" || die "cannot create $out"
  # -a: every CPU; -R: raw tracepoint fields; -m: per-CPU buffer sized like
  # LTTng's above. The workload runs under perf so it stops when it ends.
  local rec=(perf record -a -R -m "${PERF_MMAP_PAGES:-2048}" -e "$events" -o "$out/perf.data" --)
  if ((${#cmd[@]})); then
    "${rec[@]}" "${cmd[@]}"
    workload_status=$?
  else
    "${rec[@]}" sleep "$duration" || die "perf record failed"
  fi
  # CTF for vmtrace; perf.data stays beside it for perf's own tools.
  perf data convert --to-ctf "$out/ctf" -i "$out/perf.data" >/dev/null ||
    die "perf data convert --to-ctf failed"
}

# --- main -----------------------------------------------------------------

"${tracer}_check"
check=$?
if ((check_only)); then exit $check; fi
"${tracer}_record"
trace=$out
[[ $tracer == perf ]] && trace=$out/ctf
say "trace written; open it with: vmtrace-server --open $trace"
exit $workload_status
