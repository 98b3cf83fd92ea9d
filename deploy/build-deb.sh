#!/bin/sh
# deploy/build-deb.sh [BUILD_DIR] — builds build/leadd_<version>_<arch>.deb with dpkg-deb from a release
# build with the static Swift stdlib (make release). Run through "make package".
#
# The version is what the built leadd reports (leadd --version), the architecture dpkg's, the library
# dependencies come from dpkg-shlibdeps on the binaries, and /etc/leadd/leadd.conf is written by the built
# leadctl (leadctl config example): nothing here repeats what the code already says.
set -eu

cd "$(dirname "$0")/.."
BIN=${1:-.build/release}
OUT=.build/deb
for b in leadd leadctl; do
    [ -x "$BIN/$b" ] || { echo "build-deb: $BIN/$b missing: run make release first" >&2; exit 1; }
done

ARCH=$(dpkg --print-architecture)
# The binaries must be this machine's architecture: dpkg-shlibdeps reads this machine's libraries, and the
# version comes from running leadd. A cross-built arm64 binary is packaged on an arm64 machine (README).
machine=$(readelf -h "$BIN/leadd" | sed -n 's/^ *Machine: *//p')
case $machine in
    *X86-64*) bin_arch=amd64 ;;
    AArch64) bin_arch=arm64 ;;
    ARM) bin_arch=armhf ;;
    *) bin_arch="unknown ($machine)" ;;
esac
[ "$bin_arch" = "$ARCH" ] || { echo "build-deb: $BIN/leadd is $bin_arch, this machine is $ARCH: package it on $bin_arch" >&2; exit 1; }
VERSION=$("$BIN/leadd" --version)
PKG=leadd_${VERSION}_${ARCH}
STAGE=$OUT/$PKG
rm -rf "$STAGE" "$OUT/shlibs" "$OUT"/leadd_*.deb
umask 022

d() { install -d -m 0755 "$STAGE/$1"; }
f() { install -D -m "$1" "$2" "$STAGE/$3"; }

f 0755 "$BIN/leadd" usr/bin/leadd
f 0755 "$BIN/leadctl" usr/bin/leadctl
# bookworm's lintian still wants units and udev rules under /lib (usrmerge makes both paths the same).
f 0644 systemd/leadd.service lib/systemd/system/leadd.service
f 0644 udev/70-leadd-scanners.rules lib/udev/rules.d/70-leadd-scanners.rules
f 0644 systemd/leadd.sysusers usr/lib/sysusers.d/leadd.conf
f 0644 systemd/leadd.modules-load usr/lib/modules-load.d/leadd.conf
f 0755 systemd/kiosk/leadd-console-kiosk usr/sbin/leadd-console-kiosk
f 0755 systemd/leadd-credential usr/sbin/leadd-credential
f 0755 systemd/kiosk/leadd-vt-lock usr/libexec/leadd/leadd-vt-lock
for k in console.conf logind.conf system.conf sysctl.conf; do
    f 0644 "systemd/kiosk/$k" "usr/share/leadd/kiosk/$k"
done
d etc/leadd
"$BIN/leadctl" config example > "$STAGE/etc/leadd/leadd.conf"
chmod 0644 "$STAGE/etc/leadd/leadd.conf"
d etc/leadd/leadd.conf.d

# Manual pages: the programs' own --help, so they cannot drift from the code.
man() { # NAME SECTION SUMMARY < help text
    install -d -m 0755 "$STAGE/usr/share/man/man$2"
    {
        printf '.TH %s %s "" "leadd %s" "leadd"\n.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n.nf\n' \
            "$(echo "$1" | tr '[:lower:]' '[:upper:]')" "$2" "$VERSION" "$1" "$3"
        sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
        printf '.fi\n.SH SEE ALSO\n/usr/share/doc/leadd/README.md\n'
    } | gzip -9n > "$STAGE/usr/share/man/man$2/$1.$2.gz"
    chmod 0644 "$STAGE/usr/share/man/man$2/$1.$2.gz"
}
"$BIN/leadd" --help | man leadd 8 "the lead-capture kiosk daemon"
"$BIN/leadctl" --help | man leadctl 1 "inspect, qualify, export and sync the leads of a leadd kiosk"
sed -n '2,/^set -eu/p' systemd/kiosk/leadd-console-kiosk | sed -e '$d' -e 's/^# \{0,1\}//' \
    | man leadd-console-kiosk 8 "put the leadd form on tty1 and lock the console down"
sed -n '2,/^set -eu/p' systemd/leadd-credential | sed -e '$d' -e 's/^# \{0,1\}//' \
    | man leadd-credential 8 "store a secret as a systemd credential of leadd.service"

DOC=usr/share/doc/leadd
f 0644 README.md "$DOC/README.md"
f 0644 systemd/README "$DOC/systemd-README"
f 0644 udev/README "$DOC/udev-README"
f 0644 deploy/debian/copyright "$DOC/copyright"
date_r=$(git log -1 --format=%aD 2>/dev/null || date -R)
printf 'leadd (%s) unstable; urgency=medium\n\n  * Release %s, built by deploy/build-deb.sh.\n\n -- leadd maintainers <leadd@example.org>  %s\n' \
    "$VERSION" "$VERSION" "$date_r" | gzip -9n > "$STAGE/$DOC/changelog.gz"
chmod 0644 "$STAGE/$DOC/changelog.gz"

# Library dependencies, as dh_shlibdeps would compute them. libcurl and libcrypto are not among them: leadd
# loads them with dlopen when a sink needs them (Sources/CCurl, Sources/CCrypto), so control.in names them.
mkdir -p "$OUT/shlibs/debian"
printf 'Source: leadd\n\nPackage: leadd\nArchitecture: any\n' > "$OUT/shlibs/debian/control"
DEPENDS=$(cd "$OUT/shlibs" && dpkg-shlibdeps -O "$OLDPWD/$STAGE/usr/bin/leadd" "$OLDPWD/$STAGE/usr/bin/leadctl" 2>/dev/null \
    | sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d -m 0755 "$STAGE/DEBIAN"
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" -e "s/@DEPENDS@/$DEPENDS/" \
    deploy/debian/control.in > "$STAGE/DEBIAN/control"
echo /etc/leadd/leadd.conf > "$STAGE/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "deploy/debian/$s" "$STAGE/DEBIAN/$s"; done
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' \
    | sort -z | xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUT/$PKG.deb" >/dev/null
echo "$OUT/$PKG.deb"
