# bash completion for tend(1): commands, options, and service and profile
# names read from the project (`tend config --services`), honouring the
# -f, -p, --project-directory and --env-file given on the line.

# The global options already typed, to hand on to `tend config`.
_tend_globals()
{
    local i w
    _tend_g=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        -f | --file | -p | --project-name | --project-directory | --env-file | --env)
            _tend_g+=("$w" "${COMP_WORDS[i + 1]}")
            ((i++))
            ;;
        --profile) ((i++)) ;;
        -*) ;;
        *) break ;;
        esac
    done
}

_tend_services()
{
    _tend_globals
    COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${_tend_g[@]}" --profile '*' config --services 2>/dev/null)" -- "$1"))
}

_tend_profiles()
{
    _tend_globals
    COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${_tend_g[@]}" config --profiles 2>/dev/null)" -- "$1"))
}

_tend()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local commands="attach build config cp create down env envs events exec help images kill kube logs ls pause port ps pull restart rm run seed start stop top unpause up version wait watch"
    local i w cmd="" cmd_i=0

    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        -f | --file | -p | --project-name | --project-directory | --env-file | --env | --profile) ((i++)) ;;
        -*) ;;
        *)
            cmd=$w
            cmd_i=$i
            break
            ;;
        esac
    done

    if [[ -z $cmd ]]; then
        case $prev in
        -f | --file | --env-file)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --project-directory)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"))
            return
            ;;
        -p | --project-name) return ;;
        --profile)
            _tend_profiles "$cur"
            return
            ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "-f --file -p --project-name --project-directory --env-file --profile -h --help -v --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    # Options of the command, and what their arguments are.
    local opts="" services=1
    case $cmd in
    attach) opts="-n --tail -t --timestamps --no-color --no-log-prefix --json" ;;
    build) opts="--build-arg --no-cache --pull --with-dependencies -q --quiet" ;;
    cp)
        opts="--index -L --follow-link -a --archive"
        # SERVICE:PATH or a local path
        if [[ $cur != -* && $prev != --index ]]; then
            compopt -o filenames -o nospace 2>/dev/null
            _tend_globals
            COMPREPLY=($(compgen -f -- "$cur") $(compgen -S : -W "$("${COMP_WORDS[0]}" "${_tend_g[@]}" --profile '*' config --services 2>/dev/null)" -- "$cur"))
            return
        fi
        ;;
    create) opts="--build --no-deps --remove-orphans" ;;
    config) opts="--format --services --profiles --volumes --images --hash --no-interpolate --show-secrets -q --quiet" ;;
    down)
        opts="-v --volumes --remove-orphans -t --timeout --rmi"
        services=0
        ;;
    env) opts="--format --all --no-command" ;;
    envs)
        opts="--files"
        services=0
        ;;
    kube)
        opts="-o --output --registry --flat"
        services=0
        ;;
    events)
        opts="--json"
        services=0
        ;;
    exec) opts="-T --no-TTY -t --tty -i --interactive -d --detach -e --env -u --user -w --workdir --index --privileged" ;;
    help)
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        return
        ;;
    images) opts="--format -q --quiet" ;;
    kill) opts="-s --signal --remove-orphans" ;;
    ls)
        opts="-a --all --format --filter -q --quiet"
        services=0
        ;;
    pause | unpause | top) ;;
    port) opts="--protocol --index" ;;
    pull) opts="--policy --ignore-buildable --ignore-pull-failures --include-deps -q --quiet" ;;
    rm) opts="-f --force -s --stop -v --volumes" ;;
    logs) opts="-f --follow -n --tail --since -t --timestamps --no-color --no-log-prefix --json" ;;
    ps) opts="--format --json -a --all -q --quiet" ;;
    restart | stop) opts="-t --timeout" ;;
    run) opts="--rm --no-deps -e --env --env-from-file -l --label --name --entrypoint -u --user -w --workdir -P --service-ports -p --publish -v --volume -T --no-TTY -t --tty -i --interactive --build --pull --remove-orphans -q --quiet --use-aliases --profile" ;;
    seed) opts="--force" ;;
    start) ;;
    up | watch) opts="-d --detach --wait --wait-timeout --no-deps --except --abort-on-container-exit --exit-code-from --profile --no-color --timestamps --no-log-prefix --json --remove-orphans --build --watch" ;;
    wait) opts="--healthy --completed --started --stopped --timeout --json" ;;
    version)
        opts="-f --format --short"
        services=0
        ;;
    esac
    opts+=" -h --help"

    case $prev in
    --format)
        case $cmd in
        config) COMPREPLY=($(compgen -W "yaml json" -- "$cur")) ;;
        env) COMPREPLY=($(compgen -W "dotenv shell json" -- "$cur")) ;;
        ps | images | ls) COMPREPLY=($(compgen -W "table json" -- "$cur")) ;;
        version) COMPREPLY=($(compgen -W "pretty json" -- "$cur")) ;;
        esac
        return
        ;;
    --except | --exit-code-from)
        _tend_services "$cur"
        return
        ;;
    --profile)
        _tend_profiles "$cur"
        return
        ;;
    --rmi)
        COMPREPLY=($(compgen -W "local all" -- "$cur"))
        return
        ;;
    -s | --signal)
        [[ $cmd == kill ]] && COMPREPLY=($(compgen -W "SIGKILL SIGTERM SIGINT SIGHUP SIGQUIT SIGUSR1 SIGUSR2 SIGSTOP SIGCONT" -- "$cur"))
        [[ $cmd == kill ]] && return
        ;;
    --protocol)
        COMPREPLY=($(compgen -W "tcp udp" -- "$cur"))
        return
        ;;
    --policy | --pull)
        [[ $cmd == pull ]] && COMPREPLY=($(compgen -W "missing always" -- "$cur"))
        [[ $cmd == run ]] && COMPREPLY=($(compgen -W "always missing never" -- "$cur"))
        [[ $cmd == pull || $cmd == run ]] && return
        ;;
    --env-from-file | -v | --volume)
        [[ $cmd == run ]] && compopt -o filenames 2>/dev/null && COMPREPLY=($(compgen -f -- "$cur")) && return
        ;;
    -w | --workdir)
        [[ $cmd == exec || $cmd == run ]] && return
        ;;
    -t | --timeout | --wait-timeout | -n | --tail | --since | -e | --env | -u | --user | --name | --entrypoint | \
        --index | --build-arg | -l | --label | -p | --publish | --filter)
        [[ $prev == -t && ($cmd == exec || $cmd == run) ]] || return
        ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi

    # env takes one service; exec and run one, then a command line.
    if [[ $cmd == exec || $cmd == run || $cmd == env ]]; then
        local n=0
        for ((i = cmd_i + 1; i < COMP_CWORD; i++)); do
            w=${COMP_WORDS[i]}
            case $w in
            -e | --env | -u | --user | -w | --workdir | --name | --entrypoint | --profile | --format | --index | \
                --env-from-file | -l | --label | -p | --publish | -v | --volume | --pull) ((i++)) ;;
            -*) ;;
            *) ((n++)) ;;
            esac
        done
        if ((n == 0)); then
            _tend_services "$cur"
        elif [[ $cmd != env ]]; then
            # the command runs in the container: only file names to offer
            compopt -o default 2>/dev/null
            COMPREPLY=()
        fi
        return
    fi
    ((services)) && _tend_services "$cur"
}

complete -F _tend tend
