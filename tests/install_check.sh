#!/bin/sh
# Installs the build into a temporary prefix and builds a small program against it
# with pkg-config, the way a user of the library would. Usage: install_check.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
prefix=$(mktemp -d /tmp/tokvec-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/tokvec include/tokvec/tokvec.h include/tokvec/dtype.h include/tokvec/tokenizer.h; do
  test -e "$prefix/$f" || { echo "missing after install: $f"; exit 1; }
done
pc=$(find "$prefix" -name tokvec.pc)
test -n "$pc" || { echo "tokvec.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir tokvec)
cat > "$prefix/use.c" <<'C'
#include <stdio.h>
#include <tokvec/tokvec.h>
#include <tokvec/tokenizer.h>
int main(int argc, char **argv)
{
    tv_error err;
    tv_model *m = tv_model_open(argv[1], NULL, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    tv_tokenizer *t = tv_tokenizer_new(m, &err);
    if (!t) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("%zu\n", tv_vocab_size(m));
    tv_tokenizer_free(t);
    tv_model_free(m);
    return 0;
}
C
cc "$prefix/use.c" $(pkg-config --cflags --libs tokvec) -Wl,-rpath,"$libdir" -o "$prefix/use"
out=$("$prefix/use" "$src/fixtures/example")
test "$out" = 507 || { echo "installed library read $out tokens from fixtures/example, expected 507"; exit 1; }
"$prefix/bin/tokvec" --version >/dev/null
echo "installed and linked against $prefix: ok"
