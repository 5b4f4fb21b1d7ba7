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
# characters are bytes whatever the locale. A length that is not all digits
# is an arithmetic error, which ends the shell: every non-digit is made an
# x first, as arithmetic would evaluate the text (a[$(cmd)] runs cmd).
__mt_rd() {
  IFS= read -r -N 8 -u 4 __mt_n && IFS= read -r -N "$((10#${__mt_n//[!0-9]/x}))" -u 4 "$1"
}

# The signals that a call may send to $$ (the session's shell, not the
# call's process): the session's shell passes them on (see __mt_serve).
__mt_sigs='HUP INT QUIT USR1 USR2 ALRM TERM CONT'

# __mt_forked reports the child just forked for slot $__mt_k and drops it
# from the job table: the forker never waits for it (the pool learns its
# status from the kernel), and bash would otherwise announce its end on the
# diagnostics pipe.
__mt_forked() {
  \builtin disown "$!" 2>/dev/null
  \builtin printf 'k %s %s\n' "$__mt_k" "$!" >&4
}

# __mt_forker starts the forker, the subshell of the session's shell that
# forks the children for calls (the boot line runs its loop): job control
# gives each child a process group of its own, and the signal pipe (fd 5)
# is the shell's alone. The children are the forker's, not the shell's: the
# shell is a subreaper, and its only child besides the forker is what a
# call left behind.
__mt_forker() {
  \builtin set -m
  \command exec 5>&-
}

# __mt_serve is the session's shell once it has started the forker ($!):
# it reports the forker's pid, lets go of the control socket, and waits for
# the forker. A signal sent to it ($$ of every call) is written to the
# signal pipe, fd 5, and the pool passes it on to the call in progress.
# Processes that calls leave behind are reparented to this shell, which
# reaps them. When the forker ends, so does the session.
__mt_serve() {
  __mt_f=$!
  for __mt_v in $__mt_sigs; do
    # shellcheck disable=SC2064 # the signal's name is set now, on purpose
    \builtin trap "\\builtin printf 'g %s\\n' $__mt_v >&5" "$__mt_v"
  done
  \builtin printf 'p %s\n' "$__mt_f" >&4
  \command exec 4>&-
  while \builtin kill -0 "$__mt_f" 2>/dev/null; do
    \builtin wait "$__mt_f"
  done
  \builtin exit 0
}

# __mt_next waits for the next message that the boot line acts on, "f K T"
# in 42 characters (fork the child of slot K, whose FIFOs are
# $__mt_dir/T.*; fixed width, so one read(2) takes it). It fails at the end
# of the control stream or on anything else: K must be eight digits (the
# arithmetic would evaluate anything else), T 32 hex digits (a path), and
# a newline must end it.
__mt_next() {
  local l
  IFS= read -r -N 42 -u 4 l || return 1
  [[ $l == f[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]* && ${l:9:32} != *[!0-9a-f]* && ${l:41} == $'\n' ]] || return 1
  __mt_k=$((10#${l:1:8}))
  # shellcheck disable=SC2154 # __mt_dir is set by __mt_rd (read into "$1")
  __mt_t=$__mt_dir/${l:9:32}
}

# __mt_child runs first in the child forked for a slot, before any call is
# known: it opens the slot's FIFOs, drops the session's program (all but the
# slot number until it has reported ready; bash runs a function to its end
# though it is unset), warms up, reports ready and waits for its job. The job (shell code written by
# the pool, ASCII only) sets the call up, sets BASH_EXECUTION_STRING to the
# script, reports that the call is set up and drops the control socket; the
# boot line then evaluates the script. On the way it undoes everything that
# would tell the call from `bash -c`: job control, the session's traps, its
# variables and functions. Everything it can do before the job comes, it
# does then: that time is not the caller's.
__mt_child() {
  \builtin set +m
  # shellcheck disable=SC2086 # a list of signal names, split on purpose
  \builtin trap - $__mt_sigs
  \command exec 0<"$__mt_t.i" 1>"$__mt_t.o" 2>"$__mt_t.e" || {
    \builtin printf 'F %s\n' "$__mt_k" >&4
    return 1
  }
  \builtin unset -v __mt_t __mt_v __mt_sigs __mt_dir __mt_rc __mt_mode __mt_n __mt_j __mt_p
  \builtin unset -f __mt_rd __mt_next __mt_child __mt_done __mt_forked __mt_call __mt_fence __mt_forker __mt_serve
  # Warm-up: the code paths a call takes, to no effect, so that the
  # copy-on-write faults of a fresh fork happen now rather than on the
  # caller's time.
  # `trap -p` asks the kernel for the disposition of every signal the
  # first time (a hundred system calls): the end report's is then free.
  # shellcheck disable=SC2164 # a cd that fails changes nothing here
  { \builtin cd -- "$PWD"; __mt_w=1; \builtin export __mt_w; \builtin unset -v __mt_w
    \builtin eval "false && { :
}"; \builtin printf -v __mt_w '%s' warm; \builtin unset -v __mt_w
    \builtin trap -p EXIT; } >/dev/null 2>&1
  \builtin printf 'r %s %s\n' "$__mt_k" "$BASHPID" >&4
  \builtin unset -v __mt_k
  # The job is read into the variable it then sets to the script, so that
  # no variable of ours is left to unset on the caller's time.
  IFS= \builtin read -r -N 8 BASH_EXECUTION_STRING &&
    IFS= \builtin read -r -N "$((10#${BASH_EXECUTION_STRING//[!0-9]/x}))" BASH_EXECUTION_STRING || return 1
  \builtin eval "$BASH_EXECUTION_STRING"
}

# A sticky session's shell reads its commands from the control socket, as
# a terminal's shell reads them from the terminal: each call is one command
# line, `eval "$__mt_l"`, followed by the call's job (a block) and the line
# `__mt_fence K`. $__mt_l is `__mt_call&&{ eval "$BASH_EXECUTION_STRING"
# <&58 >&60 2>&59 ...;__mt_done;}`: the shell reads its input one byte at a
# time (it is a socket), about a microsecond each, so the line is short. Its controlling terminal is a pseudo-terminal of the
# pool's, so bash's job control gives the terminal to each foreground job:
# an interrupt (^C on the terminal) reaches the foreground job only, and the
# shell discards the rest of the call's command line, as a terminal's shell
# does; the fence then reports the status (130).

# __mt_call applies the call's job (it sets __mt_k, the call's number, and
# opens the call's FIFOs as 58-60) and reports that the call started, or why
# it could not.
__mt_call() {
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
# shellcheck disable=SC2154 # __mt_mode is set by __mt_rd (read into "$1")
if [[ $__mt_mode == sticky ]]; then
  # $0 of the calls is bash's, as for bash -c (bash 5.0 and newer).
  BASH_ARGV0=bash
  # shellcheck disable=SC2016 # evaluated later, by eval "$__mt_l"
  __mt_l='__mt_call&&{ eval "$BASH_EXECUTION_STRING" <&58 >&60 2>&59 58<&- 59>&- 60>&-;__mt_done;}'
  # An interrupted command line is discarded, not the shell (see above);
  # like a terminal's shell, this one is not ended by SIGTERM.
  # shellcheck disable=SC2086 # a list of signal names, split on purpose
  \builtin trap - $__mt_sigs
  \builtin trap : INT TERM
  \builtin unset -f __mt_next __mt_child __mt_forked __mt_forker __mt_serve
fi
