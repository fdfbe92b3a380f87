#!/bin/sh
# meson install: the binary, the man page and the shell completions land
# where each tool looks for them; the man page renders without warnings and
# covers every command and the exit codes; the completions know every
# command and option the binary has, and bash (and fish, when installed)
# completes commands and service names. TAP output.
# Usage: test-install.sh TEND_BINARY   (TEND_BUILD_ROOT: the build folder)
. "$(dirname "$0")/lib.sh" "$@"

B=${TEND_BUILD_ROOT:-$(dirname "$(dirname "$TEND")")}
[ -f "$B/build.ninja" ] || skip_all "no build folder (set TEND_BUILD_ROOT)"
command -v meson >/dev/null || skip_all "meson not on PATH"

D=$T/dest
if meson install -C "$B" --destdir "$D" --no-rebuild --quiet >"$T/install.log" 2>&1; then
    ok "meson install --destdir"
else
    notok "meson install --destdir" "$(tail -n 10 "$T/install.log")"
    finish
fi
BIN=$(find "$D" -path '*/bin/tend' -type f | head -n 1)
PREFIX=$(dirname "$(dirname "$BIN")")
for f in bin/tend share/man/man1/tend.1 share/bash-completion/completions/tend \
    share/zsh/site-functions/_tend share/fish/vendor_completions.d/tend.fish; do
    check "installs $f" test -s "$PREFIX/$f"
done
check "installs tend-shim under libexec" test -n "$(find "$PREFIX" -path '*libexec*' -name tend-shim -type f)"
"$PREFIX/bin/tend" --version | grep -q '^tend '
check "the installed tend runs" test $? -eq 0

# ---- the man page ----
MAN=$PREFIX/share/man/man1/tend.1
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$MAN" >"$T/groff.err" 2>&1
    check "the man page renders without groff warnings" test ! -s "$T/groff.err"
    groff -man -Tutf8 "$MAN" 2>/dev/null | sed 's/.\x08//g' >"$T/man.txt"
elif command -v mandoc >/dev/null; then
    mandoc -Tlint -Wwarning "$MAN" >"$T/groff.err" 2>&1
    check "the man page passes mandoc -Tlint" test ! -s "$T/groff.err"
    mandoc -Tutf8 "$MAN" | sed 's/.\x08//g' >"$T/man.txt"
else
    # No formatter: the structure at least.
    cp "$MAN" "$T/man.txt"
    grep -q '^\.TH TEND 1' "$MAN"
    check "the man page has a .TH line (no groff or mandoc here)" test $? -eq 0
fi
for s in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" ENVIRONMENT FILES; do
    grep -q "^$s" "$T/man.txt"
    check "the man page has $s" test $? -eq 0
done
# The commands tend lists in its help, each with a section.
COMMANDS=$("$TEND" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
missing=
for c in $COMMANDS; do
    grep -q "^\.SS \"tend $c\( \|\"\)" "$MAN" || missing="$missing $c"
done
check "the man page has a section for every command ($(echo $COMMANDS | wc -w))${missing:+, missing:$missing}" test -z "$missing"
missing=
for code in 0 1 2 124 130; do
    grep -q "^\.B $code\$" "$MAN" || missing="$missing $code"
done
check "the man page lists the exit codes 0 1 2 124 130${missing:+, missing:$missing}" test -z "$missing"

# ---- completions: every command and long option ----
BASHC=$PREFIX/share/bash-completion/completions/tend
ZSHC=$PREFIX/share/zsh/site-functions/_tend
FISHC=$PREFIX/share/fish/vendor_completions.d/tend.fish
for c in $COMMANDS; do
    opts=$("$TEND" help "$c" | grep -o -- '--[a-zA-Z][-a-zA-Z]*' | sort -u | grep -vx -- '--help')
    for shell in bash zsh fish; do
        case $shell in bash) f=$BASHC ;; zsh) f=$ZSHC ;; fish) f=$FISHC ;; esac
        miss=
        grep -qw -- "$c" "$f" || miss=" (the command)"
        for o in $opts; do
            case $shell in
            fish) grep -q -- "-l ${o#--}\( \|\$\)" "$f" || miss="$miss $o" ;;
            *) grep -q -- "$o\([^-a-zA-Z]\|\$\)" "$f" || miss="$miss $o" ;;
            esac
        done
        check "$shell completes tend $c and its options${miss:+; missing:$miss}" test -z "$miss"
    done
done

# ---- bash completes ----
mkdir -p "$T/p"
cat >"$T/p/services.yaml" <<'EOF'
services:
  alpha: {command: "true"}
  beta: {command: "true"}
  gamma: {command: "true", profiles: [extra]}
EOF
bash_complete() {
    (cd "$T/p" && PATH=$(dirname "$TEND"):$PATH bash -c '. "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _tend; echo "${COMPREPLY[*]}"' \
        sh "$BASHC" "$@")
}
got=$(bash_complete tend u)
check "bash: tend u<TAB> gives unpause up (got \"$got\")" test "$got" = "unpause up"
got=$(bash_complete tend stop "")
check "bash: service names, profiles included (got \"$got\")" test "$got" = "alpha beta gamma"
got=$(bash_complete tend -f "$T/p/services.yaml" up --except b)
check "bash: --except completes a service of the -f file (got \"$got\")" test "$got" = beta
got=$(bash_complete tend env --format "")
check "bash: env --format values (got \"$got\")" test "$got" = "dotenv shell json"

if command -v zsh >/dev/null; then
    zsh -n "$ZSHC"
    check "zsh: _tend parses" test $? -eq 0
else
    skip "zsh: _tend parses" "zsh not installed"
fi
if command -v fish >/dev/null; then
    got=$(cd "$T/p" && PATH=$(dirname "$TEND"):$PATH fish -c "source '$FISHC'; complete -C'tend u'" | cut -f1 | tr '\n' ' ')
    check "fish: tend u<TAB> gives unpause up (got \"$got\")" test "$got" = "unpause up "
    got=$(cd "$T/p" && PATH=$(dirname "$TEND"):$PATH fish -c "source '$FISHC'; complete -C'tend env '" | cut -f1 | tr '\n' ' ')
    check "fish: env SERVICE completes names (got \"$got\")" test "$got" = "alpha beta gamma "
else
    skip "fish: completes" "fish not installed"
fi

finish
