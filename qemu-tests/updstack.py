"""The configuration the OS update tests boot with: a small stack whose
health the trial boot's gate checks, a named volume whose data must
outlive every update, and a healthcheck that fails on purpose under a
version whose string says "unhealthy" (the container reads the host's
os-release through a bind mount)."""
import os

import imagegen
from updatehost import OUT, Bundles, UpdateHost

BUSYBOX = os.path.join(OUT, "pkg", "busybox", "busybox")

COMPOSE = """
services:
  db:
    image: busybox
    command: ["sh", "-c", "date +%s >> /var/lib/db/boots; touch /tmp/ready; exec sleep 100000"]
    volumes:
      - dbdata:/var/lib/db
      - /etc/os-release:/host-os-release:ro
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready && ! grep -q unhealthy /host-os-release"]
      interval: 1s
      retries: 2
    restart: always
  web:
    image: busybox
    command: ["sh", "-c", "exec sleep 100000"]
    depends_on:
      db:
        condition: service_healthy
    restart: always
volumes:
  dbdata: {}
"""


def config_files(workdir):
    apps = imagegen.applets(BUSYBOX)
    base = imagegen.busybox_layer(BUSYBOX, apps)
    path = os.path.join(workdir, "busybox.tar")
    imagegen.oci_tar(path, [("busybox:latest", [base], imagegen.config([base]))])
    return {"compose.yaml": COMPOSE, "images/busybox.tar": open(path, "rb").read()}


def host_yaml(health_timeout=120, watchdog=30, trial_boots=3):
    return (f"watchdog: {watchdog}\nupdates:\n  health_timeout: {health_timeout}\n  trial_boots: {trial_boots}\n"
            "containers:\n  bind_mounts: [/etc/os-release]\n")


def boot_host(image, workdir, name, firmware="bios", **yaml):
    """An UpdateHost with this configuration (host_yaml's arguments),
    booted, with a Bundles of its own."""
    h = UpdateHost(workdir, image, firmware=firmware, memory=512, config_files=config_files(workdir),
                   host_yaml_extra=host_yaml(**yaml))
    h.boot(name)
    h.bundles = Bundles(workdir)
    return h
