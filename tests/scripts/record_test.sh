#!/usr/bin/env bash
# scripts/record.sh against stand-in `lttng` and `perf` executables on PATH
# that log their command lines: the sessions it sets up, the events and
# contexts it asks for, that the workload runs between start and stop, and
# what the prerequisite check says when pieces are missing.
set -uo pipefail
record=${1:?usage: record_test.sh path/to/scripts/record.sh}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() {  # expect DESCRIPTION FILE REGEX
  grep -Eq -- "$3" "$2" || { fail "$1 (no /$3/ in $2)"; sed 's/^/    /' "$2"; }
}
reject() {
  ! grep -Eq -- "$3" "$2" || fail "$1 (/$3/ in $2)"
}

mkdir -p "$work/bin"
log=$work/calls.log
# Stand-in lttng: logs argv; `list --kernel` prints the events in $LTTNG_EVENTS
# the way lttng 2.13 does.
cat >"$work/bin/lttng" <<'SH'
#!/bin/sh
echo "lttng $*" >>"$CALLS"
if [ "$1" = list ]; then
  echo "Kernel events:"
  echo "-------------"
  for e in $LTTNG_EVENTS; do
    echo "      $e (loglevel: TRACE_EMERG (0)) (type: tracepoint)"
  done
fi
exit 0
SH
# Stand-in perf: logs argv, runs the workload of `perf record ... -- CMD`,
# claims CTF support.
cat >"$work/bin/perf" <<'SH'
#!/bin/sh
echo "perf $*" >>"$CALLS"
case "$1" in
  record)
    while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
    shift; "$@"; exit $? ;;
  data)
    if [ "$3" = --help ]; then echo "  --to-ctf  convert to CTF"; fi ;;
esac
exit 0
SH
chmod +x "$work/bin/lttng" "$work/bin/perf"
export PATH=$work/bin:$PATH CALLS=$log
ALL="sched_switch sched_waking sched_wakeup sched_wakeup_new sched_process_fork sched_process_exit sched_process_free sched_process_exec irq_handler_entry irq_handler_exit irq_softirq_raise irq_softirq_entry irq_softirq_exit timer_hrtimer_expire_entry timer_hrtimer_expire_exit block_rq_issue block_rq_complete net_dev_queue netif_receive_skb kvm_x86_entry kvm_x86_exit kvm_x86_inj_virq kvm_x86_apic_accept_irq kvm_x86_hypercall kvm_x86_nested_vmexit_inject kvm_x86_write_tsc_offset addons_vcpu_enter_guest lttng_statedump_process_state"

# 1. LTTng, everything present, a workload command.
: >"$log"
LTTNG_EVENTS=$ALL "$record" lttng --output "$work/t1" -- sh -c 'echo "workload ran" >>"$CALLS"' 2>"$work/err1"
[[ $? == 0 ]] || fail "lttng record exit status"
expect "session created in the output dir" "$log" "^lttng create vmtrace-[0-9]+ --output=$work/t1$"
expect "discard channel sized for 1M events/s" "$log" "enable-channel --kernel .*--discard --subbuf-size=1M --num-subbuf=8 vmtrace"
expect "kvm events enabled" "$log" "enable-event --kernel .*kvm_x86_entry,kvm_x86_exit,.*kvm_x86_write_tsc_offset"
expect "addon enabled" "$log" "enable-event --kernel .*addons_vcpu_enter_guest"
expect "statedump enabled" "$log" "enable-event --kernel .*lttng_statedump_\*"
expect "syscalls enabled" "$log" "enable-event --kernel .*--syscall --all"
expect "pid/tid contexts" "$log" "add-context --kernel .*--type=pid --type=tid --type=procname"
order=$(grep -nE "^lttng start|^workload ran|^lttng stop|^lttng destroy" "$log" | cut -d: -f2 | cut -c1-12 | tr '\n' '|')
[[ $order == "lttng start |workload ran|lttng stop v|lttng destro|" ]] ||
  fail "workload between start and stop, then destroy: $order"
reject "no complaint when all is there" "$work/err1" "missing"
expect "says how to open the trace" "$work/err1" "vmtrace-server --open $work/t1"

# 2. The workload's exit status is the script's.
LTTNG_EVENTS=$ALL "$record" lttng --output "$work/t2" -- sh -c 'exit 3' 2>/dev/null
[[ $? == 3 ]] || fail "workload status not propagated"

# 3. No KVM probe and no addon: the check says what is lost, exits 1, and a
#    recording leaves the missing events out.
: >"$log"
NOKVM=$(tr ' ' '\n' <<<"$ALL" | grep -v -e kvm_ -e addons_ | tr '\n' ' ')
LTTNG_EVENTS=$NOKVM "$record" lttng --check 2>"$work/err3"
[[ $? == 1 ]] || fail "--check must fail when KVM events are missing"
expect "kvm gap explained" "$work/err3" "kvm_x86_\* events missing.*no VM views"
expect "addon gap explained" "$work/err3" "addons_vcpu_enter_guest missing.*no guest processes"
reject "--check records nothing" "$log" "lttng create"
LTTNG_EVENTS=$NOKVM "$record" lttng --output "$work/t3" --duration 1 2>/dev/null
expect "sched still recorded" "$log" "enable-event --kernel .*sched_switch"
reject "absent kvm events not asked for" "$log" "enable-event .*kvm_x86_entry"

# 4. perf with the kvm tracepoints: record every CPU, convert to CTF.
: >"$log"
mkdir -p "$work/tracefs/events/sched" "$work/tracefs/events/kvm"
TRACEFS=$work/tracefs "$record" perf --output "$work/p1" -- sh -c 'echo "workload ran" >>"$CALLS"' 2>"$work/err4"
[[ $? == 0 ]] || fail "perf record exit status"
expect "perf records all CPUs with kvm events" "$log" "^perf record -a -R -m 2048 -e sched:sched_switch,.*kvm:kvm_entry,kvm:kvm_exit.* -o $work/p1/perf.data -- sh"
expect "workload ran under perf" "$log" "^workload ran"
expect "converted to CTF" "$log" "^perf data convert --to-ctf $work/p1/ctf -i $work/p1/perf.data"
expect "CR3 limit stated" "$work/err4" "cannot record the guest CR3"
expect "says how to open the trace" "$work/err4" "vmtrace-server --open $work/p1/ctf"

# 5. perf without kvm: explained, and the kvm events are not asked for.
: >"$log"
rmdir "$work/tracefs/events/kvm"
TRACEFS=$work/tracefs "$record" perf --output "$work/p2" --duration 1 2>"$work/err5"
expect "kvm gap explained" "$work/err5" "kvm tracepoints missing.*no VM views"
reject "no kvm events asked for" "$log" "kvm:kvm_entry"

# 6. Bad arguments are refused before anything runs.
: >"$log"
"$record" lttng --duration soon 2>/dev/null
[[ $? == 2 ]] || fail "--duration soon must be refused"
"$record" ftrace 2>/dev/null
[[ $? == 2 ]] || fail "unknown tracer must be refused"
[[ ! -s $log ]] || fail "nothing runs on bad arguments"

if ((fails)); then echo "$fails failure(s)"; exit 1; fi
echo "record.sh: all checks passed"
