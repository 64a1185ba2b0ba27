#!/bin/bash -e
# pi-gen substage: bake the kiosk into the image.  Runs on the build host; on_chroot runs inside
# the image's root (arm64, via qemu-user-static or natively on an arm64 host).
#
# The kiosk's source is what scripts/image/build copied into files/kiosk-src (or KIOSK_SRC, exported
# from the pi-gen config, when the stage is used without that script).

KIOSK_SRC=${KIOSK_SRC:-files/kiosk-src}
if [ ! -f "${KIOSK_SRC}/pyproject.toml" ]; then
	echo "stage-kiosk: no kiosk source in ${KIOSK_SRC} (run scripts/image/build, or export KIOSK_SRC)" >&2
	exit 1
fi

# 1. The source, copied into the image; scripts/install runs inside the chroot exactly as on a Pi.
#    The kiosk's files only: never township/ nor its unit (the township server is not part of a kiosk).
install -d "${ROOTFS_DIR}/opt/kiosk/src"
tar -C "${KIOSK_SRC}" --exclude=.git --exclude=.venv --exclude=__pycache__ --exclude=.pytest_cache \
	--exclude='systemd/township-*' \
	-cf - pyproject.toml README.md kiosk drivers ui scripts systemd config |
	tar -C "${ROOTFS_DIR}/opt/kiosk/src" -xf -

# 2. The first-boot data partition (outbox, journal, configuration), before anything uses /var/lib/kiosk.
install -m 755 files/kiosk-datapart "${ROOTFS_DIR}/usr/local/sbin/kiosk-datapart"
install -m 644 files/kiosk-datapart.service "${ROOTFS_DIR}/etc/systemd/system/kiosk-datapart.service"

# 3. The image turns the read-only root on after a successful provisioning (kiosk-overlayroot).
install -d "${ROOTFS_DIR}/etc/default"
printf 'KIOSK_OVERLAYROOT=yes\nROOT_SIZE_MIB=%s\n' "${ROOT_SIZE_MIB:-6144}" >"${ROOTFS_DIR}/etc/default/kiosk"

on_chroot <<'CHROOT'
set -e
/opt/kiosk/src/scripts/install
systemctl enable kiosk-datapart.service
# The stock first boot grows the root partition over the whole card; the kiosk's own
# (kiosk-datapart) grows it to a fixed size and makes the rest the data partition.
sed -i 's| init=/usr/lib/raspberrypi-sys-mods/firstboot||' /boot/firmware/cmdline.txt
# The kiosk owns tty1: no login prompt under the screen.
systemctl disable getty@tty1.service || true
CHROOT
