# Sourced by the lab scripts that run containers (smoke.sh cni, measure-cni.sh): Debian's podman,
# with runc, as a container runtime inside the lab's node namespace. Everything podman keeps (root,
# runroot, CNI configurations, plugin directory, events) is under PM_DIR; containers run a rootfs
# made from busybox-static. What works on these machines (issue 12): the CNI network backend, runc,
# cgroupfs, ulimits set explicitly, and podman started with nsenter --net (ip netns exec remounts
# /sys and runc then finds no cgroups). Expects ROOT and NODE_NS. One thing lands outside PM_DIR:
# libcni's result cache, /var/lib/cni/results (podman 4.3 has no setting for it); podman rm removes
# each container's entry, podman_cleanup the directories if they are empty.

# podman_setup DIR: makes DIR (PM_DIR) with shunt-cni in its plugin directory and the rootfs.
podman_setup() {
    PM_DIR=$1
    mkdir -p "$PM_DIR"/bin "$PM_DIR"/net.d "$PM_DIR"/root "$PM_DIR"/runroot
    mkdir -p "$PM_DIR"/rootfs/bin "$PM_DIR"/rootfs/etc "$PM_DIR"/rootfs/proc "$PM_DIR"/rootfs/sys "$PM_DIR"/rootfs/dev \
        "$PM_DIR"/rootfs/tmp "$PM_DIR"/rootfs/www
    [ -x "$ROOT/java/target/shunt-cni" ] || (cd "$ROOT" && mvn -B -q -DskipTests package)
    install -m 0755 "$ROOT/java/target/shunt-cni" "$PM_DIR/bin/shunt-cni"
    cp /bin/busybox "$PM_DIR/rootfs/bin/busybox"
    local applet
    # No wget: busybox-static's (1.35.0-4+deb12u1) segfaults, even on the host; clients use nc.
    for applet in sh httpd nc tail printf sleep hostname ip cat seq ping; do ln -sf busybox "$PM_DIR/rootfs/bin/$applet"; done
    echo "root:x:0:0:root:/:/bin/sh" >"$PM_DIR/rootfs/etc/passwd"
    cat >"$PM_DIR/containers.conf" <<CONF
[network]
network_backend = "cni"
cni_plugin_dirs = ["$PM_DIR/bin", "/usr/lib/cni"]
network_config_dir = "$PM_DIR/net.d"

[engine]
events_logger = "file"
events_logfile_path = "$PM_DIR/events.log"
CONF
}

# pm ARGS...: podman with the lab's settings, in the node namespace.
pm() {
    CONTAINERS_CONF="$PM_DIR/containers.conf" nsenter --net=/run/netns/"$NODE_NS" podman --root "$PM_DIR/root" \
        --runroot "$PM_DIR/runroot" --network-backend cni --runtime runc --cgroup-manager cgroupfs \
        --cni-config-dir "$PM_DIR/net.d" "$@"
}

# pm_run NAME NETWORK COMMAND...: a detached container on NETWORK (PM_OPTS: more run options).
pm_run() {
    local name=$1 network=$2
    shift 2
    pm run -d --name "$name" --hostname "$name" --network "$network" --cap-add NET_RAW \
        --ulimit nofile=20000:20000 --ulimit nproc=1000:1000 ${PM_OPTS:-} --rootfs "$PM_DIR/rootfs" "$@" >/dev/null
}

# podman_cleanup: every container removed (CNI DEL included) while the agent still runs.
podman_cleanup() {
    [ -n "${PM_DIR:-}" ] && [ -d "$PM_DIR" ] || return 0
    pm rm -a -f -t 0 >/dev/null 2>&1
    # Mounts podman may leave under its directories if it was killed.
    grep -o " $PM_DIR[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    # libcni's result cache, if podman made it and nothing else uses it (rmdir takes only empty ones).
    rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null
    return 0
}
