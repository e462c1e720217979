# Prints the candidates zsh's completion system offers for a command line, one per line:
#   zsh -f test/support/zsh-complete.zsh FPATH_DIR LINE
# Runs an interactive zsh on a pseudo-terminal (zpty), initialises compinit with FPATH_DIR first in
# $fpath, types LINE and a TAB, and records every match the completion functions add (compadd is
# wrapped to print its matches between << and >> before adding them). Waits are bounded by the
# caller (the test's process timeout).
zmodload zsh/zpty || exit 3
local dir=$1 line=$2 out
zpty z zsh -f -i
zpty -w z "PS1=''; RPROMPT=''; fpath=(${(q)dir} \$fpath); autoload -U compinit && compinit -u -D"
zpty -w z 'compadd() { local -a m; if (( ! ${@[(I)-[ADO]]} )); then builtin compadd -O m "$@"; (( $#m )) && print -rl -- "<<"${^m}">>"; fi; builtin compadd "$@" }'
# The markers are split in what is typed, so only the printed output matches them.
zpty -w z "zstyle ':completion:*' list-prompt ''; LISTMAX=100000; print -r -- @@REA''DY@@"
zpty -r z out '*@@READY@@*' || exit 4
zpty -w -n z "$line"$'\t'
zpty -w z $'\x15'"print -r -- @@DO''NE@@"
zpty -r z out '*@@DONE@@*' || exit 5
print -r -- "$out" | grep -a -o '<<[^>]*>>' | sed 's/^<<//; s/>>$//' | sort -u
zpty -d z
