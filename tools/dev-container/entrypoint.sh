#!/bin/sh
# Entrypoint of the Pharos dev container.
#
# The container starts as root.  When the caller asks for a user, files
# written to the bind-mounted workspace must belong to the caller, so we create
# a matching user/group on the fly and drop to it; otherwise run as root.
#
# Environment (all optional):
#   PHAROS_UID         uid to run as.  Unset, empty or 0: stay root.
#   PHAROS_GID         primary gid (default: PHAROS_UID).  Reuses an existing
#                      group with that gid, else creates one.
#   PHAROS_USER        user name to create (default "pharos"); if the name is
#                      taken by another uid, "pharos", then "pharos-<uid>".  An
#                      existing user with PHAROS_UID is reused as is.
#   PHAROS_HOME        home directory for a created user (default /home/pharos);
#                      created if missing and chown'd (not recursively).
#   PHAROS_EXTRA_GIDS  comma-separated numeric supplementary gids (e.g. the
#                      host's docker or kvm group); missing groups are created.
# HOME, USER and LOGNAME are set for the target user.  /dev/fuse, if present
# (docker run --device /dev/fuse), is made world read/write so apptainer and
# squashfuse work for the non-root user.
#
# Must stay silent on success: callers parse the output of the command.
# Errors go to stderr.  Runs under `docker run --init`, so it does not reap.
set -eu

die() {
    printf 'pharos-entrypoint: %s\n' "$*" >&2
    exit 1
}

# Run a user/group management command, discarding its chatter on success and
# reporting it (with context) on failure.
quiet() {
    _what=$1; shift
    if ! _out=$("$@" 2>&1); then
        die "$_what failed: $* -> ${_out:-no output}"
    fi
}

is_number() {
    case $1 in '' | *[!0-9]*) return 1 ;; esac
}

[ "$#" -gt 0 ] || set -- bash -l

uid=${PHAROS_UID:-0}
# Already unprivileged (docker run --user): nothing we could change anyway.
if [ "$uid" = 0 ] || [ "$(id -u)" != 0 ]; then
    exec "$@"
fi
is_number "$uid" || die "PHAROS_UID must be a number, got '$uid'"
gid=${PHAROS_GID:-$uid}
is_number "$gid" || die "PHAROS_GID must be a number, got '$gid'"

# --- names -----------------------------------------------------------------------
# Existing passwd/group entries for the ids win; otherwise pick a free name,
# and give a new primary group the user's name when possible.
user=$(getent passwd "$uid" | cut -d: -f1) || true
new_user=
if [ -z "$user" ]; then
    for candidate in "${PHAROS_USER:-pharos}" pharos "pharos-$uid"; do
        if ! getent passwd "$candidate" >/dev/null; then
            new_user=$candidate
            break
        fi
    done
    [ -n "$new_user" ] || die "cannot create user for uid $uid: names '${PHAROS_USER:-pharos}', 'pharos', 'pharos-$uid' are all taken"
fi

# --- primary group -----------------------------------------------------------
group=$(getent group "$gid" | cut -d: -f1) || true
if [ -z "$group" ]; then
    group=${new_user:-$user}
    getent group "$group" >/dev/null && group=pharos-$gid
    quiet "creating group $group (gid $gid)" groupadd -g "$gid" "$group"
fi

# --- user --------------------------------------------------------------------
if [ -n "$new_user" ]; then
    user=$new_user
    home=${PHAROS_HOME:-/home/pharos}
    # --no-log-init: large uids would otherwise create huge sparse lastlog/
    # faillog files.  -M: the home is handled below, so that an existing
    # (e.g. bind-mounted cache) directory does not make useradd warn.
    quiet "cannot create user $user (uid $uid, gid $gid)" \
        useradd --no-log-init -M -d "$home" -s /bin/bash -u "$uid" -g "$gid" "$user"
    if [ ! -d "$home" ]; then
        mkdir -p "$home"
        cp -a /etc/skel/. "$home/" 2>/dev/null || true
        chown -R "$uid:$gid" "$home"
    elif [ "$(stat -c %u "$home")" != "$uid" ]; then
        chown "$uid:$gid" "$home" 2>/dev/null \
            || printf 'pharos-entrypoint: warning: cannot chown %s to %s:%s\n' "$home" "$uid" "$gid" >&2
    fi
else
    home=$(getent passwd "$uid" | cut -d: -f6)
fi

# --- supplementary groups ----------------------------------------------------
if [ -n "${PHAROS_EXTRA_GIDS:-}" ]; then
    extra_groups=
    old_ifs=$IFS
    IFS=,
    for xgid in $PHAROS_EXTRA_GIDS; do
        IFS=$old_ifs
        xgid=$(printf '%s' "$xgid" | tr -d ' ')
        [ -n "$xgid" ] || continue
        is_number "$xgid" || die "PHAROS_EXTRA_GIDS must be comma-separated numbers, got '$PHAROS_EXTRA_GIDS'"
        [ "$xgid" != "$gid" ] || continue
        xgroup=$(getent group "$xgid" | cut -d: -f1) || true
        if [ -z "$xgroup" ]; then
            xgroup=pharos-g$xgid
            quiet "creating group $xgroup (gid $xgid)" groupadd -g "$xgid" "$xgroup"
        fi
        extra_groups=${extra_groups:+$extra_groups,}$xgroup
    done
    IFS=$old_ifs
    if [ -n "$extra_groups" ]; then
        quiet "adding $user to groups $extra_groups" usermod -a -G "$extra_groups" "$user"
    fi
fi

# --- FUSE ----------------------------------------------------------------------
# The node is the container's own copy (docker --device mknods it in the
# container's /dev), so this does not touch the host's permissions.
if [ -c /dev/fuse ]; then
    chmod 0666 /dev/fuse 2>/dev/null || true
fi

# setpriv does not touch the environment; give the user a coherent one.
HOME=$home USER=$user LOGNAME=$user
export HOME USER LOGNAME

# --init-groups: supplementary groups from /etc/group (incl. the extras above).
exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"
