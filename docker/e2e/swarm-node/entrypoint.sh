#!/bin/sh
# Makes /sys and the cgroup hierarchy writable (a non-privileged container gets them read-only),
# then runs the engine as PID 1's only child job. Nested engines cannot pull: images are loaded with
# `docker load`, and the node prefers what it has.
set -eu
# Each is a bind of the host's mount: its read-only flag is the bind's own, changed with
# remount,bind (a plain remount asks for the shared superblock and fails "busy").
rw() { mount -o remount,rw "$1" 2>/dev/null || mount -o remount,bind,rw "$1" 2>/dev/null || true; }
rw /sys
rw /sys/fs/cgroup
for d in /sys/fs/cgroup/*/; do rw "$d"; done
export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
exec dockerd --storage-driver=overlay2 --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1
