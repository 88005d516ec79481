#!/bin/sh
# 901-style: house rules that a grep can check (STYLE.md).
. "${SQCRON_SRCDIR:-.}/t/lib.sh"

cd "$SQCRON_SRCDIR" || exit 1
srcs=$(ls src/*.c src/*.h)

banned=$(grep -nE '(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|localtime|gmtime|ctime|asctime|gets|system|popen)[[:space:]]*\(' $srcs)
is "$banned" "" "no banned functions in src/ (sprintf strcpy strcat strtok atoi localtime gmtime ctime asctime gets system popen)"

sql=$(grep -lE 'sqlite3_' $srcs | grep -v '^src/store\.[ch]$')
is "$sql" "" "only src/store.c touches sqlite3"

for f in src/*.c; do
	head -3 "$f" | grep -q '^/\*$' || echo "$f"
done >"$T/nohead"
is "$(cat "$T/nohead")" "" "every source file opens with a comment saying what it is for"

tabs=$(grep -nE '^ +[^ *]' src/*.c src/*.h | grep -vE '^[^:]+:[0-9]+:    [^ ]' | head -5)
is "$tabs" "" "indentation is tabs (KNF)"

long=$(awk 'length($0) > 100 { print FILENAME ":" FNR }' $srcs | head -5)
is "$long" "" "no line in src/ is longer than 100 columns"

ls t/[0-9][0-9][0-9]-*.c t/[0-9][0-9][0-9]-*.sh >"$T/tests"
missing=$(while read -r f; do
	b=${f#t/}
	case $f in
	*.c) n=${b%.c}.t ;;
	*) n=$b ;;
	esac
	grep -q "t/$n" Makefile.am || echo "$f"
done <"$T/tests")
is "$missing" "" "every test file is listed in Makefile.am"

done_testing
