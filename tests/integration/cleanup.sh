# What a test leaves behind, removed (sourced by lib.sh and janitor.sh, not
# run). Needs T, the test's temp folder: every process a test starts
# carries it in its command line, or belongs to a process group noted in
# $T/pgids; every engine project a test makes is noted in $T/projects
# (lib.sh's docker_project). Only those are touched: other runs on the
# same machine are left alone.

# Kills what a test started and left behind: every noted process group,
# then every process carrying the marker with its process group (host
# services run in a group of their own under tend's shim, so the group
# takes their children too). dash's kill takes no "--": a group is "-PGID".
kill_leftovers() {
    _mypg=$(ps -o pgid= -p $$ | tr -d ' ')
    if [ -f "$T/pgids" ]; then
        for _pg in $(sort -u "$T/pgids"); do
            [ "$_pg" != "$_mypg" ] && kill -KILL "-$_pg" 2>/dev/null
        done
    fi
    for _i in 1 2 3; do
        _left=$(pgrep -f "$T")
        [ -z "$_left" ] && break
        for _p in $_left; do
            [ "$_p" = $$ ] && continue
            _pg=$(ps -o pgid= -p "$_p" 2>/dev/null | tr -d ' ')
            if [ -n "$_pg" ] && [ "$_pg" != "$_mypg" ]; then kill -KILL "-$_pg" 2>/dev/null; fi
            kill -KILL "$_p" 2>/dev/null
        done
        sleep 0.1
    done
}

# Unmounts what the test mounted (noted in $T/mounts), so that T can go.
unmount_leftovers() {
    [ -f "$T/mounts" ] || return 0
    for _m in $(sort -ru "$T/mounts"); do
        umount -l "$_m" 2>/dev/null
    done
}

# Removes the containers, networks, volumes and images of the projects
# noted in $T/projects, found by their com.docker.compose.project label
# (images built for a service carry it too, old ones a rebuild untagged
# included). DOCKER_HOST says which engine.
docker_cleanup() {
    [ -s "$T/projects" ] || return 0
    command -v docker >/dev/null || return 0
    for _p in $(sort -u "$T/projects"); do
        _f="label=com.docker.compose.project=$_p"
        docker ps -aq --filter "$_f" | xargs -r docker rm -f >/dev/null 2>&1
        docker network ls -q --filter "$_f" | xargs -r docker network rm >/dev/null 2>&1
        docker volume ls -q --filter "$_f" | xargs -r docker volume rm -f >/dev/null 2>&1
        docker images -aq --filter "$_f" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1
    done
}
