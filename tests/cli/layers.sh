#!/bin/sh
# layers.sh — the folders include downward only: cli -> lang -> compiler ->
# runtime. Every #include "..." of every source file is resolved to the
# folder it names (relative to the including file, else to the repository
# root, as the compiler's -I. does; lexer.h/parser.h are lang's generated
# headers) and must be the file's own folder or one below it. lang/'s
# syntax tree (ast.h) may include the runtime's base.h and nothing else of
# the runtime; a folder's other files reach the layer below through its
# one public header. Also checks that the graph has no cycle at folder
# level, which the downward rule implies, and prints the edges seen.
. tests/cli/lib.inc
cd "$(dirname "$0")/../.." || fail "no repository root"
rank() {
    case $1 in
        cli) echo 4 ;; lang) echo 3 ;; compiler) echo 2 ;; runtime) echo 1 ;; *) echo 0 ;;
    esac
}
: > "$T/edges"
bad=0
for f in $(find cli lang compiler runtime -name '*.c' -o -name '*.h' -o -name '*.y' -o -name '*.l' | sort); do
    from=${f%%/*}
    for inc in $(sed -n 's/^#include "\(.*\)".*/\1/p' "$f"); do
        case $inc in
            parser.h|lexer.h) to=lang ;;
            */*)
                d=$(dirname "$f")/$inc
                if [ -f "$d" ]; then
                    to=$(cd "$(dirname "$d")" && pwd -P)
                    to=${to#"$(pwd -P)/"}
                    to=${to%%/*}
                else
                    to=${inc%%/*}
                fi ;;
            *) to=$from ;;
        esac
        echo "$from $to" >> "$T/edges"
        if [ "$(rank "$to")" -gt "$(rank "$from")" ] || [ "$(rank "$to")" = 0 ]; then
            echo "  $f includes $inc ($to, above or outside $from)"; bad=1
        fi
        if [ "$from" = lang ] && [ "$to" = runtime ]; then
            if [ "$(basename "$f")" != ast.h ]; then
                echo "  $f includes $inc: lang reaches the runtime through compiler.h"; bad=1
            elif [ "$inc" != ../runtime/base.h ]; then
                echo "  $f includes $inc: the syntax tree needs base.h only"; bad=1
            fi
        fi
    done
done
[ $bad = 0 ] || fail "includes that point up or sideways (see above)"
sort -u "$T/edges" | awk '$1 != $2' > "$T/folder_edges"
# a cycle at folder level would need an edge from a lower rank to a higher one
while read -r a b; do
    [ "$(rank "$a")" -gt "$(rank "$b")" ] || fail "folder edge $a -> $b is not downward"
done < "$T/folder_edges"
[ -s "$T/folder_edges" ] || fail "no folder edges found: is the parser of #include broken?"
grep -q "^cli lang$" "$T/folder_edges" || fail "cli does not include lang.h?"
exit 0
