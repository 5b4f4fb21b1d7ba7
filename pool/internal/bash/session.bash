# mothreads session program, run as: bash --noprofile --norc -c PROGRAM bash
# The protocol is described in doc.go (package bash). In short:
#   fd 0  control pipe from the daemon (slot announcements in isolated mode,
#         "N O E J I" call lines in sticky mode; EOF: quit)
#   fd 1  status pipe to the daemon (this shell, and children before a call)
#   fd 2  diagnostics pipe (never user output)
#   __MT_DIR  the session's private directory; __MT_MODE isolated|sticky
# Every per-call channel is a pipe (or, for the job, a memfd) that the daemon
# made and keeps one end of; the shell opens the other end through
# /proc/$PPID/fd/N. Names starting with __mt_ are reserved.

# __mt_child runs in the subshell pre-forked for slot $1, before any call is
# known (the trusted phase): it opens the slot's channels, drops what the
# parent shell owns, installs the exit report, touches the memory a call
# will touch (so that copy-on-write faults happen now, not on the caller's
# time), and reports ready.
__mt_child() {
  # $1 is the slot's announcement: its number, then the daemon's descriptors
  # for stdout, stderr, call status, wake-up and job, in fixed-width fields.
  local f=/proc/$PPID/fd/
  __mt_n=$((10#${1:0:8}))
  # Every channel is opened before "ready": the pool starts reading when it
  # sees it, and a pipe read with no writer yet is an end of file.
  set +m
  exec 62<"$f$((10#${1:26:6}))" 63>"$f$((10#${1:20:6}))" 61<"$f$((10#${1:32:6}))" \
    60>"$f$((10#${1:8:6}))" 59>"$f$((10#${1:14:6}))" 0</dev/null || exit 201
  unset -v __mt_dir __mt_mode __mt_p1 __mt_p2 __mt_n1 __mt_n2 __mt_l __mt_rc __mt_pre_umask __mt_pre_ulimit __mt_init __mt_names __mt_v
  # The exit report. After a call that ran to its end, the child sets
  # __mt_end and exits: the report then closes the output and says "done":
  # the call is over before the child has even exited. A child that ends
  # through the command's `exit`, errexit or a fatal signal reports "exit
  # RC" instead, which tells exit status 128+N apart from death by signal N
  # (see decodeStatus). A command that replaces the EXIT trap loses both.
  # The command's own subshells inherit the trap, and bash runs it in them
  # when a signal kills them (the kill at the end of a call does): the
  # guard, this child's pid written into the trap, keeps it to this child.
  # The guard is an arithmetic command, not a simple one: in a subshell
  # forked amid making children, bash follows a simple command by waiting
  # for a pid it has no record of, and says so on the command's stderr.
  trap '(( (__mt_st = $?) >= 0 && BASHPID == '"$BASHPID"' )) && if [[ -n ${__mt_end-} ]]; then exec 1>&63 2>&-; printf "done %d\n" "$__mt_st"; else printf "exit %d\n" "$__mt_st" >&63; fi' EXIT
  # Warm-up: run once, with no effect, what a call runs, so the copy-on-write
  # faults and cache misses of a fresh fork happen now rather than on the
  # caller's time.
  mapfile -d '' -t __mt_w </dev/null
  printf -v __mt_w '%q ' warm up
  __mt_w="unset -v __mt_w; (( 1 > 0 )); [[ -n x ]]; :"
  eval "$__mt_w"
  printf 'ready %d %d\n' "$__mt_n" "$BASHPID"
  exec 1>&60 2>&59 60>&- 59>&-
}

{
  __mt_dir=$__MT_DIR
  __mt_mode=$__MT_MODE
  unset -v __MT_DIR __MT_MODE
  __mt_pre_umask=$(umask)
  __mt_pre_ulimit=$(ulimit -a)
  __mt_rc=0
  if [[ -s $__mt_dir/init ]]; then
    mapfile -d '' -t __mt_init <"$__mt_dir/init"
    eval "${__mt_init[0]}" </dev/null >"$__mt_dir/init.log" 2>&1
    __mt_rc=$?
    unset -v __mt_init
  fi
  if (( __mt_rc == 0 )); then
    mapfile -t __mt_names < <(compgen -e)
    for __mt_v in "${__mt_names[@]}"; do
      printf '%s=%s\0' "$__mt_v" "${!__mt_v}"
    done >"$__mt_dir/env"
    {
      printf '%s\0' "$PWD"
      [[ $(umask) == "$__mt_pre_umask" && $(ulimit -a) == "$__mt_pre_ulimit" ]] && printf 'same\0' || printf 'changed\0'
      printf '%s\0' "${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}"
      compgen -b
      compgen -A function | grep -v '^__mt_'
    } >"$__mt_dir/info"
  fi
  printf 'init %d\n' "$__mt_rc"
  (( __mt_rc == 0 )) || exit "$__mt_rc"

  if [[ $__mt_mode == sticky ]]; then
    unset -f __mt_child
    set -m
    while read -r __mt_l __mt_o __mt_e __mt_f __mt_in; do
      # "N O E J I": call number, then the daemon's descriptors for stdout,
      # stderr, job and stdin (0: none).
      __mt_n=$__mt_l
      mapfile -d '' -t __mt_j <"/proc/$PPID/fd/$__mt_f"
      __mt_rc=0
      if [[ -n ${__mt_j[1]} ]] && ! builtin cd -- "${__mt_j[1]}" 2>/dev/null; then
        printf 'fail %d cwd\n' "$__mt_n"
        continue
      fi
      __mt_i=5
      __mt_s=${__mt_j[4]}
      while (( __mt_s > 0 )); do
        builtin export -- "${__mt_j[__mt_i]}" 2>/dev/null || :
        __mt_i=$((__mt_i+1)); __mt_s=$((__mt_s-1))
      done
      case ${__mt_j[0]} in
        s) __mt_x=${__mt_j[__mt_i]} ;;
        *) printf -v __mt_x '%q ' "${__mt_j[@]:__mt_i}" ;;
      esac
      __mt_f=/dev/null
      (( __mt_in > 0 )) && __mt_f=/proc/$PPID/fd/$__mt_in
      # The channels are opened before "start": the pool reads them after.
      exec 58<"$__mt_f" 59>"/proc/$PPID/fd/$__mt_e" 60>"/proc/$PPID/fd/$__mt_o"
      printf 'start %d\n' "$__mt_n"
      { eval "$__mt_x"; } <&58 >&60 2>&59 58<&- 59>&- 60>&-
      __mt_rc=$?
      exec 58<&- 59>&- 60>&-
      while read -r __mt_p; do
        [[ -n $__mt_p ]] && builtin kill -KILL -- "-$__mt_p" 2>/dev/null || :
      done <<<"$(jobs -p)"
      wait 2>/dev/null || :
      printf 'done %d %d\n' "$__mt_n" "$__mt_rc"
    done
    exit 0
  fi

  # Isolated mode: keep two children forked, one running a call and one
  # ready for the next; the daemon announces each slot before its child is
  # forked. A child's job fields (NUL-terminated): kind (s script, a internal
  # argv, x external argv), cwd, stdin (empty, or the daemon's descriptor
  # for the call's stdin pipe), unset count, names...,
  # set count, KEY=VALUE..., then the script or the argv words.
  # __mt_p1/__mt_n1: the oldest child's pid and slot; __mt_p2/__mt_n2: the
  # next one's.
  __mt_p1= __mt_p2=
  while :; do
    while [[ -z $__mt_p2 ]]; do
      read -r -N 39 __mt_l || exit 0
      set -m
      (
        __mt_child "$__mt_l"
        unset -f __mt_child
        read -r -N 1 -u 62 __mt_c || exit 202
        [[ $__mt_c == g ]] || exit 0
        mapfile -d '' -t -u 61 __mt_j
        exec 61<&-
        if [[ -n ${__mt_j[1]} ]] && ! builtin cd -- "${__mt_j[1]}" 2>/dev/null; then
          trap - EXIT
          printf 'fail %d cwd\n' "$__mt_n" >&63
          exit 204
        fi
        if [[ -n ${__mt_j[2]} ]] && ! exec 0<"/proc/$PPID/fd/${__mt_j[2]}"; then
          trap - EXIT
          printf 'fail %d stdin\n' "$__mt_n" >&63
          exit 205
        fi
        __mt_i=4
        if (( __mt_j[3] > 0 )); then
          builtin unset -v "${__mt_j[@]:4:__mt_j[3]}" 2>/dev/null || :
          __mt_i=$((4+__mt_j[3]))
        fi
        if (( __mt_j[__mt_i] > 0 )); then
          for __mt_v in "${__mt_j[@]:__mt_i+1:__mt_j[__mt_i]}"; do
            builtin export -- "$__mt_v" 2>/dev/null || :
          done
        fi
        __mt_i=$((__mt_i+1+__mt_j[__mt_i]))
        case ${__mt_j[0]} in
          s) __mt_x=${__mt_j[__mt_i]} ;;
          a) printf -v __mt_x '%q ' "${__mt_j[@]:__mt_i}" ;;
          x) trap - EXIT
             exec 62>&- 63>&-
             exec -- "${__mt_j[@]:__mt_i}" ;;
        esac
        __mt_x="unset -v __mt_x __mt_j __mt_c __mt_n __mt_i __mt_v; : \"\$BASH\"
$__mt_x"
        eval "$__mt_x"
        __mt_end=$?
        exit "$__mt_end"
      ) &
      if [[ -z $__mt_p1 ]]; then
        __mt_p1=$! __mt_n1=$((10#${__mt_l:0:8}))
      else
        __mt_p2=$! __mt_n2=$((10#${__mt_l:0:8}))
      fi
      set +m
    done
    # Plain wait: job control is off here, so it waits for termination
    # (`wait -f` was seen to lose track of children and spin in bash 5.2).
    wait "$__mt_p1" && __mt_rc=0 || __mt_rc=$?
    printf 'rc %d %d\n' "$__mt_n1" "$__mt_rc"
    __mt_p1=$__mt_p2 __mt_n1=$__mt_n2 __mt_p2=
  done
}
