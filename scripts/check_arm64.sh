#!/usr/bin/env bash
# The aarch64 check: mer-edge on an emulated Raspberry-Pi-class board (Debian 12 arm64,
# Cortex-A72 = Pi 4, Cortex-A76 = Pi 5), compared with the x86 run on the same decoded frames.
#
#   make check-arm64                 (or: bash scripts/check_arm64.sh BUNDLE.tar.gz VIDEO)
#
# 1. builds (once) and caches an arm64 Debian 12 root filesystem from Debian's packages
#    (debootstrap; only python3 and python3-venv are added), in ~/.cache/mer-tf/arm64;
# 2. copies this checkout in and runs `pip install ".[edge]"` there from PyPI's aarch64
#    wheels, and fails if TensorFlow, Keras, mediapipe or dlib arrive;
# 3. decodes VIDEO once on the host into PNG frames, and runs `mer-edge verify`, `run` and
#    `bench` on BUNDLE under qemu's cortex-a72 and cortex-a76, and `run` on the video itself;
# 4. compares the events, landmarks and per-frame labels with the x86 run on the same frames,
#    by the rule in edge/trace_compare.py: events identical, landmarks within 1 px, and every
#    per-frame label difference a CNN near tie (the two labels' scores moved by at most 2 int8
#    output steps between the platforms), each printed with its margins.
#
# It is slow (emulation, about 10-40x slower than native) and CPU heavy: it stays out of
# `make test`. Host tools (Debian packages): debootstrap, proot, qemu-user-static; installed
# with apt-get when missing and running as root. Prints its own time at the end.
set -euo pipefail

