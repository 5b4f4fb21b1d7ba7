# The session shell of the portable driver: `bash -c "$(this)" bash`, with
# __MOTHREADS_DIR=DIR in its environment (not an argument: BASH_ARGV would
# show it to the calls).
# Descriptors: 0 the control pipe (the pool's lines "N TOKEN i|-"), 1 and 2
# the diagnostics pipe, 3 the status pipe (this shell's reports). DIR is the
# session's private directory: init (the init script), then the files this
# shell writes once (state, env, cwd, internal) and per call N the pool's
# N.job and the FIFOs N.out, N.err (N.in with stdin). Every report starts
# with the call's token. Nothing here trusts a call: each runs in a child
# forked with job control, so in a process group of its own, and this shell
# only waits for it.
__mt_d=$__MOTHREADS_DIR
builtin unset -v __MOTHREADS_DIR
{ IFS= builtin read -r -d '' __mt_i || :; } <"$__mt_d/init"
{ builtin set +o; builtin shopt -p; builtin trap -p; } >|"$__mt_d/state0"
builtin eval "$__mt_i" </dev/null 3>&-
__mt_r=$?
# What the init left (options, shopt, traps) is the calls' state: saved for
# the children (the job restores it), then reset here so that no option,
# alias, function or trap of the init can disturb this loop.
builtin set +o >|"$__mt_d/state"
builtin shopt -p >>"$__mt_d/state"
builtin trap -p >>"$__mt_d/state"
builtin set +euCETxv +o pipefail +o posix
builtin shopt -u expand_aliases nocasematch
builtin trap - DEBUG ERR RETURN EXIT
case $__mt_r in
0) ;;
*)
	builtin printf 'init %s\n' "$__mt_r" >&3
	builtin exit "$__mt_r"
	;;
esac
# The state to restore in each child: none when the init left it as bash
# starts (job control is turned off in any case).
{ IFS= builtin read -r -d '' __mt_o || :; } <"$__mt_d/state"
{ IFS= builtin read -r -d '' __mt_v || :; } <"$__mt_d/state0"
case $__mt_o in
"$__mt_v") __mt_o='builtin set +m' ;;
esac
builtin compgen -e >|"$__mt_d/names"
while IFS= builtin read -r __mt_v; do
	builtin printf '%s=%s\0' "$__mt_v" "${!__mt_v}"
done <"$__mt_d/names" >|"$__mt_d/env"
{ builtin compgen -b; builtin compgen -A function; } >|"$__mt_d/internal"
builtin printf '%s' "$PWD" >|"$__mt_d/cwd"
# wait -f (bash 5.1) waits through a stopped child; older bash polls then.
__mt_wf=
case ${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]} in
4.* | 5.0) ;;
*) __mt_wf=-f ;;
esac
# __mt_chld records how the last child ended, from the job table, which
# knows a death by a signal from an exit status above 128: __mt_st (exit or
# signal) and __mt_rc (what wait says). It runs as the CHLD trap, and once
# more when the child is gone.
__mt_chld() {
	LC_ALL=C builtin jobs -l >|"$__mt_d/jobs" 2>/dev/null
	while IFS=' ' builtin read -r __mt_a __mt_b __mt_c __mt_e; do
		case $__mt_b in
		"$!") ;;
		*) continue ;;
		esac
		case $__mt_c in
		Running* | Stopped*) continue ;;
		Done* | Exit*) __mt_st='exit' ;;
		*) __mt_st='signal' ;;
		esac
		builtin wait "$!"
		__mt_rc=$?
	done <"$__mt_d/jobs"
}
builtin set -m
builtin trap __mt_chld CHLD
builtin printf 'ready\n' >&3
while IFS=' ' builtin read -r __mt_n __mt_t __mt_f; do
	__mt_p='' __mt_st='' __mt_rc=''
	case $__mt_f in
	i) __mt_in=$__mt_d/$__mt_n.in ;;
	*) __mt_in=/dev/null ;;
	esac
	# The shell opens the call's FIFOs itself before it forks: once the
	# pool has the pid, the child holds the writers. They are opened with
	# `command exec` to descriptors of their own (not as a redirection of
	# the child, which would leave copies of this shell's descriptors in
	# it), and closed here once the child has them.
	__mt_fi='' __mt_fo='' __mt_fe=''
	command exec {__mt_fi}<"$__mt_in" &&
		command exec {__mt_fo}>"$__mt_d/$__mt_n.out" &&
		command exec {__mt_fe}>"$__mt_d/$__mt_n.err" &&
		{
			(
				command exec 0<&"$__mt_fi" 1>&"$__mt_fo" 2>&"$__mt_fe" {__mt_fi}<&- {__mt_fo}>&- {__mt_fe}>&- 3>&-
				builtin . "$__mt_d/$__mt_n.job"
				# shellcheck disable=SC2154 # __mt_s is set by the job file sourced above
				builtin eval "builtin unset -v __mt_s; builtin : \"\$BASH\"; $__mt_s"
			) &
			__mt_p=$!
		}
	case $__mt_fi in '') ;; *) command exec {__mt_fi}<&- ;; esac
	case $__mt_fo in '') ;; *) command exec {__mt_fo}>&- ;; esac
	case $__mt_fe in '') ;; *) command exec {__mt_fe}>&- ;; esac
	case $__mt_p in
	'')
		builtin printf '%s fail\n' "$__mt_t" >&3
		continue
		;;
	esac
	builtin printf '%s pid %s\n' "$__mt_t" "$__mt_p" >&3
	# The child's end: wait returns early on each SIGCHLD (the trap) and,
	# without -f, at once while the child is stopped. When the job table
	# no longer has the child (this wait took its status first), the
	# status is wait's, and the kind unknown.
	while :; do
		case $__mt_wf in
		-f) builtin wait -f "$__mt_p" ;;
		*) builtin wait "$__mt_p" ;;
		esac
		__mt_w=$?
		case $__mt_st in
		'') ;;
		*) break ;;
		esac
		builtin kill -0 "$__mt_p" 2>/dev/null || {
			__mt_chld
			case $__mt_st in
			'')
				# wait $p gives the status unless this loop's wait took
				# it (127: not a child); __mt_w is then that status, or
				# the number of a trapped signal that interrupted it.
				__mt_st=unknown __mt_rc=$__mt_w
				builtin wait "$__mt_p" 2>/dev/null
				__mt_w=$?
				case $__mt_w in
				-1 | 127 | 255) ;;
				*) __mt_rc=$__mt_w ;;
				esac
				;;
			esac
			break
		}
		case $__mt_wf in
		'') builtin read -r -t 0.05 __mt_x <>"$__mt_d/idle" ;;
		esac
	done
	builtin printf '%s end %s %s\n' "$__mt_t" "$__mt_st" "$__mt_rc" >&3
done
