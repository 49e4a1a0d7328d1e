#!/usr/bin/env bash
# Generates freshet's bash completion or man page from the binary's own
# `--help` output, so neither can drift from the commands and options.
#
# Usage: deploy/package/cli-docs.sh completion BINARY OUT
#        deploy/package/cli-docs.sh man BINARY OUT       (needs help2man)
set -euo pipefail

mode=$1 binary=$2 out=$3

# Prints the subcommand names of `freshet $*` (the "Subcommands:" section).
subcommands() {
  "$binary" "$@" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

# Prints every command path, one per line ("" for the top level), depth first.
command_paths() {
  local prefix=("$@") name
  echo "${prefix[*]}"
  for name in $(subcommands "${prefix[@]}"); do command_paths "${prefix[@]}" "$name"; done
}

# Prints "name choices" per option of `freshet $*`: `-j,--jobs INT` gives
# "-j" and "--jobs"; `--strategy TEXT:{auto,bulk}` gives "--strategy auto,bulk";
# an option taking a value without fixed choices gives "--to =".
options() {
  "$binary" "$@" --help | awk '
    /^Options:/ { on = 1; next }
    /^[A-Za-z]/ { on = 0 }
    on && /^  -/ {
      spec = $1; value = ""
      rest = substr($0, 3 + length(spec))
      type = substr(rest, 2); sub(/ .*/, "", type)
      # One space, then the value type (--to TEXT, --x TEXT:{a,b}); a flag has
      # none ("--incremental Excludes: --no-incremental" is not a type).
      if (rest ~ /^ [A-Z]/ && type ~ /^[A-Z]+([:{]|$)/) {
        if (type ~ /\{/) { value = type; sub(/.*\{/, "", value); sub(/\}.*/, "", value) }
        else value = "="
      }
      n = split(spec, names, ",")
      for (i = 1; i <= n; i++) print names[i], value
    }'
}

completion() {
  local path key words values
  cat <<'HEAD'
# bash completion for freshet. Generated from `freshet --help` by
# deploy/package/cli-docs.sh; do not edit.
# shellcheck disable=SC2207 # compgen output is split on purpose
_freshet() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local path="" word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    [[ $word == -* ]] && continue
    if [[ " $(_freshet_subcommands "$path") " == *" $word "* ]]; then
      path="${path:+$path }$word"
    fi
  done
  case "$path:$prev" in
HEAD
  local parts
  while IFS= read -r path; do
    read -ra parts <<<"$path"
    while read -r key values; do
      [[ -z $values ]] && continue
      # shellcheck disable=SC2016 # $cur is for the generated script
      if [[ $values == "=" ]]; then
        printf '    "%s:%s") COMPREPLY=($(compgen -f -- "$cur")); return ;;\n' "$path" "$key"
      else
        # shellcheck disable=SC2016
        printf '    "%s:%s") COMPREPLY=($(compgen -W "%s" -- "$cur")); return ;;\n' \
          "$path" "$key" "${values//,/ }"
      fi
    done < <(options "${parts[@]}")
  done < <(command_paths)
  cat <<'MID'
  esac
  local words
  case "$path" in
MID
  while IFS= read -r path; do
    read -ra parts <<<"$path"
    words=$( (subcommands "${parts[@]}"; options "${parts[@]}" | awk '{ print $1 }') | tr '\n' ' ')
    printf '    "%s") words="%s" ;;\n' "$path" "${words% }"
  done < <(command_paths)
  cat <<'MID2'
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
_freshet_subcommands() {
  case "$1" in
MID2
  while IFS= read -r path; do
    read -ra parts <<<"$path"
    words=$(subcommands "${parts[@]}" | tr '\n' ' ')
    printf '    "%s") echo "%s" ;;\n' "$path" "${words% }"
  done < <(command_paths)
  cat <<'TAIL'
  esac
}
complete -F _freshet freshet
TAIL
}

man_page() {
  local include path parts
  include=$(mktemp)
  trap 'rm -f "$include"' RETURN
  {
    echo "[COMMANDS]"
    while IFS= read -r path; do
      [[ -z $path ]] && continue
      read -ra parts <<<"$path"
      echo ".SS \"freshet $path\""
      echo ".nf"
      "$binary" "${parts[@]}" --help | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./'
      echo ".fi"
    done < <(command_paths)
    echo "[EXIT STATUS]"
    echo "0 success; 1 a server, connection, file or stream failed; 2 bad arguments, config or"
    echo "input file; 3 the schemas cannot be synced as asked; 4 verification found differences;"
    echo "5 a safety rule refused to write to the target."
    echo "[SEE ALSO]"
    echo "/usr/share/doc/freshet/README.md"
  } >"$include"
  help2man --no-info --section 1 --name "refresh development databases from production" \
    --version-string "$("$binary" --version | awk '{ print $2 }')" \
    --include "$include" "$binary" >"$out.tmp"
  mv "$out.tmp" "$out"
}

case $mode in
  completion) completion >"$out.tmp" && mv "$out.tmp" "$out" ;;
  man) man_page ;;
  *) echo "usage: $0 completion|man BINARY OUT" >&2; exit 2 ;;
esac
