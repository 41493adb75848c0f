# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_tap_metrics_global_optspecs
    string join \n f/from-file= c/config= strict o/output= output-file= wide resource= metric= v/verbose q/quiet kubeconfig= context= all-contexts cluster= user= s/server= token= as= as-group= certificate-authority= client-certificate= client-key= insecure-skip-tls-verify tls-server-name= request-timeout= n/namespace= A/all-namespaces l/selector= chunk-size= concurrency= cluster-label= pushgateway= job= grouping-key= push-mode= delete push-partial pushgateway-user= pushgateway-password-file= pushgateway-bearer-token-file= pushgateway-certificate-authority= pushgateway-client-certificate= pushgateway-client-key= pushgateway-insecure-skip-tls-verify pushgateway-timeout= remote-write= remote-write-header= remote-write-user= remote-write-password-file= remote-write-bearer-token-file= remote-write-certificate-authority= remote-write-client-certificate= remote-write-client-key= remote-write-insecure-skip-tls-verify remote-write-timeout= h/help V/version
end

function __fish_kubectl_tap_metrics_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_tap_metrics_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_tap_metrics_using_subcommand
    set -l cmd (__fish_kubectl_tap_metrics_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s f -l from-file -d 'Read objects from a file instead of the cluster: `kubectl get -o json|yaml` output, one object or a YAML stream; `-` is standard input. Repeatable' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s c -l config -d 'A KSM custom-resource-state config: a CustomResourceStateMetrics document or Helm values holding one (`-` for standard input). Default: the embedded TAP config' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s o -l output -d 'Output format. Default: summary on a terminal, openmetrics otherwise' -r -f -a "openmetrics\t'OpenMetrics 1.0 text, ending in `# EOF`'
prometheus\t'Prometheus text format 0.0.4 (info and stateset written as gauge)'
table\t'A table per resource kind, for people'
summary\t'One screen: ready / not ready per kind, what needs attention, buildpacks, CVEs'
json\t'prom2json\'s shape: `[{name, help, type, metrics: [{labels, value}]}]`'"
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l output-file -d 'Write the output to this file instead of stdout, replacing it atomically (for node_exporter\'s textfile collector: name it *.prom). Default format: prometheus. A run that fails or is partial leaves the file as it was' -r -F
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l resource -d 'Only these resources: kind, plural or plural.group (e.g. workloads.carto.run); globs allowed. Repeatable' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l metric -d 'Only these metrics, by full name; globs allowed (e.g. \'kpack_*\'). Repeatable' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l kubeconfig -d 'Path to the kubeconfig file to use (that file only; default: $KUBECONFIG, then ~/.kube/config)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l context -d 'The kubeconfig context to use; repeat to read several clusters in one run' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s s -l server -d 'The address and port of the Kubernetes API server' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l token -d 'Bearer token for authentication to the API server' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l as-group -d 'Group to impersonate for the operation; repeatable' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l certificate-authority -d 'Path to a cert file for the certificate authority' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l client-certificate -d 'Path to a client certificate file for TLS' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l client-key -d 'Path to a client key file for TLS' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l tls-server-name -d 'Server name to use for server certificate validation' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l request-timeout -d 'How long to wait for one server request (e.g. 30s, 1m, 1m30s; a bare number is seconds; 0 = no limit)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s n -l namespace -d 'Read one namespace only. Without it every namespace is read: a snapshot is cluster-wide. Cluster-scoped kinds are always read cluster-wide' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s l -l selector -d 'Label selector applied by the API server (e.g. app=web,tier!=db)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l chunk-size -d 'Objects per list request (pagination, as kubectl\'s --chunk-size); 0 lists without pages' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l concurrency -d 'How many resource types are listed at once, per cluster' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l cluster-label -d 'Name of the label that tells clusters apart when several contexts are read (its value is the context name); an empty name leaves it out' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l pushgateway -d 'Push the snapshot to this Pushgateway (e.g. http://pushgateway:9091) instead of printing it' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l job -d 'The job name of the pushed group (and the job label of remote-written series)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l grouping-key -d 'A grouping key label of the pushed group; repeatable. With several contexts, each cluster is its own group, keyed by --cluster-label too' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l push-mode -d 'put replaces the whole group; add (POST) replaces only the pushed families' -r -f -a "put\t'PUT: replace the whole group (snapshot semantics)'
add\t'POST: replace only the pushed metric families of the group'"
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l pushgateway-user -d 'Basic-auth user for the Pushgateway; the password comes from --pushgateway-password-file or $TAP_METRICS_PUSHGATEWAY_PASSWORD' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l pushgateway-password-file -d 'File holding the basic-auth password (a trailing newline is ignored)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l pushgateway-bearer-token-file -d 'File holding a bearer token for the Pushgateway (a trailing newline is ignored)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l pushgateway-certificate-authority -d 'PEM file of the CA(s) that signed the Pushgateway\'s certificate (replaces the built-in public roots)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l pushgateway-client-certificate -d 'PEM client certificate for TLS client authentication' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l pushgateway-client-key -d 'PEM private key of --pushgateway-client-certificate' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l pushgateway-timeout -d 'How long one request to the Pushgateway may take (e.g. 10s, 1m). Connection errors, timeouts and 5xx answers are retried, 3 attempts in all' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write -d 'Send the snapshot with Prometheus remote write 1.0 to this receiver (Mimir, Thanos Receive, Cortex, VictoriaMetrics, Grafana Cloud, or Prometheus with --web.enable-remote-write-receiver: http://prometheus:9090/api/v1/write)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write-header -d 'A header sent with every request, e.g. X-Scope-OrgID=tenant-a for Mimir and Cortex; repeatable' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write-user -d 'Basic-auth user; the password comes from --remote-write-password-file or $TAP_METRICS_REMOTE_WRITE_PASSWORD' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write-password-file -d 'File holding the basic-auth password (a trailing newline is ignored)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write-bearer-token-file -d 'File holding a bearer token (a trailing newline is ignored)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write-certificate-authority -d 'PEM file of the CA(s) that signed the receiver\'s certificate (replaces the built-in public roots)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write-client-certificate -d 'PEM client certificate for TLS client authentication' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write-client-key -d 'PEM private key of --remote-write-client-certificate' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write-timeout -d 'How long one request may take (e.g. 10s, 1m). Connection errors, 5xx and 429 answers are retried, 5 attempts in all, honouring Retry-After' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l strict -d 'Fail on config keys that kube-state-metrics would ignore, instead of warning'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l wide -d 'With -o table: every condition, full messages and one table per metric'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s v -l verbose -d 'Show each problem, not only counts (-v); repeat for more (a metric\'s errorLogV sets the level its errors need)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l all-contexts -d 'Read every context of the kubeconfig'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s A -l all-namespaces -d 'Read every namespace (the default; accepted for kubectl habit)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l delete -d 'Delete the group from the Pushgateway instead of pushing'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l push-partial -d 'Also push (and remote-write) clusters of which some resources could not be read (a PUT then drops their series), and write --output-file; without it only clusters read in full are sent, and the file is left as it was'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l pushgateway-insecure-skip-tls-verify -d 'Do not check the Pushgateway\'s certificate (insecure)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -l remote-write-insecure-skip-tls-verify -d 'Do not check the receiver\'s certificate (insecure)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -f -a "config" -d 'Print or check KSM configs'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -f -a "monitoring" -d 'Grafana dashboards and Prometheus alerts for these metrics'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -f -a "completion" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and not __fish_seen_subcommand_from default validate help" -s h -l help -d 'Print help'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and not __fish_seen_subcommand_from default validate help" -f -a "default" -d 'Print the embedded TAP config, a starting point for your own'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and not __fish_seen_subcommand_from default validate help" -f -a "validate" -d 'Check a config file (`-` for standard input) and report what it defines'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and not __fish_seen_subcommand_from default validate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and __fish_seen_subcommand_from default" -s h -l help -d 'Print help'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and __fish_seen_subcommand_from validate" -l strict -d 'Treat unknown keys as errors'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and __fish_seen_subcommand_from validate" -s h -l help -d 'Print help'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "default" -d 'Print the embedded TAP config, a starting point for your own'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "validate" -d 'Check a config file (`-` for standard input) and report what it defines'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and not __fish_seen_subcommand_from rules dashboards help" -s h -l help -d 'Print help'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and not __fish_seen_subcommand_from rules dashboards help" -f -a "rules" -d 'Print the Prometheus recording rules and alerts'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and not __fish_seen_subcommand_from rules dashboards help" -f -a "dashboards" -d 'Write the Grafana dashboards into a directory, one file each'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and not __fish_seen_subcommand_from rules dashboards help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from rules" -l label -d 'A label of the PrometheusRule, e.g. release=kube-prometheus-stack. Repeatable' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from rules" -l prometheus-rule -d 'Print them as a PrometheusRule (monitoring.coreos.com/v1) for the Prometheus Operator'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from rules" -s h -l help -d 'Print help'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from dashboards" -l out -d 'The directory (created if missing); files of the same name are replaced' -r -F
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from dashboards" -l namespace -d 'The ConfigMaps\' namespace (Grafana\'s, for the sidecar\'s default search)' -r
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from dashboards" -l configmap -d 'Write ConfigMaps labelled grafana_dashboard: "1" instead of JSON'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from dashboards" -s h -l help -d 'Print help'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from help" -f -a "rules" -d 'Print the Prometheus recording rules and alerts'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from help" -f -a "dashboards" -d 'Write the Grafana dashboards into a directory, one file each'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand monitoring; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand completion" -s h -l help -d 'Print help'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand help; and not __fish_seen_subcommand_from config monitoring completion help" -f -a "config" -d 'Print or check KSM configs'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand help; and not __fish_seen_subcommand_from config monitoring completion help" -f -a "monitoring" -d 'Grafana dashboards and Prometheus alerts for these metrics'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand help; and not __fish_seen_subcommand_from config monitoring completion help" -f -a "completion" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand help; and not __fish_seen_subcommand_from config monitoring completion help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "default" -d 'Print the embedded TAP config, a starting point for your own'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "validate" -d 'Check a config file (`-` for standard input) and report what it defines'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand help; and __fish_seen_subcommand_from monitoring" -f -a "rules" -d 'Print the Prometheus recording rules and alerts'
complete -c kubectl-tap_metrics -n "__fish_kubectl_tap_metrics_using_subcommand help; and __fish_seen_subcommand_from monitoring" -f -a "dashboards" -d 'Write the Grafana dashboards into a directory, one file each'
