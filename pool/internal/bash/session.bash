# mothreads session program. protocol.go holds the grammar of every message
# and the boot line that runs this text; doc.go holds the design. In short:
#   fd 0     /dev/null
#   fd 1, 2  the diagnostics pipe: logged by the pool, never user output
#   fd 4     the control socket: messages from the pool, reports to it. It is
#            a socket, so no command can reopen it through /proc.
# The boot line reads this text from fd 4, evals it at the shell's top level,
# then runs the main loop itself, so that a call's script is evaluated at the
# top level of the -c string, on its line 1: errors, LINENO and the rest are
# those of `bash -c`. Names starting with __mt_ are reserved.

# __mt_rd NAME reads one block from the control socket into NAME: eight
# decimal digits, then that many characters. The pool sends only ASCII, so
# characters are bytes whatever the locale.
__mt_rd() {
  IFS= read -r -N 8 __mt_n <&4 && IFS= read -r -N "$((10#$__mt_n))" "$1" <&4
}

# __mt_kids holds the pids of the children forked for calls, oldest first.
# Calls use them in that order, so the oldest live one runs the current call.
__mt_kids=()

# __mt_fwd SIG passes a signal sent to the session's shell ($$ of every call)
# on to the process running the current call, as if $$ had named it (a
# child that is still idle gets it too, and the pool replaces it).
__mt_fwd() {
  while (( ${#__mt_kids[@]} )); do
    if \builtin kill -0 "${__mt_kids[0]}" 2>/dev/null; then
      \builtin kill -s "$1" "${__mt_kids[0]}" 2>/dev/null
      return
    fi
    __mt_kids=("${__mt_kids[@]:1}")
  done
}
__mt_sigs='HUP INT QUIT USR1 USR2 ALRM TERM CONT'
for __mt_v in $__mt_sigs; do
  \builtin trap "__mt_fwd $__mt_v" "$__mt_v"
done

# __mt_forked records the child just forked for slot $__mt_k, reports it,
# and drops it from the job table: the shell never waits for it (the pool
# learns its status from the kernel), and bash would otherwise announce its
# end on the diagnostics pipe. Children that are gone are forgotten.
__mt_forked() {
  __mt_kids+=("$!")
  \builtin disown "$!" 2>/dev/null
  \builtin printf 'k %s %s\n' "$__mt_k" "$!" >&4
  while (( ${#__mt_kids[@]} > 2 )) && ! \builtin kill -0 "${__mt_kids[0]}" 2>/dev/null; do
    __mt_kids=("${__mt_kids[@]:1}")
  done
}

# __mt_next waits for the next message that the boot line acts on, "f K T"
# in 42 characters (fork the child of slot K, whose FIFOs are
# $__mt_dir/T.*; fixed width, so one read(2) takes it). It fails at the end
# of the control stream or on anything else.
__mt_next() {
  local l
  IFS= read -r -N 42 -u 4 l || return 1
  [[ $l == f* ]] || return 1
  __mt_k=$((10#${l:1:8}))
  __mt_t=$__mt_dir/${l:9:32}
}

# __mt_child runs first in the child forked for a slot, before any call is
# known: it opens the slot's FIFOs, reports ready, drops the control socket
# and waits for its job. The job (shell code written by the pool, ASCII only)
# sets the call up and sets BASH_EXECUTION_STRING to the script, which the
# boot line then evaluates. On the way it undoes everything that would tell
# the call from `bash -c`: job control, the session's traps, its variables
# and functions.
__mt_child() {
  \builtin set +m
  \builtin trap - $__mt_sigs
  \command exec 0<"$__mt_t.i" 1>"$__mt_t.o" 2>"$__mt_t.e" 3>"$__mt_t.r" || {
    \builtin printf 'F %s\n' "$__mt_k" >&4
    return 1
  }
  # Warm-up: the same code paths a call takes, to no effect, so that the
  # copy-on-write faults of a fresh fork happen now rather than on the
  # caller's time.
  { \builtin cd -- "$PWD"; __mt_w=1; \builtin export __mt_w; \builtin unset -v __mt_w
    \builtin shopt -q extglob; \builtin eval "__mt_w() { :
}"; \builtin unset -f __mt_w; \builtin printf -v __mt_w '%s' warm; \builtin unset -v __mt_w; } 2>/dev/null
  \builtin printf 'r %s %s\n' "$__mt_k" "$BASHPID" >&4
  \command exec 4>&-
  __mt_rd() { IFS= read -r -N 8 __mt_n && IFS= read -r -N "$((10#$__mt_n))" "$1"; }
  __mt_rd __mt_j || return 1
  \builtin eval "$__mt_j"
  \builtin unset -v __mt_j __mt_n __mt_k __mt_t __mt_v __mt_kids __mt_sigs __mt_dir __mt_rc __mt_mode
  \builtin unset -f __mt_rd __mt_fwd __mt_next __mt_child __mt_done __mt_forked __mt_call __mt_fence
  BASH_SUBSHELL=0
  SECONDS=0
}

# A sticky session's shell reads its commands from the control socket, as
# a terminal's shell reads them from the terminal: each call is one command
# line, `__mt_call K&&{ eval "$BASH_EXECUTION_STRING" <&58 >&60 2>&59 ...;
# __mt_done;}`, followed by the call's job (a block) and the line
# `__mt_fence K`. Its controlling terminal is a pseudo-terminal of the
# pool's, so bash's job control gives the terminal to each foreground job:
# an interrupt (^C on the terminal) reaches the foreground job only, and the
# shell discards the rest of the call's command line, as a terminal's shell
# does; the fence then reports the status (130).

# __mt_call K applies call K's job (it opens the call's FIFOs as 58-60) and
# reports that the call started, or why it could not.
__mt_call() {
  __mt_k=$1
  __mt_rd __mt_j || return 1
  __mt_fail=
  \builtin eval "$__mt_j"
  \builtin unset -v __mt_j
  if [[ -n $__mt_fail ]]; then
    \command exec 58<&- 59>&- 60>&-
    \builtin printf 'e %s %s\n' "$__mt_k" "$__mt_fail" >&4
    return 1
  fi
  \builtin printf 's %s\n' "$__mt_k" >&4
}

# __mt_done ends a sticky call that ran to its end: its status, then the
# call's channels close. Background jobs keep the FIFOs they inherited.
__mt_done() {
  __mt_rc=$?
  \command exec 58<&- 59>&- 60>&-
  \builtin printf 'd %s %s\n' "$__mt_k" "$__mt_rc" >&4
}

# __mt_fence K follows every call: after __mt_done it only confirms; after
# an interrupt, which discards the rest of the call's line, it is the end of
# the call and its status.
__mt_fence() {
  __mt_rc=$?
  \command exec 58<&- 59>&- 60>&-
  \builtin printf 'z %s %s\n' "$1" "$__mt_rc" >&4
}

# Start: the session directory, the init script, then what the pool needs to
# know about the session. Everything before the init's own output is reported
# as the shell found it, so the pool can tell what the init changed.
unset -v __mt_n __mt_p
__mt_rd __mt_mode || exit 200
# $BASH is the shell's path, as for bash -c (bash derives it from argv[0],
# which here names the session).
__mt_rd BASH || exit 200
__mt_rd __mt_dir || exit 200
{
  \builtin printf 'i\0u:'
  \builtin umask
  \builtin printf '\0l:'
  \builtin ulimit -a
  \builtin printf '\0\0'
} >&4
__mt_rd __mt_j || exit 200
\builtin eval "$__mt_j" </dev/null
__mt_rc=$?
unset -v __mt_j
{
  \builtin printf 'I\0%d\0' "$__mt_rc"
  if (( __mt_rc == 0 )); then
    \builtin printf 'd:%s\0v:%s.%s\0u:' "$PWD" "${BASH_VERSINFO[0]}" "${BASH_VERSINFO[1]}"
    \builtin umask
    \builtin printf '\0l:'
    \builtin ulimit -a
    \builtin printf '\0'
    \builtin mapfile -t __mt_j < <(\builtin compgen -e)
    for __mt_v in "${__mt_j[@]}"; do
      \builtin printf 'e:%s=%s\0' "$__mt_v" "${!__mt_v}"
    done
    \builtin mapfile -t __mt_j < <(\builtin compgen -b)
    \builtin printf 'b:%s\0' "${__mt_j[@]}"
    \builtin mapfile -t __mt_j < <(\builtin compgen -A function)
    for __mt_v in "${__mt_j[@]}"; do
      [[ $__mt_v == __mt_* ]] || \builtin printf 'f:%s\0' "$__mt_v"
    done
  fi
  \builtin printf '\0'
} >&4
(( __mt_rc == 0 )) || exit "$__mt_rc"
unset -v __mt_j __mt_v __mt_rc
\builtin set -m
if [[ $__mt_mode == sticky ]]; then
  # $0 of the calls is bash's, as for bash -c (bash 5.0 and newer).
  BASH_ARGV0=bash
  # An interrupted command line is discarded, not the shell (see above);
  # like a terminal's shell, this one is not ended by SIGTERM.
  \builtin trap - $__mt_sigs
  \builtin trap : INT TERM
  \builtin unset -f __mt_next __mt_child __mt_forked __mt_fwd
fi
