# fish completion for tend(1): commands, options, and service and profile
# names read from the project (`tend config --services`), honouring the
# -f, -p, --project-directory and --env-file given on the line.

set -l tend_commands attach build config cp create down env envs events exec help images kill kube logs ls pause port ps pull restart rm run seed start stop top unpause up version wait watch

# The global options typed so far, to hand on to `tend config`.
function __tend_globals
    set -l words (commandline -opc)
    set -e words[1]
    set -l out
    while set -q words[1]
        switch $words[1]
            case -f --file -p --project-name --project-directory --env-file
                set -a out $words[1] $words[2]
                set -e words[1..2]
            case --profile
                set -e words[1..2]
            case '-*'
                set -e words[1]
            case '*'
                break
        end
    end
    string join \n -- $out
end

function __tend_services
    set -l tend (commandline -opc)[1]
    $tend (__tend_globals) --profile '*' config --services 2>/dev/null
end

function __tend_profiles
    set -l tend (commandline -opc)[1]
    $tend (__tend_globals) config --profiles 2>/dev/null
end

# True when the words after the command hold no service name yet (env,
# exec and run take exactly one, then a command line).
function __tend_no_service_yet
    set -l words (commandline -opc)
    set -l seen_cmd 0
    set -l i 2
    while test $i -le (count $words)
        set -l w $words[$i]
        switch $w
            case -f --file -p --project-name --project-directory --env-file --profile -e --env -u --user -w --workdir --name --entrypoint --format --index --env-from-file -l --label --publish -v --volume --pull
                set i (math $i + 1)
            case '-*'
            case '*'
                if test $seen_cmd = 1
                    return 1
                end
                set seen_cmd 1
        end
        set i (math $i + 1)
    end
    return 0
end

complete -c tend -f

# global options
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -s f -l file -r -F -d 'Services file (repeatable)'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -s p -l project-name -x -d 'Project name'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -l project-directory -x -a '(__fish_complete_directories)' -d 'Project folder'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -l env-file -r -F -d 'Variables for interpolation'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -l profile -x -a '(__tend_profiles)' -d 'Enable a profile'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -l env -x -a '(tend envs 2>/dev/null)' -d 'Add an environment\'s overlay'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -s h -l help -d 'Show help'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -s v -l version -d 'Show the version'

# commands
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a attach -d 'Re-attach to the logs of tend up -d'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a build -d 'Build the images of services with build:'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a config -d 'Validate and print the normalized project'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a cp -d 'Copy files between a container and this machine'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a create -d 'Create the containers without starting them'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a down -d 'Stop and remove containers and networks'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a env -d 'Print the environment tend gives a service'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a events -d 'Follow state changes'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a exec -d 'Run a command in a running container'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a help -d 'Show help for a command'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a images -d 'List the images of the containers'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a kill -d 'Send a signal to the services'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a logs -d 'Show the services\' logs'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a ls -d 'List the running projects'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a pause -d 'Freeze the services'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a port -d 'Print where a port is published'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a ps -d 'List the services and their state'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a pull -d 'Pull the services\' images'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a restart -d 'Restart services'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a rm -d 'Remove stopped containers'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a run -d 'Run a one-off command for a service'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a seed -d 'Run the x-tend seed steps'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a envs -d 'List the environments'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a kube -d 'Write a Kustomize tree for Kubernetes'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a start -d 'Start stopped services'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a stop -d 'Stop services, keeping them'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a top -d 'Show the services\' processes'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a unpause -d 'Thaw what tend pause froze'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a up -d 'Start the stack'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a version -d 'Show the version'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a wait -d 'Wait until services are ready'
complete -c tend -n "not __fish_seen_subcommand_from $tend_commands" -a watch -d 'Start the stack and reload on changes'

# every command has --help
complete -c tend -n "__fish_seen_subcommand_from $tend_commands" -s h -l help -d 'Show help'
complete -c tend -n "__fish_seen_subcommand_from help" -a "$tend_commands"

# service names as arguments
complete -c tend -n "__fish_seen_subcommand_from attach build config create images kill logs pause ps pull restart rm seed start stop top unpause up wait watch" -a '(__tend_services)'
complete -c tend -n "__fish_seen_subcommand_from env exec port run; and __tend_no_service_yet" -a '(__tend_services)'
complete -c tend -n "__fish_seen_subcommand_from cp" -F -a '(__tend_services | string replace -r \'$\' :)'

