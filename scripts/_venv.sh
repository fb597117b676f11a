# Sourced by scripts/run, scripts/test and .ci/run (from the repository root).
# The project's virtualenv: $VENV (default .venv), created with Python 3.11 on first use; its
# requirements are (re)installed only when a requirements file changed since the last install.

VENV="${VENV:-$PWD/.venv}"
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
export VENV

find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {
    local requirements="$1" python stamp digest
    if [ ! -x "$VENV/bin/python" ]; then
        if ! python=$(find_python); then
            echo "需要 Python 3.11 或更高版本（未找到 python3.11），可用 PYTHON=/path/to/python3.11 指定。" >&2
            return 1
        fi
        echo "==> 创建虚拟环境 $VENV（$("$python" --version 2>&1)）"
        "$python" -m venv "$VENV"
    fi
    stamp="$VENV/.kj-installed-$(basename "$requirements")"
    digest=$("$VENV/bin/python" - requirements*.txt <<'PY'
import hashlib, sys
h = hashlib.sha256()
for name in sorted(sys.argv[1:]):
    h.update(name.encode() + b"\0" + open(name, "rb").read())
print(h.hexdigest())
PY
)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        echo "==> 安装依赖（$requirements）"
        "$VENV/bin/python" -m pip install --quiet --quiet --disable-pip-version-check -r "$requirements"
        echo "$digest" >"$stamp"
    fi
}
