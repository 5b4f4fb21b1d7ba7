# mothreads reaper, run as: bash --noprofile --norc -c PROGRAM mothreads-reaper
# Its standard input is the pool's lifeline: the pool holds the only write
# end. It reads fixed-width records, "+SID" to register a session id and
# "-SID" to forget it (one character, 14 digits, a newline: 16 bytes). At
# EOF (the pool closed the pipe, or its process died, even by SIGKILL) it
# kills every process still in a registered session, in a few rounds since
# processes may fork while being killed.
declare -A s
while read -r -N 16 r; do
  id=$((10#${r:1:14}))
  case ${r:0:1} in
    +) s[$id]=1 ;;
    -) unset "s[$id]" ;;
  esac
done
(( ${#s[@]} )) || exit 0
for _ in 1 2 3 4 5; do
  found=0
  for f in /proc/[0-9]*/stat; do
    read -r line < "$f" 2>/dev/null || continue
    rest=${line##*") "}
    read -r _ _ _ sid _ <<<"$rest"
    if [[ -n ${s[$sid]-} ]]; then
      p=${f#/proc/}
      kill -KILL "${p%/stat}" 2>/dev/null && found=1
    fi
  done
  (( found )) || break
done
exit 0