BUNDLE=${1:?usage: check_arm64.sh BUNDLE.tar.gz VIDEO [FRAMES]}
VIDEO=${2:?usage: check_arm64.sh BUNDLE.tar.gz VIDEO [FRAMES]}
MAX_FRAMES=${3:-150}            # frames of VIDEO compared (emulated LiteRT is slow)
BENCH_FRAMES=${BENCH_FRAMES:-60}
CACHE=${MER_ARM64_CACHE:-$HOME/.cache/mer-tf/arm64}
ROOT=$CACHE/rootfs
SUITE=bookworm                 # Debian 12, what Raspberry Pi OS (Bookworm) is built on
HERE=$(cd "$(dirname "$0")/.." && pwd)
HOST_PY=${HOST_PY:-$HERE/.venv/bin/python}
T0=$(date +%s)
say() { printf '[%5ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { echo "check-arm64: error: $*" >&2; exit 2; }

[ -f "$BUNDLE" ] || die "bundle $BUNDLE not found; make one with: mer-edge bundle MODEL.tflite OUT"
[ -f "$VIDEO" ] || die "video $VIDEO not found; pass the held-out video that \`make demo\` writes"
[ -x "$HOST_PY" ] || die "$HOST_PY not found; run \`make models\` first (the x86 side of the comparison)"
BUNDLE=$(realpath "$BUNDLE"); VIDEO=$(realpath "$VIDEO")

# --- host tools ------------------------------------------------------------------------
need=()
for t in debootstrap:debootstrap proot:proot qemu-aarch64-static:qemu-user-static; do
  command -v "${t%%:*}" >/dev/null || need+=("${t##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need[*]}: sudo apt-get install ${need[*]}"
  say "installing host tools: ${need[*]}"
  apt-get install -y -qq "${need[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

# The Debian mirror: the one this host's apt already uses (override with MER_ARM64_MIRROR).
mirror() {
  if [ -n "${MER_ARM64_MIRROR:-}" ]; then echo "$MER_ARM64_MIRROR"; return; fi
  local m
  m=$( { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
         grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null || true; } \
       | awk '{print $2}' | awk '/debian/ && !/-security/ {print; exit}')
  [ -n "$m" ] || die "no Debian mirror in /etc/apt; set MER_ARM64_MIRROR to a Debian mirror URL"
  echo "$m"
}

# Emulator trap 1: qemu-user passes the host's x86 /proc/cpuinfo through to the guest, and
# LiteRT (XNNPACK's cpuinfo library) segfaults parsing it. A Pi has an ARM one; bind a
# faithful ARM cpuinfo (4 cores; CPU part 0xd08 = Cortex-A72, 0xd0b = Cortex-A76).
cpuinfo() {  # $1 = cpu part, $2 = file
  : >"$2"
  for i in 0 1 2 3; do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid%s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x%s\nCPU part\t: %s\nCPU revision\t: %s\n\n' \
      "$i" "$([ "$1" = 0xd0b ] && echo ' atomics fphp asimdhp asimdrdm lrcpc dcpop asimddp')" \
      "$([ "$1" = 0xd0b ] && echo 4 || echo 0)" "$1" "$([ "$1" = 0xd0b ] && echo 1 || echo 3)" >>"$2"
  done
  printf 'Hardware\t: BCM2835\nModel\t\t: emulated by qemu-user (mer-tf check-arm64)\n' >>"$2"
}

# Run a command inside the rootfs. Emulator trap 2: binfmt_misc is not available in this kind
# of container, so programs go through `proot -q qemu-aarch64-static` explicitly.
# Emulator trap 3: qemu's default `-cpu max` makes the int8 CNN under XNNPACK give one class
# for every input; a real core model (-cpu cortex-a72 / cortex-a76) is right. It goes in proot's -q
# string: QEMU_CPU in the environment does not reach qemu through proot (measured: one class again).
guest() {  # guest CPU CPUINFO_PART -- command...
  local cpu=$1 part=$2; shift 3
  local ci=$CACHE/cpuinfo-$cpu
  cpuinfo "$part" "$ci"
  local certs=()
  # This host reaches PyPI through a TLS-inspecting proxy whose CA is in the host's bundle;
  # a real board needs nothing of the sort. Bind the bundle only when pip is told to use it.
  if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then certs=(-b "$PIP_CERT:/etc/mer-host-ca.pem"); fi
  proot -0 -q "qemu-aarch64-static -cpu $cpu" -r "$ROOT" -b /dev -b /proc -b /sys \
    -b "$ci:/proc/cpuinfo" -b /etc/resolv.conf "${certs[@]}" -b "$WORK:/work" -w /work \
    /usr/bin/env -i HOME=/root PATH=/opt/mer/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    ${PIP_CERT:+PIP_CERT=/etc/mer-host-ca.pem} PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 \
    ${HTTPS_PROXY:+HTTPS_PROXY=$HTTPS_PROXY} ${HTTP_PROXY:+HTTP_PROXY=$HTTP_PROXY} \
    ${https_proxy:+https_proxy=$https_proxy} ${http_proxy:+http_proxy=$http_proxy} "$@"
}

WORK=$CACHE/work
mkdir -p "$CACHE" "$WORK"

# --- 1. the root filesystem (cached) ------------------------------------------------------
if [ ! -f "$ROOT/.mer-tf-rootfs-ok" ]; then
  rm -rf "$ROOT.partial"
  say "debootstrap: arm64 Debian 12 ($SUITE, minbase + python3, python3-venv) from $(mirror)"
  debootstrap --foreign --arch=arm64 --variant=minbase --include=python3,python3-venv \
    "$SUITE" "$ROOT.partial" "$(mirror)" >"$CACHE/debootstrap1.log" 2>&1 \
    || die "debootstrap (first stage) failed; see $CACHE/debootstrap1.log"
  say "debootstrap second stage (emulated)"
  # Emulator trap 4: under proot, debootstrap's second stage cannot find its own scripts
  # unless DEBOOTSTRAP_DIR says where they are (/debootstrap inside the rootfs).
  proot -0 -q "qemu-aarch64-static -cpu cortex-a72" -r "$ROOT.partial" -b /dev -b /proc -b /sys -w / \
    /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBOOTSTRAP_DIR=/debootstrap \
    /bin/sh /debootstrap/debootstrap --second-stage >"$CACHE/debootstrap2.log" 2>&1 \
    || die "debootstrap (second stage) failed; see $CACHE/debootstrap2.log"
  touch "$ROOT.partial/.mer-tf-rootfs-ok"
  rm -rf "$ROOT"; mv "$ROOT.partial" "$ROOT"
else
  say "arm64 rootfs: cached at $ROOT"
fi
[ "${MER_ARM64_ROOTFS_ONLY:-0}" = 1 ] && { say "rootfs only: done"; exit 0; }

# --- 2. install .[edge] from PyPI's aarch64 wheels ------------------------------------------
SRC=$ROOT/opt/src/mer-tf
rm -rf "$SRC"; mkdir -p "$SRC"
# the checkout's files as git sees them (tracked and new, not ignored): no .venv, no runs/
(cd "$HERE" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$SRC"
STAMP_WANT=$(cat "$HERE/setup.cfg" "$HERE/constraints.txt" | sha256sum | cut -c1-16)
if [ "$(cat "$ROOT/opt/mer/.stamp" 2>/dev/null)" != "$STAMP_WANT" ]; then
  say "pip install .[edge] on arm64 (emulated; dependencies from PyPI, aarch64 wheels only)"
  t=$(date +%s)
  rm -rf "$ROOT/opt/mer"
  guest cortex-a72 0xd08 -- /bin/sh -c "python3 -m venv /opt/mer && /opt/mer/bin/pip install --quiet \
      --only-binary=:all: --no-binary=mer-tf,face-recognition-models -c /opt/src/mer-tf/constraints.txt \
      '/opt/src/mer-tf[edge]'" >"$CACHE/pip.log" 2>&1 || die "pip install failed on arm64; see $CACHE/pip.log"
  echo "$STAMP_WANT" >"$ROOT/opt/mer/.stamp"
  say "installed in $(( $(date +%s) - t )) s"
else
  say "dependencies cached (same setup.cfg and constraints.txt); reinstalling mer-tf itself"
  guest cortex-a72 0xd08 -- /opt/mer/bin/pip install --quiet --no-deps --force-reinstall /opt/src/mer-tf \
    >"$CACHE/pip.log" 2>&1 || die "pip install failed on arm64; see $CACHE/pip.log"
fi
guest cortex-a72 0xd08 -- /opt/mer/bin/pip list --format=freeze >"$CACHE/pip-freeze.txt"
say "installed on arm64: $(grep -iE '^(numpy|opencv|ai-edge-litert|ai_edge_litert|mer-tf|mer_tf)' "$CACHE/pip-freeze.txt" | tr '\n' ' ')"
if grep -iE '^(tensorflow|tensorflow-cpu|keras|tf-keras|tf_keras|mediapipe|dlib|dlib-bin|dlib_bin)==' "$CACHE/pip-freeze.txt"; then
  die "the [edge] install brought the packages above (TensorFlow, Keras, mediapipe or dlib); it must not"
fi
guest cortex-a72 0xd08 -- /opt/mer/bin/pip check || die "pip check failed on arm64"
# No apt packages beyond python3 and python3-venv: the rootfs has nothing else, so importing
# cv2 here proves the headless OpenCV needs no GUI libraries.
guest cortex-a72 0xd08 -- /opt/mer/bin/python -c "import cv2, ai_edge_litert, numpy, platform; \
print('arm64 imports ok:', platform.machine(), 'cv2', cv2.__version__, 'numpy', numpy.__version__)" \
  || die "importing cv2 / ai_edge_litert failed on the bare arm64 system"

[ "${MER_ARM64_INSTALL_ONLY:-0}" = 1 ] && { say "install only: done"; exit 0; }

# --- 3. the same decoded frames on x86 and arm64 ------------------------------------------
cp "$BUNDLE" "$WORK/bundle.tar.gz"
VID=video.${VIDEO##*.}
cp "$VIDEO" "$WORK/$VID"
rm -rf "$WORK/frames"; mkdir -p "$WORK/frames"
FPS=$("$HOST_PY" - "$VIDEO" "$WORK/frames" "$MAX_FRAMES" <<'PY'
import sys, cv2
cap = cv2.VideoCapture(sys.argv[1]); n = 0
fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
while n < int(sys.argv[3]):
    ok, frame = cap.read()
    if not ok:
        break
    cv2.imwrite(f"{sys.argv[2]}/{n:06d}.png", frame)  # lossless: both platforms see the same pixels
    n += 1
print(fps)
PY
)
say "decoded $(ls "$WORK/frames" | wc -l) frames of $(basename "$VIDEO") on x86 (PNG, $FPS fps)"
"$HOST_PY" "$HERE/scripts/edge_trace.py" trace "$WORK/bundle.tar.gz" "$WORK/frames" "$WORK/trace-x86.jsonl" --fps "$FPS" \
  | sed 's/^/  x86: /'

STATUS=0
for spec in cortex-a72:0xd08:Pi-4 cortex-a76:0xd0b:Pi-5; do
  IFS=: read -r cpu part board <<<"$spec"
  say "== $cpu ($board class), emulated"
  guest "$cpu" "$part" -- /opt/mer/bin/mer-edge verify /work/bundle.tar.gz | sed "s/^/  $cpu: /" \
    || die "mer-edge verify failed on $cpu"
  t=$(date +%s)
  guest "$cpu" "$part" -- /opt/mer/bin/python /opt/src/mer-tf/scripts/edge_trace.py trace /work/bundle.tar.gz \
    /work/frames "/work/trace-$cpu.jsonl" --fps "$FPS" | sed "s/^/  $cpu: /" || die "trace failed on $cpu"
  say "  traced in $(( $(date +%s) - t )) s; compared with x86 on the same frames:"
  "$HOST_PY" "$HERE/scripts/edge_trace.py" compare "$WORK/trace-x86.jsonl" "$WORK/trace-$cpu.jsonl" \
    | sed "s/^/  $cpu vs x86: /" || STATUS=1  # (pipefail: the comparison's own exit status)
  guest "$cpu" "$part" -- /opt/mer/bin/mer-edge run /work/bundle.tar.gz --source "/work/$VID" \
    --max-frames "$MAX_FRAMES" --events "/work/events-$cpu.jsonl" --no-progress | sed "s/^/  $cpu run: /" \
    || die "mer-edge run on the video failed on $cpu"
  guest "$cpu" "$part" -- /opt/mer/bin/mer-edge bench /work/bundle.tar.gz --source /work/frames --fps "$FPS" \
    --frames "$BENCH_FRAMES" --json "/work/bench-$cpu.json" 2>/dev/null | grep -E '^\| (total|landmarks|detect|cnn)|^FPS|^CNN per face' \
    | sed "s/^/  $cpu bench (emulated, not a Pi's speed): /" || die "mer-edge bench failed on $cpu"
done
"$HOST_PY" -m edge.cli run "$WORK/bundle.tar.gz" --source "$VIDEO" --max-frames "$MAX_FRAMES" \
  --events "$WORK/events-x86.jsonl" --no-progress | sed 's/^/  x86 run: /'
for cpu in cortex-a72 cortex-a76; do
  # The mp4 itself, decoded on each platform: decoders may differ by a few grey levels, so this is
  # shown, not required to match (the frames above are the controlled comparison).
  "$HOST_PY" - "$WORK/events-x86.jsonl" "$WORK/events-$cpu.jsonl" "$cpu" <<'PY'
import json, sys
def ev(p):
    return [(e["onset"]["frame"], e["apex"]["frame"], e["offset"]["frame"], e["fused"]["label"])
            for e in map(json.loads, open(p)) if e.get("type") == "micro_expression"]
a, b = ev(sys.argv[1]), ev(sys.argv[2])
print(f"  video decoded on each platform, {sys.argv[3]} vs x86: events {len(b)} vs {len(a)}, "
      f"{'identical' if a == b else 'different'}")
PY
done
T=$(( $(date +%s) - T0 ))
if [ "$STATUS" = 0 ]; then
  say "check-arm64 PASSED in $((T / 60)) min $((T % 60)) s: on arm64 (cortex-a72, cortex-a76) the events equal x86's on the same frames, landmarks within 1 px, every label difference a CNN near tie"
else
  say "check-arm64 FAILED after $((T / 60)) min $((T % 60)) s: see the comparisons above"
fi
exit "$STATUS"
