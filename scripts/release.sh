#!/usr/bin/env bash
# Release artifacts for krew: per-platform archives, the manifest rendered from
# their hashes, and the committed completion files.
#
#   scripts/release.sh archive --version vX.Y.Z [--target TRIPLE] [--bin PATH] [--out DIR]
#       Builds `cargo build --release --locked [--target TRIPLE]` (or takes the
#       binary at PATH), packs it with LICENSE, README.md and completions/ into
#       DIR/tap-metrics-vX.Y.Z-<os>-<arch>.tar.gz (DIR defaults to target/dist) and
#       prints the archive's sha256.
#   scripts/release.sh manifest --version vX.Y.Z --base-url URL [--out DIR]
#       Renders plugin-manifest/tap-metrics.yaml.in into DIR/tap-metrics.yaml
#       with the sha256 of the five archives in DIR; fails if one is missing.
#   scripts/release.sh completions [--bin PATH]
#       Regenerates the shell completion files in completions/ (default: cargo run).
#
# A release pipeline runs `archive --target TRIPLE` on one runner per platform,
# gathers the five archives in one directory and runs `manifest` there once:
# the manifest's hashes always come from the archives being published.
# Portable to macOS's bash 3.2 and Git Bash on Windows.
set -euo pipefail

cd "$(dirname "$0")/.."

PLATFORMS="linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64"
TEMPLATE=plugin-manifest/tap-metrics.yaml.in

usage() {
    sed -n '5,14s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

die() {
    echo "release.sh: $*" >&2
    exit 1
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# The tag must match Cargo.toml, or `--version` and the manifest would disagree.
check_version() {
    local crate
    crate=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
    [ -n "$1" ] || die "--version v$crate is required"
    [ "$1" = "v$crate" ] || die "--version $1 is not v$crate, the version in Cargo.toml"
}

# The krew os-arch of a Rust target triple.
platform_of() {
    case "$1" in
    x86_64-*-linux-*) echo linux-amd64 ;;
    aarch64-*-linux-*) echo linux-arm64 ;;
    x86_64-apple-darwin) echo darwin-amd64 ;;
    aarch64-apple-darwin) echo darwin-arm64 ;;
    x86_64-pc-windows-*) echo windows-amd64 ;;
    *) die "target $1 is not one of the krew platforms ($PLATFORMS)" ;;
    esac
}

cmd_archive() {
    local version="" target="" bin="" out=target/dist
    while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || usage
        case "$1" in
        --version) version=$2 ;;
        --target) target=$2 ;;
        --bin) bin=$2 ;;
        --out) out=$2 ;;
        *) usage ;;
        esac
        shift 2
    done
    check_version "$version"
    local host platform exe
    host=$(rustc -vV | sed -n 's/^host: //p')
    platform=$(platform_of "${target:-$host}")
    exe=kubectl-tap_metrics
    case "$platform" in windows-*) exe=kubectl-tap_metrics.exe ;; esac
    if [ -z "$bin" ]; then
        if [ -n "$target" ]; then
            cargo build --release --locked --target "$target"
            bin=target/$target/release/$exe
        else
            cargo build --release --locked
            bin=target/release/$exe
        fi
    fi
    [ -f "$bin" ] || die "no binary at $bin"
    if [ "${target:-$host}" = "$host" ]; then
        # A stale binary would ship under the wrong version.
        local said
        said=$("$bin" --version)
        case "$said" in
        "kubectl tap-metrics ${version#v} "*) ;;
        *) die "$bin --version says \"$said\", not ${version#v}" ;;
        esac
    fi
    local f
    for f in LICENSE README.md completions/kubectl_complete-tap_metrics; do
        [ -f "$f" ] || die "$f is missing"
    done

    local archive
    # Global: the EXIT trap runs after this function has returned.
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    cp "$bin" "$stage/$exe"
    chmod 755 "$stage/$exe"
    cp LICENSE README.md "$stage/"
    cp -R completions "$stage/completions"
    mkdir -p "$out"
    archive=$out/tap-metrics-$version-$platform.tar.gz
    # COPYFILE_DISABLE: no macOS ._* metadata files in the archive.
    COPYFILE_DISABLE=1 tar -czf "$archive" -C "$stage" "$exe" LICENSE README.md completions
    echo "$(sha256 "$archive")  $archive"
}

cmd_manifest() {
    local version="" base_url="" out=target/dist
    while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || usage
        case "$1" in
        --version) version=$2 ;;
        --base-url) base_url=$2 ;;
        --out) out=$2 ;;
        *) usage ;;
        esac
        shift 2
    done
    check_version "$version"
    case "$base_url" in
    *[\|\&\\]*) die "--base-url must not hold | & or \\" ;;
    https://?*) base_url=${base_url%/} ;;
    *) die "--base-url must be an https:// URL, e.g. https://github.com/OWNER/REPO/releases/download/$version" ;;
    esac

    local script="s|__VERSION__|$version|g; s|__BASE_URL__|$base_url|g" missing="" p archive token
    for p in $PLATFORMS; do
        archive=$out/tap-metrics-$version-$p.tar.gz
        if [ -f "$archive" ]; then
            token=$(echo "__SHA256_${p}__" | tr 'a-z-' 'A-Z_')
            script="$script; s|$token|$(sha256 "$archive")|g"
        else
            missing="$missing $archive"
        fi
    done
    [ -z "$missing" ] || die "missing archives (scripts/release.sh archive --target TRIPLE makes each):$missing"

    local manifest=$out/tap-metrics.yaml
    {
        echo "# Rendered by scripts/release.sh from $TEMPLATE; do not edit."
        grep -v '^#' "$TEMPLATE" | sed "$script"
    } >"$manifest.tmp"
    if grep -n '__[A-Z0-9_]*__' "$manifest.tmp" >&2; then
        rm -f "$manifest.tmp"
        die "tokens left unfilled in $TEMPLATE (above)"
    fi
    mv "$manifest.tmp" "$manifest"
    echo "$manifest"
}

cmd_completions() {
    local bin=""
    while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || usage
        case "$1" in
        --bin) bin=$2 ;;
        *) usage ;;
        esac
        shift 2
    done
    local shell file
    for shell in bash zsh fish powershell; do
        case "$shell" in
        bash) file=kubectl-tap_metrics.bash ;;
        zsh) file=_kubectl-tap_metrics ;;
        fish) file=kubectl-tap_metrics.fish ;;
        powershell) file=_kubectl-tap_metrics.ps1 ;;
        esac
        if [ -n "$bin" ]; then
            "$bin" completion "$shell" >"completions/$file"
        else
            cargo run --quiet --locked -- completion "$shell" >"completions/$file"
        fi
        echo "completions/$file"
    done
}

[ $# -gt 0 ] || usage
command=$1
shift
case "$command" in
archive) cmd_archive "$@" ;;
manifest) cmd_manifest "$@" ;;
completions) cmd_completions "$@" ;;
*) usage ;;
esac