# attach
complete -c tend -n "__fish_seen_subcommand_from attach logs up watch" -l no-color -d 'No colours'
complete -c tend -n "__fish_seen_subcommand_from attach logs" -s t -l timestamps -d 'Show when each line arrived'
complete -c tend -n "__fish_seen_subcommand_from up watch" -l timestamps -d 'Show when each line arrived'
complete -c tend -n "__fish_seen_subcommand_from attach logs" -s n -l tail -x -d 'Lines of each service'
complete -c tend -n "__fish_seen_subcommand_from attach logs up watch" -l no-log-prefix -d 'No service name before each line'
complete -c tend -n "__fish_seen_subcommand_from attach events logs ps up wait watch" -l json -d 'JSON output'
# config
complete -c tend -n "__fish_seen_subcommand_from config" -l format -x -a 'yaml json' -d 'Output format'
complete -c tend -n "__fish_seen_subcommand_from config" -l services -d 'Print the service names'
complete -c tend -n "__fish_seen_subcommand_from config" -l profiles -d 'Print the profile names'
complete -c tend -n "__fish_seen_subcommand_from config" -l volumes -d 'Print the volume names'
complete -c tend -n "__fish_seen_subcommand_from config" -l images -d 'Print the images'
complete -c tend -n "__fish_seen_subcommand_from config" -l hash -r -d 'Print each service config hash (* for all)'
complete -c tend -n "__fish_seen_subcommand_from config" -l no-interpolate -d 'Leave variables as written'
complete -c tend -n "__fish_seen_subcommand_from config" -l show-secrets -d 'Show secret values'
complete -c tend -n "__fish_seen_subcommand_from config" -s q -l quiet -d 'Only validate'
# down
complete -c tend -n "__fish_seen_subcommand_from down" -s v -l volumes -d 'Also remove named volumes'
complete -c tend -n "__fish_seen_subcommand_from down up watch" -l remove-orphans -d 'Remove containers of services no longer in the file'
complete -c tend -n "__fish_seen_subcommand_from down restart stop" -s t -l timeout -x -d 'Seconds before a kill'
complete -c tend -n "__fish_seen_subcommand_from down" -l rmi -x -a 'local all' -d 'Accepted for compatibility'
# env
complete -c tend -n "__fish_seen_subcommand_from env" -l format -x -a 'dotenv shell json' -d 'Output format'
complete -c tend -n "__fish_seen_subcommand_from env" -l all -d 'The full environment of a host service'
complete -c tend -n "__fish_seen_subcommand_from env" -l no-command -d 'shell: only the exports'
# build, pull, images
complete -c tend -n "__fish_seen_subcommand_from build" -l build-arg -x -d 'A build argument K=V'
complete -c tend -n "__fish_seen_subcommand_from build" -l no-cache -d 'Nothing from the build cache'
complete -c tend -n "__fish_seen_subcommand_from build" -l pull -d 'Pull the FROM images again'
complete -c tend -n "__fish_seen_subcommand_from build" -l with-dependencies -d 'Also what the services depend on'
complete -c tend -n "__fish_seen_subcommand_from build images ls pull run" -s q -l quiet -d 'Less output'
complete -c tend -n "__fish_seen_subcommand_from pull" -l policy -x -a 'missing always' -d 'Pull policy for every service'
complete -c tend -n "__fish_seen_subcommand_from pull" -l ignore-buildable -d 'Pass by services with build:'
complete -c tend -n "__fish_seen_subcommand_from pull" -l ignore-pull-failures -d 'Exit 0 after failed pulls'
complete -c tend -n "__fish_seen_subcommand_from pull" -l include-deps -d 'Also what the services depend on'
complete -c tend -n "__fish_seen_subcommand_from images ls" -l format -x -a 'table json' -d 'Output format'
# cp, port
complete -c tend -n "__fish_seen_subcommand_from cp exec port" -l index -x -d 'The service\'s Nth container'
complete -c tend -n "__fish_seen_subcommand_from cp" -s L -l follow-link -d 'Copy what a link points to'
complete -c tend -n "__fish_seen_subcommand_from cp" -s a -l archive -d 'Accepted'
complete -c tend -n "__fish_seen_subcommand_from port" -l protocol -x -a 'tcp udp' -d 'The port\'s protocol'
# create, kill, rm, ls
complete -c tend -n "__fish_seen_subcommand_from create run" -l build -d 'Build images first'
complete -c tend -n "__fish_seen_subcommand_from create" -l no-deps -d 'Not what the services depend on'
complete -c tend -n "__fish_seen_subcommand_from create kill run" -l remove-orphans -d 'Remove containers of services not in the file'
complete -c tend -n "__fish_seen_subcommand_from kill" -s s -l signal -x -a 'SIGKILL SIGTERM SIGINT SIGHUP SIGQUIT SIGUSR1 SIGUSR2' -d 'The signal'
complete -c tend -n "__fish_seen_subcommand_from rm" -s f -l force -d 'Do not ask'
complete -c tend -n "__fish_seen_subcommand_from rm" -s s -l stop -d 'Stop them first'
complete -c tend -n "__fish_seen_subcommand_from rm" -s v -l volumes -d 'Also their anonymous volumes'
complete -c tend -n "__fish_seen_subcommand_from ls" -s a -l all -d 'Also stopped projects'
complete -c tend -n "__fish_seen_subcommand_from ls" -l filter -x -d 'name=REGEX'
# version
complete -c tend -n "__fish_seen_subcommand_from version" -s f -l format -x -a 'pretty json' -d 'Output format'
complete -c tend -n "__fish_seen_subcommand_from version" -l short -d 'Only the number'
# exec, run
complete -c tend -n "__fish_seen_subcommand_from exec run" -s T -l no-TTY -d 'No terminal'
complete -c tend -n "__fish_seen_subcommand_from exec run" -s t -l tty -d 'A terminal even when stdout is not one'
complete -c tend -n "__fish_seen_subcommand_from exec run" -s i -l interactive -d 'Pass stdin (the default)'
complete -c tend -n "__fish_seen_subcommand_from exec" -s d -l detach -d 'Run it in the background'
complete -c tend -n "__fish_seen_subcommand_from exec" -l privileged -d 'Extended privileges'
complete -c tend -n "__fish_seen_subcommand_from run" -l env-from-file -r -F -d 'Variables from a .env file'
complete -c tend -n "__fish_seen_subcommand_from run" -s l -l label -x -d 'Add a label K=V'
complete -c tend -n "__fish_seen_subcommand_from run" -s p -l publish -x -d 'Publish a port'
complete -c tend -n "__fish_seen_subcommand_from run" -s v -l volume -r -F -d 'Mount a volume'
complete -c tend -n "__fish_seen_subcommand_from run" -l pull -x -a 'always missing never' -d 'Pull policy'
complete -c tend -n "__fish_seen_subcommand_from run" -l use-aliases -d 'Accepted'
complete -c tend -n "__fish_seen_subcommand_from exec run" -s e -l env -x -d 'Set a variable K=V'
complete -c tend -n "__fish_seen_subcommand_from exec run" -s u -l user -x -d 'Run as user'
complete -c tend -n "__fish_seen_subcommand_from exec run" -s w -l workdir -x -d 'Run in folder'
complete -c tend -n "__fish_seen_subcommand_from run" -l rm -d 'Remove the container when it exits'
complete -c tend -n "__fish_seen_subcommand_from run up watch" -l no-deps -d 'Do not start dependencies'
complete -c tend -n "__fish_seen_subcommand_from run" -l name -x -d 'Container name'
complete -c tend -n "__fish_seen_subcommand_from run" -l entrypoint -x -d 'Replace the entrypoint'
complete -c tend -n "__fish_seen_subcommand_from run" -s P -l service-ports -d 'Publish the service\'s ports'
complete -c tend -n "__fish_seen_subcommand_from run up watch" -l profile -x -a '(__tend_profiles)' -d 'Enable a profile'
# logs
complete -c tend -n "__fish_seen_subcommand_from logs" -s f -l follow -d 'Follow new lines'
complete -c tend -n "__fish_seen_subcommand_from logs" -l since -x -d 'From this time'
# ps
complete -c tend -n "__fish_seen_subcommand_from ps" -l format -x -a 'table json' -d 'Output format'
complete -c tend -n "__fish_seen_subcommand_from ps" -s a -l all -d 'Also stopped services'
complete -c tend -n "__fish_seen_subcommand_from ps" -s q -l quiet -d 'Only the service names'
# seed
complete -c tend -n "__fish_seen_subcommand_from seed" -l force -d 'Run every step again'
# envs, kube
complete -c tend -n "__fish_seen_subcommand_from envs" -l files -d 'With their files'
complete -c tend -n "__fish_seen_subcommand_from kube" -s o -l output -r -a '(__fish_complete_directories)' -d 'The folder'
complete -c tend -n "__fish_seen_subcommand_from kube" -l registry -x -d 'Prefix for images built locally'
complete -c tend -n "__fish_seen_subcommand_from kube" -l flat -d 'One kustomization, no overlays'
# up
complete -c tend -n "__fish_seen_subcommand_from up watch" -s d -l detach -d 'Run in the background'
complete -c tend -n "__fish_seen_subcommand_from up watch" -l wait -d 'With -d: return once ready'
complete -c tend -n "__fish_seen_subcommand_from up watch" -l wait-timeout -x -d 'Give up after this long'
complete -c tend -n "__fish_seen_subcommand_from up watch" -l except -x -a '(__tend_services)' -d 'Run all but this service'
complete -c tend -n "__fish_seen_subcommand_from up watch" -l abort-on-container-exit -d 'Stop everything when any service exits'
complete -c tend -n "__fish_seen_subcommand_from up watch" -l exit-code-from -x -a '(__tend_services)' -d 'Exit with this service\'s status'
complete -c tend -n "__fish_seen_subcommand_from up watch" -l build -d 'Build images first'
complete -c tend -n "__fish_seen_subcommand_from up watch" -l watch -d 'Reload on file changes'
# wait
complete -c tend -n "__fish_seen_subcommand_from wait" -l healthy -d 'Wait until ready'
complete -c tend -n "__fish_seen_subcommand_from wait" -l completed -d 'Wait until completed'
complete -c tend -n "__fish_seen_subcommand_from wait" -l started -d 'Wait until started'
complete -c tend -n "__fish_seen_subcommand_from wait" -l stopped -d 'Wait until stopped'
complete -c tend -n "__fish_seen_subcommand_from wait" -l timeout -x -d 'Give up after this long'
