# Prints the candidates zsh's completion system offers for command lines, one line per command
# line, LINE<TAB>CANDIDATES (sorted, space-separated):
#   zsh -f test/support/zsh-complete.zsh FPATH_DIR LINE...
# Runs one interactive zsh on a pseudo-terminal (zpty), initialises compinit with FPATH_DIR first
# in $fpath, and for each LINE types it and a TAB, records every match the completion functions
# add (compadd is wrapped to print its matches between << and >> before adding them), then clears
# the line. Waits are bounded by the caller (the test's process timeout).
zmodload zsh/zpty || exit 3
local dir=$1 line out
local -a matches
zpty z zsh -f -i
zpty -w z "PS1=''; RPROMPT=''; bindkey -e; fpath=(${(q)dir} \$fpath); autoload -U compinit && compinit -u -D"
zpty -w z 'compadd() { local -a m; if (( ! ${@[(I)-[ADO]]} )); then builtin compadd -O m "$@"; (( $#m )) && print -rl -- "<<"${^m}">>"; fi; builtin compadd "$@" }'
# The markers are split in what is typed, so only the printed output matches them. TAB completes,
# then prints a marker: the output is read up to it, and nothing is typed ahead while the
# completion runs.
zpty -w z 't-complete() { zle complete-word; print; print -r -- @@DO""NE@@ }; zle -N t-complete; bindkey "^I" t-complete'
zpty -w z "zstyle ':completion:*' list-prompt ''; LISTMAX=100000; print -r -- @@REA''DY@@"
zpty -r z out '*@@READY@@*' || exit 4
for line in "${@[2,-1]}"; do
  zpty -w -n z "$line"$'\t'
  zpty -r z out '*@@DONE@@*' || exit 5
  matches=(${(f)"$(print -r -- "$out" | grep -a -o '<<[^>]*>>' | sed 's/^<<//; s/>>$//' | sort -u)"})
  print -r -- "$line"$'\t'"${(j: :)matches}"
  zpty -w -n z $'\x15'
done
zpty -d z
