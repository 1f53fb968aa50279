#!/bin/bash
# Install the Debian packages mlfs needs to build, test and demo, only
# when missing (quick when everything is there).
set -euo pipefail

# libclang-rt-dev: the libFuzzer and sanitizer runtimes (make fuzz);
# rsync: tests/worktree.sh copies into a working tree with rsync -a.
pkgs=(build-essential pkg-config clang libclang-rt-dev libfuse3-dev fuse3
      libzstd-dev zstd libxxhash-dev libsqlite3-dev sqlite3 libcmocka-dev
      python3 python3-numpy attr rsync)
if [ "${MLFS_WITH_FRAMEWORKS:-1}" = 1 ]; then
	pkgs+=(python3-pandas python3-h5py python3-torch)
fi
# The S3 remote tests run a real Ceph RADOS Gateway (tests/s3/rgw.sh):
# one mon, one memstore OSD, one radosgw; curl --aws-sigv4 and s3cmd
# talk to it, libcurl is the remote's HTTP client.
if [ "${MLFS_WITH_S3:-1}" = 1 ]; then
	pkgs+=(radosgw ceph-mon ceph-osd ceph-common libcurl4-openssl-dev
	       curl s3cmd)
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
